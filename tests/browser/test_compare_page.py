"""The page users come for, driven in headless Chromium against the live site and its simulator.

Sign up, add simulator keys, run a starter template across three dialects, watch the columns
fill while they stream, stop one column, then open the permalink in a second browser.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import add_simulator_keys, screenshot, sign_up

pytestmark = pytest.mark.browser

PASSWORD = "a-long-and-unusual-passphrase"
LONG_MODEL = "deepseek-chat-long"  # the simulator writes ~2,000 tokens: long enough to stop


def _texts(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#run-area .column .continuation", "nodes => nodes.map(n => n.textContent)"
    )


def test_it_streams_three_providers_side_by_side(
    page: Any, browser_context: Any, _browser: Any, live_url: str
) -> None:
    call_command("load_starter_library", verbosity=0)
    sign_up(page, live_url, "writer", PASSWORD)
    add_simulator_keys(page, live_url)

    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Story opener (English)")
    page.wait_for_selector(".prompt-card .badge-accent:has-text('Story opener (English)')")
    page.fill("input[name=t0-model]", LONG_MODEL)
    page.fill("input[name=t1-model]", "qwen-plus")
    page.fill("input[name=t2-model]", "mistral-small-latest")
    page.click("#run-button")

    # An intermediate state: every column has text while the run is still streaming.
    page.wait_for_function(
        """() => {
          const texts = [...document.querySelectorAll('#run-area .continuation')];
          return texts.length === 3 && texts.every(t => t.textContent.length > 0);
        }"""
    )
    assert page.locator("#run-area .run-controls .status-live").count() == 1
    assert page.locator("#run-area .column").first.locator(".status-live").count() == 1
    screenshot(page, "compare-streaming")

    first = page.locator("#run-area .column").first
    first.get_by_role("button", name="Stop").click()
    first.locator(".badge:has-text('Stopped')").wait_for()
    page.locator("#run-area .run-controls .badge:has-text('Stopped')").wait_for()
    streamed = _texts(page)
    prefix = page.locator("#run-area .column .prefix-text").first.text_content()
    assert prefix and "{{" not in prefix  # the template's variables were filled in
    assert all(streamed)
    columns = page.locator("#run-area .column")
    assert columns.nth(1).locator(".badge:has-text('Done')").count() == 1
    assert columns.nth(2).locator(".badge:has-text('Done')").count() == 1
    screenshot(page, "compare-stopped")

    permalink = page.locator("#run-area a:has-text('Permalink')").get_attribute("href")
    other = _browser.new_context(viewport={"width": 1360, "height": 900})
    try:
        second = other.new_page()
        second.goto(f"{live_url}/accounts/login/?next={permalink}")
        second.fill("input[name=username]", "writer")
        second.fill("input[name=password]", PASSWORD)
        second.click("main button[type=submit]")
        second.wait_for_url(f"{live_url}{permalink}")
        assert _texts(second) == streamed
        assert second.locator(".column").first.locator(".badge:has-text('Stopped')").count() == 1
        assert second.locator(".column .prefix-text").first.text_content() == prefix
        screenshot(second, "run-permalink")
    finally:
        other.close()
