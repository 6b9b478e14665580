"""Tool calls in Chromium: the tools starter on three targets, the arguments building up in
each column's live block, then the saved calls marked valid; the editor's Tools field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

PASSWORD = "a-long-and-unusual-passphrase"
# Notes, per column, whether its live arguments block ever held text (the out-of-band swaps of
# the col-N-tool-args frames), before the end replaced it with the saved call.
WATCH = """() => {
  window.argsSeen = new Set();
  new MutationObserver(() => {
    document.querySelectorAll('.column').forEach(column => {
      column.querySelectorAll('.tool-call-live .tool-args').forEach(block => {
        if (block.textContent.includes('"location"')) window.argsSeen.add(column.dataset.position);
      });
    });
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_tool_calls_stream_into_their_blocks_and_end_marked_valid(page: Any, live_url: str) -> None:
    call_command("load_starter_library", verbosity=0)
    page.goto(f"{live_url}/accounts/signup/")
    page.fill("#id_username", "caller")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_url}/home/")
    page.goto(f"{live_url}/keys/")
    page.click("text=Add simulator keys")
    page.wait_for_selector("text=Simulator · Mistral")

    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Tool calls: weather and unit conversion")
    page.wait_for_selector("details.tools-area[open] textarea[name=tools]")
    assert "get_weather" in page.input_value("textarea[name=tools]")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.fill("input[name=t2-model]", "mistral-small-latest")
    page.evaluate(WATCH)
    page.click("#run-button")

    page.wait_for_function(
        "() => document.querySelectorAll('#run-area .tool-verdict').length === 3"
    )
    verdicts = page.locator("#run-area .tool-verdict").all_text_contents()
    assert verdicts == ["valid", "valid", "valid"]
    names = page.locator("#run-area .tool-call .tool-name").all_text_contents()
    assert names == ["get_weather"] * 3
    assert page.evaluate("[...window.argsSeen].sort()") == ["0", "1", "2"]
    assert '"location": "Paris"' in page.locator("#run-area .tool-args").first.text_content()
    screenshot(page, "compare-tool-calls")
    page.set_viewport_size({"width": 390, "height": 900})
    screenshot(page, "compare-tool-calls-390")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "compare-tool-calls-390-dark")

    page.set_viewport_size({"width": 1360, "height": 900})
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_url}/templates/new/")
    page.fill("textarea[name=tools]", '[{"name": "get weather"}]')
    page.fill("input[name=name]", "Broken tools")
    page.fill("textarea[name=prefix]", "Hi")
    page.click("form#editor-form button[type=submit].btn-primary")
    page.wait_for_selector("text=tools[0].name: required: 1-64 letters")
    assert page.input_value("textarea[name=tools]") == '[{"name": "get weather"}]'
    screenshot(page, "editor-tools-error")
    page.set_viewport_size({"width": 390, "height": 900})
    screenshot(page, "editor-tools-error-390")
