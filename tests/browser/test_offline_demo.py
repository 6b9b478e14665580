"""Demo mode on a hosted-like instance, in headless Chromium: the offline demo works end to end.

No /sim/ route and no private base URLs: the simulator keys answer in-process
(playground/providers/inprocess.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from playground.accounts.models import User
from playground.keys.models import Credential
from playground.providers.inprocess import SIMULATOR_ORIGIN
from tests.conftest import add_simulator_keys, log_in, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_demo_mode_adds_simulator_keys_and_streams_a_run(
    page: Any, live_url: str, alice: User, settings: Any
) -> None:
    settings.SIMULATOR_ENABLED = False
    settings.ALLOW_PRIVATE_BASE_URLS = False
    settings.DEMO_MODE = True
    call_command("load_starter_library", verbosity=0)

    page.goto(f"{live_url}/")
    assert "Try it offline" in page.inner_text("main")
    log_in(page, live_url, "alice", PASSWORD)
    add_simulator_keys(page, live_url)
    assert all(
        c.base_url.startswith(SIMULATOR_ORIGIN) for c in Credential.objects.filter(user=alice)
    )

    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Story opener (English)")
    page.wait_for_selector(".prompt-card .badge-accent:has-text('Story opener (English)')")
    # Short answers, so the run ends soon (the field sits in a folded "Parameters" section).
    page.eval_on_selector("input[name=max_tokens]", "input => { input.value = '16'; }")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.fill("input[name=t2-model]", "mistral-small-latest")
    page.click("#run-button")

    page.wait_for_function(
        """() => {
          const texts = [...document.querySelectorAll('#run-area .continuation')];
          return texts.length === 3 && texts.every(t => t.textContent.length > 0);
        }"""
    )
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for()
    columns = page.locator("#run-area .column")
    for index in range(3):
        assert columns.nth(index).locator(".badge-sim").count() == 1
        assert columns.nth(index).locator(".badge:has-text('Done')").count() == 1
    screenshot(page, "offline-demo-mode")
