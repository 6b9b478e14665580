"""The key never leaves the server: not in a response body (the vault's, or any page a team member
can reach), not in a log record."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter
from django_htmx.middleware import HtmxDetails

from playground.accounts.models import Team, User
from playground.keys import views
from playground.keys.models import Credential, TeamBudget
from playground.prompts.models import Visibility
from playground.runs.models import Run
from playground.runs.verdicts import Verdict
from tests.keys.factories import SECRET, make_credential
from tests.keys.team_helpers import TEAM_KEY
from tests.prompts.factories import make_template
from tests.runs.conftest import Sim
from tests.streams import read_stream

REPLACEMENT = "sk-test-REPLACEMENTSECRET-0987654321"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _journey(client: Client, htmx: bool) -> Iterator[Any]:
    """Yield the response of every vault page and action, as one user goes through them."""
    headers = HTMX if htmx else {}
    add = reverse("keys:add")
    form = {"provider": "deepseek", "label": f"Key {htmx}", "api_key": SECRET, "base_url": ""}
    yield client.post(add, {**form, "base_url": "http://127.0.0.1/v1"}, **headers)
    yield client.post(add, {**form, "base_url": f"https://u:{SECRET}@example.com"}, **headers)
    yield client.post(add, {**form, "label": ""}, **headers)
    yield client.post(add, form, follow=not htmx, **headers)
    yield client.get(reverse("keys:list"))
    credential = Credential.objects.get(label=f"Key {htmx}")
    code = credential.code
    yield client.get(reverse("keys:row", args=[code]), follow=True, **headers)
    for name, data in [
        ("rename", {"label": "Renamed"}),
        ("rename", {"label": ""}),
        ("replace_key", {"api_key": "bad key with spaces"}),
        ("replace_key", {"api_key": REPLACEMENT}),
        ("endpoint", {"base_url": "https://proxy.example.com/v1"}),
        ("endpoint", {"base_url": "ftp://example.com"}),
    ]:
        url = reverse(f"keys:{name}", args=[code])
        yield client.get(url, **headers)
        yield client.post(url, data, follow=not htmx, **headers)
    yield client.get(reverse("keys:list"))
    yield client.get(reverse("keys:delete", args=[code]))
    yield client.post(reverse("keys:delete", args=[code]), follow=not htmx, **headers)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_it_never_sends_or_logs_the_key(
    alice_client: Client, alice: User, settings: Any, caplog: pytest.LogCaptureFixture, htmx: bool
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    settings.DEBUG = True  # so that every SQL statement and its parameters are logged too
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers default to INFO
    bodies = []
    for response in _journey(alice_client, htmx):
        assert response.status_code == 200, response.request
        bodies.append(response.content.decode())
    assert len(bodies) == 21
    assert any("…7890" in body for body in bodies)
    assert any("…4321" in body for body in bodies)
    assert any("For your safety the key was not kept" in body for body in bodies)
    assert any("keys_credential" in record.getMessage() for record in caplog.records)
    for secret in (SECRET, REPLACEMENT, "THISISASECRETKEY", "REPLACEMENTSECRET"):
        for body in bodies:
            assert secret not in body
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in repr(record.__dict__)


@pytest.mark.parametrize("name", ["add", "replace_key"])
def test_it_hides_the_key_from_error_reports(rf: RequestFactory, alice: User, name: str) -> None:
    credential = make_credential(alice)
    view = {"add": views.add, "replace_key": views.replace_key}[name]
    args = [] if name == "add" else [credential.code]
    # Refused input (no label, a space in the key), so both views render instead of redirecting.
    data = {"api_key": f"{SECRET} x", "label": ""}
    request = rf.post(reverse(f"keys:{name}", args=args), data)
    request.user = alice
    request.htmx = HtmxDetails(request)
    view(request, *args)
    reported = SafeExceptionReporterFilter().get_post_parameters(request)
    assert reported["api_key"] == SafeExceptionReporterFilter.cleansed_substitute
    assert SECRET not in str(reported)


# Team credentials: a member runs with the team's key from every page they can reach, and the
# key appears in none of them, in no export, on no share page, in no error and in no log line;
# nor on the pages a colleague reaches once the run is shared with the team (the run, its
# Inspect and View code, the template's win table and reference continuation).
TEAM_REPLACEMENT = "sim-TEAMREPLACED-Yw7Kp2Nc-9876543210"
ECHO_PIECE = 8  # a leak of any eight consecutive characters of a key counts


def _pieces(key: str) -> list[str]:
    return [key[i : i + ECHO_PIECE] for i in range(len(key) - ECHO_PIECE + 1)]


def _owner_adds_the_team_key(client: Client, team: Team, sim: Sim) -> list[str]:
    url = reverse("teamkeys:add", args=[team.code])
    form = {"provider": "deepseek", "label": "Shared", "base_url": sim.base_url("deepseek")}
    bodies = [
        client.post(url, {**form, "api_key": TEAM_KEY, "label": ""}).content.decode(),
        client.post(url, {**form, "api_key": TEAM_KEY}, follow=True).content.decode(),
    ]
    return bodies


def _member_pages_before_the_stream(
    client: Client, credential: Credential
) -> tuple[list[str], Run]:
    data = {
        "prefix": "",
        "turns-0-role": "user",
        "turns-0-content": "Say something.",
        "t0-credential": str(credential.code),
        "t0-model": "deepseek-chat-fault-echokey",
        "t1-credential": str(credential.code),
        "t1-model": "deepseek-chat",
        "max_tokens": "60",
    }
    bodies = [
        client.get(reverse("runs:compare")).content.decode(),
        client.get(reverse("runs:target_row"), {"index": "2"}).content.decode(),
        client.post(reverse("runs:create"), data, HTTP_HX_REQUEST="true").content.decode(),
    ]
    run = Run.objects.filter(user__username="victor").latest("created_at")
    return bodies, run


def _member_pages_after_the_stream(client: Client, run: Run, team: Team) -> list[str]:
    code = run.code
    anonymous = Client()
    token = run.enable_sharing()
    pages = [
        reverse("home"),
        reverse("runs:compare"),
        reverse("runs:detail", args=[code]),
        reverse("runs:history"),
        reverse("runs:diff", args=[code]),
        reverse("keys:list"),
        reverse("teamkeys:index", args=[team.code]),
        reverse("accounts:teams"),
        reverse("accounts:team_detail", args=[team.code]),
        reverse("teamkeys:usage", args=[team.code]),  # 403 for a viewer
        reverse("teamkeys:audit_csv", args=[team.code]),  # 403 for a viewer
    ]
    for position in (0, 1):
        pages += [
            reverse("runs:inspect", args=[code, position]),
            reverse("runs:code", args=[code, position]),
            reverse("runs:rendered", args=[code, position]),
            reverse("runs:download", args=[code, position, "txt"]),
            reverse("runs:download", args=[code, position, "json"]),
        ]
    bodies = [client.get(page).content.decode() for page in pages]
    bodies.append(anonymous.get(reverse("runs:shared", args=[token])).content.decode())
    bodies.append(client.post(reverse("runs:rerun", args=[code]), follow=True).content.decode())
    return bodies


def _colleague_pages(member: Client, colleague: Client, run: Run, team: Team) -> list[str]:
    """The member shares the run with the team; a colleague opens it, pins a column of it to a
    team template with a verdict on it, and reads that template's win table and reference."""
    template = make_template(run.user, visibility=Visibility.TEAM, team=team)
    Run.objects.filter(pk=run.pk).update(template=template)
    share = reverse("runs:share_team", args=[run.code])
    bodies = [
        member.post(share, {"team": str(team.code), "action": "share"}, **HTMX).content.decode()
    ]
    Verdict.objects.create(run=run, user=run.user, ranking=[0, 1])
    learned = reverse("runs:template_learned", args=[template.code])
    pages = [
        reverse("runs:detail", args=[run.code]),
        reverse("runs:diff", args=[run.code]),
        template.get_absolute_url(),
        learned,
    ]
    for position in (0, 1):
        pages += [
            reverse("runs:inspect", args=[run.code, position]),
            reverse("runs:code", args=[run.code, position]),
            reverse("runs:download", args=[run.code, position, "json"]),
        ]
    responses = [colleague.get(page) for page in pages]
    assert [response.status_code for response in responses] == [200] * len(pages)
    bodies += [response.content.decode() for response in responses]
    assert "$DEEPSEEK_API_KEY" in bodies[6] and "$DEEPSEEK_API_KEY" in bodies[9]
    pin = colleague.post(reverse("runs:pin", args=[run.code, 0]), follow=True)
    bodies += [pin.content.decode(), colleague.get(learned, **HTMX).content.decode()]
    assert "Shared with you" in bodies[1] and "Pin as reference" in bodies[1]
    assert "Which targets win" in bodies[4] and "deepseek-chat" in bodies[4]
    assert "Reference continuation" in bodies[-1] and "pinned by alice" in bodies[-1]
    return bodies


def _owner_pages(client: Client, team: Team, credential: Credential) -> list[str]:
    replace = reverse("teamkeys:replace_key", args=[team.code, credential.code])
    return [
        client.get(reverse("teamkeys:index", args=[team.code])).content.decode(),
        client.get(reverse("teamkeys:usage", args=[team.code])).content.decode(),
        client.get(reverse("teamkeys:audit_csv", args=[team.code])).content.decode(),
        client.get(replace).content.decode(),
        client.post(replace, {"api_key": "bad key with spaces"}).content.decode(),
        client.post(replace, {"api_key": TEAM_REPLACEMENT}, follow=True).content.decode(),
        client.get(reverse("teamkeys:delete", args=[team.code, credential.code])).content.decode(),
    ]


def _refusals(client: Client, team: Team, credential: Credential, member: User) -> list[str]:
    TeamBudget.objects.create(team=team, user=member, monthly_tokens=5)
    data = {"prefix": "x", "t0-credential": str(credential.code), "t0-model": "deepseek-chat"}
    over = client.post(reverse("runs:create"), data).content.decode()
    assert "Over budget" in over
    TeamBudget.objects.filter(user=member).delete()
    team.remove_member(team.memberships.get(user=member))
    removed = client.post(reverse("runs:create"), data).content.decode()
    assert "Select a valid choice" in removed
    return [over, removed]


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_no_member_ever_receives_or_logs_the_team_key(
    async_client: Any,
    team: Team,
    alice: User,
    victor: User,
    sim: Sim,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.DEBUG = True  # every SQL statement and its parameters are logged too
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    owner, member = Client(), Client()

    @sync_to_async
    def before() -> tuple[list[str], Run, Credential]:
        owner.force_login(alice)
        member.force_login(victor)
        bodies = _owner_adds_the_team_key(owner, team, sim)
        credential = Credential.objects.get(team=team)
        member_bodies, run = _member_pages_before_the_stream(member, credential)
        return bodies + member_bodies, run, credential

    bodies, run, credential = await before()
    await async_client.aforce_login(victor)
    bodies.append(await read_stream(async_client, run))

    @sync_to_async
    def after() -> list[str]:
        seen = _member_pages_after_the_stream(member, run, team)
        seen += _colleague_pages(member, owner, run, team)
        seen += _owner_pages(owner, team, credential)
        seen += _refusals(member, team, credential, victor)
        return seen

    bodies += await after()

    assert len(bodies) == 38 + 13
    stream = bodies[5]
    assert "col-0-end" in stream and "col-1-end" in stream
    assert any("Shared · DeepSeek · Acme team key" in body for body in bodies)
    assert any("A secret was removed from this column" in body for body in bodies)
    assert any("$DEEPSEEK_API_KEY" in body for body in bodies)
    assert any("keys_credential" in record.getMessage() for record in caplog.records)
    for key in (TEAM_KEY, TEAM_REPLACEMENT):
        for piece in _pieces(key):
            for body in bodies:
                assert piece not in html.unescape(body), (piece, body[:300])
            assert piece not in caplog.text
            for record in caplog.records:
                assert piece not in record.getMessage()
