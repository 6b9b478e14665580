"""Probe in the vault, in headless Chromium against the live site and its built-in simulator."""

from __future__ import annotations

from typing import Any

import pytest

from playground.accounts.models import User
from playground.keys.models import Credential, ProbeResult
from playground.providers.probe import PROBE_PREFIX
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _panel(alice: User, provider: str) -> str:
    credential = Credential.objects.get(user=alice, provider=provider)
    return f"#probe-{credential.code}"


def test_it_probes_simulator_keys_in_place(
    page: Any, live_url: str, alice: User, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = True
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/keys/")
    page.click("text=Add simulator keys")
    page.wait_for_selector(".keys-credential >> nth=4")
    assert page.locator(".keys-verdict-none").count() == 5
    page.evaluate("window.__marker = 1")

    deepseek = _panel(alice, "deepseek")
    assert page.input_value(f"{deepseek} input[name=model]") == "deepseek-v4-flash"
    page.fill(f"{deepseek} input[name=model]", "deepseek-chat")
    page.click(f"{deepseek} button:has-text('Probe')")
    # While the probe runs: the "Probing…" indicator shows and the button is disabled.
    page.wait_for_selector(f"{deepseek} .keys-probe-busy.htmx-request")
    assert page.is_disabled(f"{deepseek} button:has-text('Probe')")
    page.wait_for_selector(f"{deepseek} .badge-ok:has-text('continues')")
    # The fresh verdict opens on its evidence: the prefix, set apart, then the reply.
    reply = page.locator(f"{deepseek} .keys-probe-reply")
    assert reply.is_visible()
    assert page.inner_text(f"{deepseek} .keys-probe-reply .prefix-text") == PROBE_PREFIX
    assert "checked just now" in page.inner_text(f"{deepseek} .keys-verdict")
    assert page.input_value(f"{deepseek} input[name=model]") == "deepseek-chat"

    # A model that refuses prefill is flagged before anything is sent.
    anthropic = _panel(alice, "anthropic")
    page.fill(f"{anthropic} input[name=model]", "claude-opus-4-6")
    page.click(f"{anthropic} button:has-text('Probe')")
    page.wait_for_selector(f"{anthropic} .badge:has-text('unsupported')")
    assert "Nothing was sent" in page.inner_text(anthropic)

    kimi = _panel(alice, "moonshot")
    page.fill(f"{kimi} input[name=model]", "kimi-k2.5-fault-500")
    page.click(f"{kimi} button:has-text('Probe')")
    page.wait_for_selector(f"{kimi} .badge-danger:has-text('error')")
    assert page.evaluate("window.__marker") == 1
    screenshot(page, "vault-probe")

    # The verdicts are remembered: a reload shows the latest per model, folded.
    page.reload()
    page.wait_for_selector(f"{deepseek} .badge-ok:has-text('continues')")
    assert not page.locator(f"{deepseek} .keys-probe-reply").is_visible()
    page.click(f"{deepseek} summary")
    assert page.locator(f"{deepseek} .keys-probe-reply").is_visible()
    verdicts = dict(ProbeResult.objects.values_list("model", "verdict"))
    assert verdicts == {
        "deepseek-chat": "continues",
        "claude-opus-4-6": "unsupported",
        "kimi-k2.5-fault-500": "error",
    }
