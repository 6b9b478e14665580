"""Team credentials: who may add, use, see the usage of and delete them; budgets at run start.

alice owns Acme, bob is an editor, victor a viewer, charlie an outsider (tests/conftest.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, reverse

from playground.accounts.models import Team, User
from playground.keys import team_urls
from playground.keys.audit_csv import safe_cell
from playground.keys.models import Credential, TeamBudget, TeamUse
from playground.runs.models import Run
from playground.runs.team_keys import TeamUseRefused, reserve_team_use
from tests.keys.factories import make_credential
from tests.keys.team_helpers import compare_post, make_team_credential, member_budget
from tests.runs.conftest import start_run

pytestmark = pytest.mark.django_db

NEW_KEY = "sk-test-NEWTEAMKEY-abcdefghij"


@dataclass
class Scene:
    team: Team
    actor: User
    client: Client
    credential: Credential


def _add(scene: Scene) -> HttpResponse:
    data = {"provider": "deepseek", "label": "Added here", "api_key": NEW_KEY, "base_url": ""}
    return scene.client.post(reverse("teamkeys:add", args=[scene.team.code]), data)


def _use(scene: Scene) -> HttpResponse:
    return scene.client.post(reverse("runs:create"), compare_post(scene.credential))


def _see_usage(scene: Scene) -> HttpResponse:
    return scene.client.get(reverse("teamkeys:usage", args=[scene.team.code]))


def _delete(scene: Scene) -> HttpResponse:
    url = reverse("teamkeys:delete", args=[scene.team.code, scene.credential.code])
    return scene.client.post(url)


Effect = Callable[[Scene, HttpResponse], bool]
ACTIONS: dict[str, tuple[Callable[[Scene], HttpResponse], Effect]] = {
    "add": (_add, lambda s, _: Credential.objects.filter(team=s.team, label="Added here").exists()),
    "use": (_use, lambda s, _: Run.objects.filter(user=s.actor).exists()),
    "see usage": (_see_usage, lambda s, r: "Usage and budgets" in r.content.decode()),
    "delete": (_delete, lambda s, _: not Credential.objects.filter(pk=s.credential.pk).exists()),
}
ROLES = ("owner", "editor", "editor (allowed to add)", "viewer", "outsider")
EXPECTED: dict[tuple[str, str], tuple[int, bool]] = {
    ("owner", "add"): (302, True),
    ("owner", "use"): (302, True),
    ("owner", "see usage"): (200, True),
    ("owner", "delete"): (302, True),
    ("editor", "add"): (403, False),
    ("editor", "use"): (302, True),
    ("editor", "see usage"): (403, False),
    ("editor", "delete"): (403, False),
    ("editor (allowed to add)", "add"): (302, True),
    ("editor (allowed to add)", "use"): (302, True),
    ("editor (allowed to add)", "see usage"): (403, False),
    ("editor (allowed to add)", "delete"): (403, False),
    ("viewer", "add"): (403, False),
    ("viewer", "use"): (302, True),
    ("viewer", "see usage"): (403, False),
    ("viewer", "delete"): (403, False),
    # An outsider's compare form comes back (200) with the key refused as a choice.
    ("outsider", "add"): (404, False),
    ("outsider", "use"): (422, False),  # the form refuses the key it does not offer
    ("outsider", "see usage"): (404, False),
    ("outsider", "delete"): (404, False),
}


def test_it_has_an_expectation_for_every_role_and_action() -> None:
    assert set(EXPECTED) == {(role, action) for role in ROLES for action in ACTIONS}


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED))
def test_it_applies_the_team_credential_rules(
    role: str,
    action: str,
    team: Team,
    alice: User,
    alice_client: Client,
    bob_client: Client,
    victor_client: Client,
    charlie_client: Client,
) -> None:
    clients = {
        "owner": alice_client,
        "editor": bob_client,
        "editor (allowed to add)": bob_client,
        "viewer": victor_client,
        "outsider": charlie_client,
    }
    if role == "editor (allowed to add)":
        Team.objects.filter(pk=team.pk).update(editors_add_credentials=True)
    client = clients[role]
    actor = User.objects.get(pk=client.session["_auth_user_id"])
    scene = Scene(team, actor, client, make_team_credential(team, alice))
    act, took_effect = ACTIONS[action]

    response = act(scene)

    expected_status, expected_effect = EXPECTED[(role, action)]
    assert response.status_code == expected_status
    assert took_effect(scene, response) is expected_effect


def test_only_owners_turn_the_editor_setting_on(
    team: Team, bob_client: Client, alice_client: Client
) -> None:
    url = reverse("teamkeys:settings", args=[team.code])
    assert bob_client.post(url, {"editors_add_credentials": "on"}).status_code == 403
    team.refresh_from_db()
    assert not team.editors_add_credentials
    assert alice_client.post(url, {"editors_add_credentials": "on"}).status_code == 302
    team.refresh_from_db()
    assert team.editors_add_credentials


def test_the_compare_page_offers_the_team_key_labelled_as_the_teams(
    team: Team, alice: User, victor: User, victor_client: Client, charlie_client: Client
) -> None:
    make_credential(victor, label="Victor's own")
    make_team_credential(team, alice, label="Shared DeepSeek")

    page = victor_client.get(reverse("runs:compare")).content.decode()
    outsider = charlie_client.get(reverse("runs:compare")).content.decode()

    assert "Victor&#x27;s own · DeepSeek" in page
    assert "Shared DeepSeek · DeepSeek · Acme team key" in page
    assert "Shared DeepSeek" not in outsider


def test_the_vault_keeps_team_keys_out_of_the_personal_list(
    team: Team, alice: User, alice_client: Client
) -> None:
    make_team_credential(team, alice, label="Shared DeepSeek")
    assert "Shared DeepSeek" not in alice_client.get(reverse("keys:list")).content.decode()
    assert list(Credential.objects.for_user(alice)) == []


def test_a_removed_member_is_refused_at_once(
    team: Team, alice: User, victor: User, victor_client: Client
) -> None:
    credential = make_team_credential(team, alice)
    pending = start_run(victor, [(credential, "deepseek-chat")])
    team.remove_member(team.memberships.get(user=victor))

    response = victor_client.post(reverse("runs:create"), compare_post(credential))
    rerun = victor_client.post(reverse("runs:rerun", args=[pending.code]))

    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert rerun.status_code == 409
    assert "a team you are no longer a member of" in rerun.content.decode()
    assert Run.objects.filter(user=victor).count() == 1
    with pytest.raises(TeamUseRefused):
        start_run(victor, [(credential, "deepseek-chat")])


def test_a_run_over_the_member_budget_is_refused_and_the_form_keeps_what_was_typed(
    team: Team, alice: User, victor: User, victor_client: Client
) -> None:
    credential = make_team_credential(team, alice)
    member_budget(team, victor, 500)
    data = compare_post(credential, max_tokens="1000", system="Typed system text")

    response = victor_client.post(reverse("runs:create"), data)

    body = response.content.decode()
    assert response.status_code == 422
    assert "Over budget: Target 1 (Shared DeepSeek, deepseek-chat) may use up to" in body
    assert "your monthly allowance on Acme&#x27;s keys has 500 of its 500 tokens left" in body
    assert "Typed system text" in body and "def quick_sort(items):" in body
    assert not Run.objects.filter(user=victor).exists()
    assert not TeamUse.objects.exists()


def test_a_credential_budget_counts_every_member(
    team: Team, alice: User, bob: User, victor: User
) -> None:
    credential = make_team_credential(team, alice)
    TeamBudget.objects.create(team=team, credential=credential, monthly_tokens=250)
    start_run(bob, [(credential, "deepseek-chat")], parameters={"max_tokens": 100})
    start_run(victor, [(credential, "deepseek-chat")], parameters={"max_tokens": 100})

    with pytest.raises(TeamUseRefused, match="the team key “Shared DeepSeek” has"):
        start_run(alice, [(credential, "deepseek-chat")], parameters={"max_tokens": 100})
    assert TeamUse.objects.count() == 2


def test_without_max_tokens_a_budget_caps_the_output_at_what_is_left(
    team: Team, alice: User, victor: User
) -> None:
    credential = make_team_credential(team, alice)
    member_budget(team, victor, 300)

    run = start_run(victor, [(credential, "deepseek-chat")])

    use = TeamUse.objects.get(run=run)
    assert use.output_cap == 300 - use.input_estimate
    assert use.reserved_tokens == 300
    with pytest.raises(TeamUseRefused, match="not enough for Target 1"):
        start_run(victor, [(credential, "deepseek-chat")])


def test_personal_keys_reserve_nothing(alice: User) -> None:
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    reserve_team_use(run)
    assert not TeamUse.objects.exists()


def test_the_usage_page_shows_members_credentials_and_the_trail(
    team: Team, alice: User, victor: User, alice_client: Client
) -> None:
    credential = make_team_credential(team, alice)
    run = start_run(victor, [(credential, "deepseek-chat")], parameters={"max_tokens": 50})
    TeamUse.objects.filter(run=run).update(
        settled_at=run.created_at, status="done", tokens=42, input_tokens=12, output_tokens=30
    )

    body = alice_client.get(reverse("teamkeys:usage", args=[team.code])).content.decode()

    assert "victor" in body and "Shared DeepSeek" in body
    assert '<svg class="usage-chart"' in body and "victor, 42 tokens" in body
    assert str(run.code)[:8] in body


def test_an_owner_sets_and_clears_a_budget_and_bad_input_keeps_the_page(
    team: Team, victor: User, alice_client: Client
) -> None:
    url = reverse("teamkeys:budget", args=[team.code, "m", victor.pk])
    assert alice_client.post(url, {f"m{victor.pk}-monthly_tokens": "12000"}).status_code == 302
    assert TeamBudget.objects.get(user=victor).monthly_tokens == 12000

    bad = alice_client.post(url, {f"m{victor.pk}-monthly_tokens": "-5"})
    assert bad.status_code == 400
    assert "A budget is at least 1 token" in bad.content.decode()
    assert 'value="-5"' in bad.content.decode()
    assert TeamBudget.objects.get(user=victor).monthly_tokens == 12000

    assert alice_client.post(url, {f"m{victor.pk}-monthly_tokens": ""}).status_code == 302
    assert not TeamBudget.objects.exists()


def test_the_audit_csv_has_no_secret_and_no_formula(
    team: Team, alice: User, victor: User, alice_client: Client
) -> None:
    credential = make_team_credential(team, alice, label='=HYPERLINK("x")')
    start_run(victor, [(credential, "@SUM(1)")], parameters={"max_tokens": 10})

    response = alice_client.get(reverse("teamkeys:audit_csv", args=[team.code]))

    body = response.content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0][:5] == ["when (UTC)", "member", "credential", "provider", "model"]
    assert rows[1][1] == "victor"
    assert rows[1][2] == '\'=HYPERLINK("x")'
    assert rows[1][4] == "'@SUM(1)"
    assert "sim-TEAMCANARY" not in body


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("plain", "plain")],
)
def test_cells_that_spreadsheets_would_run_are_prefixed(value: str, cell: str) -> None:
    assert safe_cell(value) == cell


def test_members_see_the_keys_but_not_their_last_four(
    team: Team, alice: User, victor_client: Client, alice_client: Client
) -> None:
    make_team_credential(team, alice)
    url = reverse("teamkeys:index", args=[team.code])
    member_page: Any = victor_client.get(url).content.decode()
    owner_page: Any = alice_client.get(url).content.decode()
    assert "Shared DeepSeek" in member_page and "…6789" not in member_page
    assert "…6789" in owner_page


@pytest.mark.parametrize("pattern", team_urls.urlpatterns, ids=lambda pattern: pattern.name)
def test_every_team_key_url_sends_anonymous_visitors_to_log_in(
    client: Client, team: Team, alice: User, pattern: URLPattern
) -> None:
    credential = make_team_credential(team, alice)
    kwargs: dict[str, object] = {"code": team.code}
    if "credential" in pattern.pattern.converters:
        kwargs["credential"] = credential.code
    if "kind" in pattern.pattern.converters:
        kwargs |= {"kind": "m", "pk": alice.pk}
    url = reverse(f"teamkeys:{pattern.name}", kwargs=kwargs)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert Credential.objects.filter(pk=credential.pk).exists()


def test_a_team_key_of_another_team_answers_404(
    team: Team, alice: User, charlie: User, alice_client: Client
) -> None:
    other = Team.objects.get(name="Other")
    foreign = make_team_credential(other, charlie)
    for name in ("teamkeys:replace_key", "teamkeys:delete"):
        url = reverse(name, args=[team.code, foreign.code])
        assert alice_client.get(url).status_code == 404
        assert alice_client.post(url, {"api_key": "sk-hijack-key-0000"}).status_code == 404
    assert Credential.objects.get(pk=foreign.pk).key_ciphertext == foreign.key_ciphertext
