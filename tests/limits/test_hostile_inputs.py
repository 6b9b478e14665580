"""Property-based: no input makes a 500, on every form and htmx endpoint of the site.

Every URL pattern is enumerated from the resolver (a pattern missing from the table of path
arguments below fails the test, so a new view is covered when it is added). Each is requested
as a user who owns a template, a key, a run, an upload and a team, with GET query strings and
POST bodies that Hypothesis builds from every form field name the site's pages render, filled
with hostile values: huge strings, NULs, control characters, deep JSON, non-UUIDs, negative
and huge numbers, unicode. Oversize values on the main forms must come back with the limit
named. Examples per endpoint are few (the suite stays fast); Hypothesis varies them each run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.accounts.models import Role
from playground.batches.models import InputSet, start_batch
from playground.prompts.models import PrefixTemplate
from playground.runs.models import ImageUpload, Run
from tests.factories import add_member, make_team, make_user
from tests.keys.factories import make_credential
from tests.keys.team_helpers import make_team_credential
from tests.prompts.factories import make_template
from tests.runs.conftest import start_run

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# Not requested: the event stream (a long-lived response, tested in tests/runs) and the
# simulator (a separate ASGI app under /sim/, not a Django view).
SKIPPED = {"runs:stream"}
NAME_RE = re.compile(r'\bname="([^"]+)"')
EXTRA_NAMES = {"page", "index", "after", "use", "run", "a", "b", "against", "turn", "q", "next"}

HOSTILE_CONSTANTS = [
    "",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "-1",
    "0",
    "-99999999999999999999",
    "9" * 5_000,
    "1e309",
    "nan",
    "inf",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "{{x}}" * 2_000,
    "upload:not-a-uuid",
    "http://127.0.0.1:80:8302/v1",
    "https://[::1/v1",
    "[" * 1_000 + "]" * 1_000,
    '{"version": ' + "9" * 5_000 + "}",
    "x" * 36,
    "{" + "0" * 34 + "}",
    "00000000-0000-0000-0000-00000000000g",
    "\u202e\ufeff\u200b",
    "ǅ𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "\r\n" * 500,
    "s\n" * 10_000,
]
KILLERS = [
    "a\x00b",
    "9" * 5_000,
    "[" * 1_000 + "]" * 1_000,
    '{"version": ' + "9" * 5_000 + "}",
    "x" * 36,
    "upload:not-a-uuid",
    "http://127.0.0.1:80:8302/v1",
    "-99999999999999999999",
    "1e309",
]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
HUGE = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "{{x}}", "\n", " ", "ü", "\\n"]),
    st.integers(100_000, 220_000),
)
HOSTILE = st.one_of(TEXT, st.sampled_from(HOSTILE_CONSTANTS), HUGE)
HOSTILE_INT = st.one_of(st.integers(0, 3), st.sampled_from([2**15, 2**31, 2**63, 10**30]))


class World:
    """alice's objects, one of each kind a URL can name."""

    def __init__(self) -> None:
        self.alice = make_user("alice")
        self.team = make_team(self.alice, "Acme")
        bob = make_user("bob")
        self.member = add_member(self.team, bob, Role.EDITOR)
        self.invite, self.invite_token = self.team.create_invite(Role.VIEWER, self.alice)
        self.credential = make_credential(self.alice, base_url="http://127.0.0.1:9/v1")
        self.team_credential = make_team_credential(self.team, self.alice)
        self.template = make_template(self.alice, variable_notes=[])
        self.template.prefix = "```python \n"
        self.template.save(author=self.alice)
        self.run = start_run(self.alice, [(self.credential, "m1"), (self.credential, "m2")])
        self.share_token = self.run.enable_sharing()
        self.upload = ImageUpload.objects.create(
            user=self.alice, name="a.png", content_type="image/png", data=PNG, size=len(PNG)
        )
        self.input_set = InputSet(
            template=self.template, name="Rows", columns=["x"], rows=[["1"]], created_by=self.alice
        )
        self.input_set.save(author=self.alice)
        targets = [{"credential": self.credential, "model": "m1"}]
        self.batch = start_batch(
            user=self.alice,
            template=self.template,
            input_set=self.input_set,
            targets=targets,
            checks=[],
        )

    def client(self) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(self.alice)
        return client

    def args(self, name: str, converter: str, route: str) -> str:
        """Return a real value for the path argument `name` of `route`."""
        if converter == "uuid":
            if route.startswith(("templates/", "batches/templates/")):
                return str(self.template.code)
            if route.startswith("keys/teams/"):
                return str(self.team_credential.code if name == "credential" else self.team.code)
            if route.startswith("batches/inputs/"):
                return str(self.input_set.code)
            if route.startswith("batches/"):
                return str(self.batch.code)
            if route.startswith("keys/"):
                return str(self.credential.code)
            if route.startswith("runs/images/"):
                return str(self.upload.code)
            if route.startswith("runs/"):
                return str(self.run.code)
            if route.startswith("accounts/teams/"):
                return str(self.team.code)
        if name == "token":
            return self.share_token if route.startswith("runs/") else self.invite_token
        if name == "pk":
            if "budgets" in route:  # a member's budget: by user
                return str(self.member.user_id)
            return str(self.invite.pk if "invites" in route else self.member.pk)
        if name == "number":
            return "2"
        if name in ("position", "index"):
            return "0"
        if name == "kind":  # a budget (m/c), a column download (.txt/.json), a batch export
            if "budgets" in route:
                return "m"
            return "csv" if route.startswith("batches/") else "json"
        raise LookupError(f"no value for <{converter}:{name}> in {route}")


def _patterns(
    resolvers: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue  # Django's own admin: covered by Django; alice is not staff anyway
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", route


ROUTES = sorted(_patterns(get_resolver().url_patterns))
ARG_RE = re.compile(r"<(?:(\w+):)?(\w+)>")


def _url(world: World, route: str, numbers: dict[str, int] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if numbers and converter == "int":
            return str(numbers.get(name, 0))
        return world.args(name, converter, route)

    return "/" + ARG_RE.sub(value, route)


@pytest.fixture
def world(db: None) -> World:
    return World()


FORM_RE = re.compile(r'<form[^>]*?(?:hx-post|action)="([^"]+)"[^>]*>(.*?)</form>', re.S)
_NAMES: dict[str, set[str]] = {}


def _scrape(world: World) -> dict[str, set[str]]:
    """Return the field names each URL takes: those its page renders and those of the forms
    that post to it; "" holds every name seen. Scraped once per test session."""
    if _NAMES:
        return _NAMES
    client = world.client()
    names: dict[str, set[str]] = {"": set(EXTRA_NAMES)}
    for name, route in ROUTES:
        if name in SKIPPED:
            continue
        url = _url(world, route)
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            page = response.content.decode()
            found = set(NAME_RE.findall(page))
            names.setdefault(url, set()).update(found)
            names[""] |= found
            for action, body in FORM_RE.findall(page):
                names.setdefault(action.split("?")[0], set()).update(NAME_RE.findall(body))
    for found in names.values():
        found.discard("csrfmiddlewaretoken")
    _NAMES.update(names)
    return _NAMES


def test_every_route_is_known() -> None:
    world_routes = [route for name, route in ROUTES if name not in SKIPPED]
    assert len(world_routes) > 40
    for route in world_routes:
        for _, name in ARG_RE.findall(route):
            known = {"code", "credential", "token", "pk", "number", "position", "index", "kind"}
            assert name in known, route


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), [r for r in ROUTES if r[0] not in SKIPPED])
def test_no_hostile_request_makes_a_500(world: World, name: str, route: str) -> None:
    client = world.client()
    scraped = _scrape(world)
    everywhere = sorted(scraped[""])
    own = sorted(scraped.get(_url(world, route), set())) or everywhere
    # Mostly the fields this URL takes, sometimes any field of the site.
    field = st.one_of(st.sampled_from(own), st.sampled_from(own), st.sampled_from(everywhere))
    # Real fields keep the deeper code reachable; hostile ones replace some of them.
    base = {
        "prefix": "Hello",
        "t0-credential": str(world.credential.code),
        "t0-model": "deepseek-chat",
        "name": "T",
        "category": "other",
        "visibility": "private",
        "turns-TOTAL_FORMS": "1",
        "turns-INITIAL_FORMS": "0",
        "turns-0-role": "user",
        "provider": "deepseek",
        "label": "L",
        "api_key": "sk-abcdefghijkl",
        "model": "deepseek-chat",
        "role": "viewer",
    }

    @settings(
        max_examples=5,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        data=st.dictionaries(field, HOSTILE, max_size=6),
        query=st.dictionaries(field, HOSTILE, max_size=3),
        numbers=st.dictionaries(
            st.sampled_from(["position", "index", "number", "pk"]), HOSTILE_INT
        ),
        htmx=st.booleans(),
        with_file=st.booleans(),
    )
    def check(
        data: dict[str, str],
        query: dict[str, str],
        numbers: dict[str, int],
        htmx: bool,
        with_file: bool,
    ) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        url = _url(world, route, numbers)
        _check(client.get(url, query, headers=headers), f"GET {url} {query!r:.200}")
        body: dict[str, Any] = {**base, **data}
        if with_file:
            body["file"] = SimpleUploadedFile("x.json", data.get("text", "[]").encode())
            body["image"] = SimpleUploadedFile("x.png", PNG)
        _check(client.post(url, body, headers=headers), f"POST {url} {data!r:.200}")

    check()
    # Then, every time, each known killer in every field this URL takes at once: these made
    # 500s before (tests/limits/test_malformed_inputs.py has one test for each).
    for value in KILLERS:
        values = dict.fromkeys(own, value)
        url = _url(world, route)
        _check(client.get(url, values), f"GET {url} all fields = {value[:40]!r}")
        _check(client.post(url, {**base, **values}), f"POST {url} all fields = {value[:40]!r}")


OVERSIZE_FORMS = {
    # field -> (url, base fields, where the limit is named)
    "compare prefix": ("/runs/new/", "prefix", "MAX_TEXT_CHARS"),
    "compare stop": ("/runs/new/", "stop", "MAX_STOP_SEQUENCES"),
    "compare turn": ("/runs/new/", "turns-0-content", "MAX_TEXT_CHARS"),
    "editor prefix": ("/templates/new/", "prefix", "MAX_TEXT_CHARS"),
    "editor stop": ("/templates/new/", "stop", "MAX_STOP_SEQUENCES"),
    "import": ("/templates/import/", "text", "MAX_IMPORT_DEPTH"),
}


@pytest.mark.django_db
def test_oversize_inputs_are_refused_with_the_limit_named(world: World) -> None:
    client = world.client()
    base = {
        "prefix": "Hello",
        "t0-credential": str(world.credential.code),
        "t0-model": "deepseek-chat",
        "name": "T",
        "category": "other",
        "visibility": "private",
        "turns-TOTAL_FORMS": "1",
        "turns-INITIAL_FORMS": "0",
        "turns-0-role": "user",
        "turns-0-content": "hi",
    }

    @settings(max_examples=12, deadline=None, database=None)
    @given(
        form=st.sampled_from(sorted(OVERSIZE_FORMS)),
        excess=st.integers(1, 50_000),
        piece=st.sampled_from(["a", "ü", " ", "{", "\t"]),
    )
    def check(form: str, excess: int, piece: str) -> None:
        url, field, setting = OVERSIZE_FORMS[form]
        if setting == "MAX_STOP_SEQUENCES":
            value = "s\n" * (17 + excess % 5_000)  # 17 or more: over the 16 allowed
        elif setting == "MAX_IMPORT_DEPTH":
            depth = 21 + excess % 2_000
            value = "[" * depth + "]" * depth
        else:
            value = piece * (100_000 + excess)
        response = client.post(url, {**base, field: value}, headers={"HX-Request": "true"})
        assert response.status_code < 500
        assert setting in response.content.decode(), (form, len(value))

    check()
    assert not Run.objects.exclude(pk=world.run.pk).exists()
    assert PrefixTemplate.objects.count() == 1
