"""Probe in the vault: one click per credential and model, against the simulator over HTTP.

The simulator honours each provider's prefix dialect as documented, so a DeepSeek credential
continues the probe's count, a generic endpoint that speaks the wrong dialect starts afresh,
OpenAI is refused before anything is sent, and a bad key comes back as the provider's error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from playground.accounts.models import User
from playground.keys import views
from playground.keys.models import Credential, ProbeResult
from playground.providers import Deadlines
from playground.providers import ProbeResult as ProbeOutcome
from playground.providers.probe import PROBE_PREFIX
from playground.simulator import create_app
from tests.runs.conftest import Sim, make_sim_credential
from tests.servers import serving

HTMX = {"HTTP_HX_REQUEST": "true"}
# The simulator takes any key that starts with "sim-"; this one is distinctive enough that
# finding it anywhere it should not be is unambiguous.
SECRET_KEY = "sim-probe-SECRETPROBEKEY-4242"
BAD_KEY = "sim-invalid-SECRETBADKEY-5151"


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    """A simulator on a loopback port, quick enough that a probe takes a fraction of a second."""
    app = create_app(tokens_per_second=2000, first_token_delay=0.01, keepalive_interval=0.1)
    with serving(app, name="probe-simulator") as url:
        yield Sim(url, app)


@pytest.fixture(autouse=True)
def _private_urls(settings: Any) -> None:
    # The simulator listens on loopback, which the SSRF policy refuses unless allowed.
    settings.ALLOW_PRIVATE_BASE_URLS = True


def _probe(client: Client, credential: Credential, model: str, **headers: Any) -> Any:
    return client.post(reverse("keys:probe", args=[credential.code]), {"model": model}, **headers)


def test_it_finds_that_deepseek_continues_the_prefix(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek", key=SECRET_KEY)
    before = timezone.now()
    response = _probe(alice_client, credential, "deepseek-chat", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span class="badge badge-ok">continues</span>' in body
    assert '<code class="keys-verdict-model">deepseek-chat</code>' in body
    assert "checked just now" in body
    assert f'<span class="prefix-text" title="The probe\'s prefix">{PROBE_PREFIX}</span>' in body
    assert "<details open>" in body
    saved = ProbeResult.objects.get(credential=credential)
    assert (saved.model, saved.verdict, saved.prefix) == (
        "deepseek-chat",
        "continues",
        PROBE_PREFIX,
    )
    assert saved.text and saved.text in body
    assert saved.evidence.startswith("The reply")
    assert before <= saved.checked_at <= timezone.now()
    # The simulator saw DeepSeek's own prefix flag on the /beta endpoint.
    sent = sim.app.requests[-1]
    assert sent.path.endswith("/beta/chat/completions")
    assert sent.body["messages"][-1] == {
        "role": "assistant",
        "content": PROBE_PREFIX,
        "prefix": True,
    }


def test_it_finds_that_a_plain_trailing_message_restarts_on_sglang(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    # SGLang without continue_final_message turns the trailing assistant message into a new
    # user turn, so an endpoint set up with the wrong ("plain") dialect answers afresh.
    credential = make_sim_credential(alice, sim, "openai_compatible", dialect="plain")
    credential.base_url = sim.base_url("sglang")
    credential.save()
    body = _probe(alice_client, credential, "Qwen/Qwen3-8B", **HTMX).content.decode()
    assert '<span class="badge badge-warn">restarts</span>' in body
    saved = ProbeResult.objects.get(credential=credential)
    assert saved.verdict == "restarts"
    assert saved.text.startswith("Sure!")
    assert "opens a new answer" in saved.evidence
    assert "continue_final_message" not in sim.app.requests[-1].body


def test_it_reports_openai_as_unsupported_without_sending(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "openai")
    sent_before = len(sim.app.requests)
    body = _probe(alice_client, credential, "gpt-4o-mini", **HTMX).content.decode()
    assert '<span class="badge ">unsupported</span>' in body
    assert "Nothing was sent" in body
    saved = ProbeResult.objects.get(credential=credential)
    assert saved.verdict == "unsupported"
    assert "answers afresh" in saved.evidence
    assert saved.text == ""
    assert len(sim.app.requests) == sent_before


def test_it_reports_a_rejected_key_with_the_providers_message(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek", key=BAD_KEY)
    body = _probe(alice_client, credential, "deepseek-chat", **HTMX).content.decode()
    assert '<span class="badge badge-danger">error</span>' in body
    saved = ProbeResult.objects.get(credential=credential)
    assert saved.verdict == "error"
    assert saved.evidence.startswith("The API key was rejected by DeepSeek (401)")
    assert saved.evidence in body
    assert sim.app.requests[-1].auth_ok is False


def test_it_reports_a_provider_that_never_answers_as_an_error(
    alice_client: Client, alice: User, sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PROBE_DEADLINES", Deadlines(first_token=0.5, stall=0.5, total=2))
    credential = make_sim_credential(alice, sim, "deepseek")
    _probe(alice_client, credential, "deepseek-chat-fault-silent", **HTMX)
    saved = ProbeResult.objects.get(credential=credential)
    assert saved.verdict == "error"
    # The probe's own deadline ended it, not the simulator's two minutes of silence.
    assert saved.evidence == "DeepSeek sent no text within 0.5 s."


def test_it_works_without_javascript(alice_client: Client, alice: User, sim: Sim) -> None:
    credential = make_sim_credential(alice, sim, "deepseek", label="Offline DeepSeek")
    response = _probe(alice_client, credential, "deepseek-chat")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('keys:list')}#probe-{credential.code}"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Probed deepseek-chat on “Offline DeepSeek”: continues." in page
    assert '<span class="badge badge-ok">continues</span>' in page
    assert f'action="{reverse("keys:probe", args=[credential.code])}"' in page


@pytest.mark.parametrize("model", ["", "deepseek chat", "x" * 201])
def test_it_refuses_a_malformed_model_without_calling_anyone(
    alice_client: Client, alice: User, sim: Sim, model: str
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    sent_before = len(sim.app.requests)
    body = _probe(alice_client, credential, model, **HTMX).content.decode()
    assert f'<ul class="errorlist" id="probe-error-{credential.code}">' in body
    assert 'aria-invalid="true"' in body
    plain = _probe(alice_client, credential, model, follow=True).content.decode()
    assert "Not probed:" in plain
    assert not ProbeResult.objects.exists()
    assert len(sim.app.requests) == sent_before


def test_it_shows_the_latest_verdict_per_model_on_the_vault(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    # A second credential probed more recently on the same model keeps its own verdict.
    other = make_sim_credential(alice, sim, "deepseek", label="second")
    now = timezone.now()
    for owner, model, verdict, hours_ago in [
        (credential, "deepseek-chat", "restarts", 30),
        (credential, "deepseek-chat", "continues", 2),
        (credential, "deepseek-reasoner", "error", 1),
        (other, "deepseek-chat", "unsupported", 0),
    ]:
        ProbeResult.objects.create(
            credential=owner,
            model=model,
            verdict=verdict,
            evidence=f"evidence of {verdict}",
            prefix=PROBE_PREFIX,
            text=" 8, 9",
            checked_at=now - timedelta(hours=hours_ago),
        )
    page = alice_client.get(reverse("keys:list")).content.decode()
    start = page.index(f'id="probe-{credential.code}"')
    panel = page[start : page.index(f'id="probe-{other.code}"')]
    verdicts = re.findall(
        r'<span class="badge [^"]*">(\w+)</span>\s*<code[^>]*>([^<]+)</code>', panel
    )
    assert verdicts == [("continues", "deepseek-chat"), ("error", "deepseek-reasoner")]
    assert "checked 2\xa0hours ago" in panel
    assert "checked 1\xa0hour ago" in panel
    assert "evidence of restarts" not in page
    assert page.count("evidence of unsupported") == 1
    assert credential.probes.count() == 3

    # A new probe of the same model takes its place; the history stays.
    body = _probe(alice_client, credential, "deepseek-chat", **HTMX).content.decode()
    assert "checked just now" in body
    assert "checked 2\xa0hours ago" not in body
    assert "checked 1\xa0hour ago" in body
    assert credential.probes.count() == 4


def test_it_offers_the_providers_models_first_one_chosen(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    page = alice_client.get(reverse("keys:list")).content.decode()
    first = credential.suggested_models[0]
    assert f'id="probe-model-{credential.code}" list="probe-models-{credential.code}"' in page
    assert f'value="{first.id}"' in page
    for model in credential.suggested_models:
        assert f'<option value="{model.id}">' in page
    assert "Not probed yet" in page


@pytest.mark.parametrize("other", ["bob_client", "charlie_client"])
def test_it_answers_404_to_anyone_but_the_owner(
    request: pytest.FixtureRequest, alice: User, sim: Sim, other: str
) -> None:
    client: Client = request.getfixturevalue(other)
    credential = make_sim_credential(alice, sim, "deepseek")
    sent_before = len(sim.app.requests)
    for headers in ({}, HTMX):
        assert _probe(client, credential, "deepseek-chat", **headers).status_code == 404
    assert not ProbeResult.objects.exists()
    assert len(sim.app.requests) == sent_before


def test_it_takes_only_posts(alice_client: Client, alice: User, sim: Sim) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    response = alice_client.get(reverse("keys:probe", args=[credential.code]))
    assert response.status_code == 405


def test_it_forgets_the_verdicts_with_the_credential(
    alice_client: Client, alice: User, sim: Sim
) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    _probe(alice_client, credential, "deepseek-chat", **HTMX)
    response = alice_client.post(reverse("keys:delete", args=[credential.code]), **HTMX)
    assert response.status_code == 200
    assert not ProbeResult.objects.exists()


def test_it_clips_a_runaway_reply() -> None:
    outcome = ProbeOutcome("continues", "e" * 5000, PROBE_PREFIX, " 8" * 5000)
    record = ProbeResult.from_outcome(Credential(), "m", outcome)
    assert len(record.text) == 2000 and record.text.endswith("…")
    assert len(record.evidence) == 1000 and record.evidence.endswith("…")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_it_never_sends_or_logs_the_key(
    alice_client: Client,
    alice: User,
    sim: Sim,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    htmx: bool,
) -> None:
    settings.DEBUG = True  # so that every SQL statement and its parameters are logged too
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    headers = HTMX if htmx else {"follow": True}
    good = make_sim_credential(alice, sim, "deepseek", key=SECRET_KEY)
    bad = make_sim_credential(alice, sim, "deepseek", key=BAD_KEY, label="bad")
    bodies = [
        _probe(alice_client, good, "deepseek-chat", **headers).content.decode(),
        _probe(alice_client, bad, "deepseek-chat", **headers).content.decode(),
        _probe(alice_client, good, "deepseek-chat-fault-500", **headers).content.decode(),
        alice_client.get(reverse("keys:list")).content.decode(),
    ]
    assert "continues" in bodies[0] and "rejected" in bodies[1]
    assert any("keys_proberesult" in record.getMessage() for record in caplog.records)
    stored = list(ProbeResult.objects.values_list("evidence", "text"))
    assert len(stored) == 3
    for secret in (SECRET_KEY, BAD_KEY, "SECRETPROBEKEY", "SECRETBADKEY"):
        for body in bodies:
            assert secret not in body
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in repr(record.__dict__)
        assert secret not in repr(stored)
