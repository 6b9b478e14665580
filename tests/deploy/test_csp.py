"""The Content-Security-Policy: on every URL the site routes, strict, and never needed loosening.

Every route is requested (with real objects for its parameters), whatever it answers - a page,
a redirect, a 405 for a POST-only view, a download - and each answer must carry the header. Pages
must hold no inline script, handler, `javascript:` or `js:` value, and no style attribute, since
the policy would block them; the templates are scanned for the same.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from playground.accounts.models import Role
from playground.batches.models import InputSet, start_batch
from playground.runs.models import ImageUpload, Segment
from tests.factories import add_member, make_user
from tests.keys.factories import make_credential
from tests.keys.team_helpers import make_team_credential
from tests.prompts.factories import make_template
from tests.runs.conftest import start_run

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
INLINE_PATTERNS = {
    "inline handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "hx-on": re.compile(r"\bhx-on[:-]", re.I),
    "js: value": re.compile(r"""=\s*['"]\s*(js|javascript):""", re.I),
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
}


def _walk(patterns: list[Any], namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace != "admin":
                found += _walk(entry.url_patterns, inner)
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


@pytest.fixture
def world(alice: Any, team: Any) -> dict[str, Any]:
    """One of everything a route can name, all belonging to (or visible to) alice."""
    member = add_member(team, make_user("member"), Role.VIEWER)
    invite, token = team.create_invite(Role.VIEWER, alice)
    credential = make_credential(alice)
    template = make_template(alice, name="CSP template", prefix="Once upon a time")
    template.description = "changed"
    template.save(author=alice)  # a second revision, so a diff exists
    run = start_run(alice, [(credential, "deepseek-chat"), (credential, "deepseek-reasoner")])
    Segment.objects.filter(column__run=run).update(status="done", text=" and then\n")
    run.refresh_status()
    share = run.enable_sharing()
    upload = ImageUpload.objects.create(
        user=alice, name="x.png", content_type="image/png", size=3, data=b"png"
    )
    input_set = InputSet(template=template, name="Rows", columns=["x"], rows=[["1"]])
    input_set.save(author=alice)
    batch = start_batch(
        user=alice,
        template=template,
        input_set=input_set,
        targets=[{"credential": credential, "model": "deepseek-chat"}],
        checks=[{"kind": "contains", "value": "a"}],
    )
    return {
        "batches": {
            "code": batch.code,
            "kind": "csv",
            "template": template.code,
            "input_set": input_set.code,
        },
        "accounts": {"code": team.code, "pk": member.pk, "token": token, "invite_pk": invite.pk},
        "keys": {"code": credential.code},
        "teamkeys": {
            "code": team.code,
            "credential": make_team_credential(team, alice).code,
            "kind": "m",
            "pk": alice.pk,
        },
        "prompts": {"code": template.code, "number": 1},
        "runs": {"code": run.code, "position": 0, "index": 0, "token": share, "kind": "json"},
        "image": upload.code,
    }


def _kwargs(name: str, pattern: URLPattern, world: dict[str, Any]) -> dict[str, Any]:
    namespace = name.split(":")[0] if ":" in name else ""
    values = dict(world.get(namespace, {}))
    if name == "batches:template":
        values["code"] = values["template"]
    if "input_set" in name:
        values["code"] = values["input_set"]
    if name == "runs:image":
        values["code"] = world["image"]
    if name == "accounts:invite_revoke":
        values["pk"] = values["invite_pk"]
    return {key: values[key] for key in pattern.pattern.converters}


def test_every_routed_url_answers_with_the_policy(alice_client: Client, world: Any) -> None:
    routes = _walk(get_resolver().url_patterns)
    assert len(routes) > 60  # the walk found the apps' routes
    pages = 0
    for name, pattern in routes:
        url = reverse(name, kwargs=_kwargs(name, pattern, world))
        response = alice_client.get(url)
        policy = response.headers.get("Content-Security-Policy", "")
        assert policy, f"{name} ({url}) answered {response.status_code} without a CSP"
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages += 1
            body = response.content.decode()
            for label, found in INLINE_PATTERNS.items():
                match = found.search(body)
                assert match is None, f"{name}: {label}: {match.group(0) if match else ''}"
    assert pages > 30


def test_logged_out_pages_and_error_pages_carry_it(client: Client, alice_client: Client) -> None:
    for url in ("/", "/accounts/login/", "/accounts/signup/", "/no-such-page/"):
        assert "script-src 'self'" in client.get(url).headers["Content-Security-Policy"]
    assert alice_client.get("/no-such-page/").status_code == 404


def test_the_500_page_styles_itself_with_a_nonce(alice: Any, settings: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    settings.ROOT_URLCONF = "tests.deploy.failing_urls"
    response = client.get("/boom/")
    assert response.status_code == 500
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None and "style-src 'self' 'nonce-" in policy
    assert f'<style nonce="{nonce.group(1)}">' in response.content.decode()
    assert "Something broke on our side" in response.content.decode()


def test_no_template_holds_inline_script_or_style() -> None:
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for label, found in INLINE_PATTERNS.items():
            for match in found.finditer(text):
                problems.append(f"{path.relative_to(TEMPLATES)}: {label}: {match.group(0)[:60]}")
    assert problems == []


def test_htmx_runs_with_eval_off(alice_client: Client) -> None:
    body = alice_client.get("/runs/").content.decode()
    assert '"allowEval": false' in body
    assert '"includeIndicatorStyles": false' in body
    assert re.search(r'<script src="[^"]*js/app\.js" defer></script>', body)
