"""Tool calls in Chromium: the tools starter on three targets, the arguments building up in
each column's live block, then the saved calls marked valid; the editor's Tools field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import add_simulator_keys, screenshot, sign_up

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
    sign_up(page, live_url, "caller", PASSWORD)
    add_simulator_keys(page, live_url)

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


def test_inspect_and_diff_of_a_tools_run_render(page: Any, live_url: str) -> None:
    call_command("load_starter_library", verbosity=0)
    sign_up(page, live_url, "inspector", PASSWORD)
    add_simulator_keys(page, live_url)

    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Tool calls: weather and unit conversion")
    page.wait_for_selector("details.tools-area[open] textarea[name=tools]")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.fill("input[name=t2-model]", "mistral-small-latest-fault-badargs")
    page.click("#run-button")
    page.wait_for_function(
        "() => document.querySelectorAll('#run-area .tool-verdict').length === 3"
    )
    code = page.locator("#run-area .run").first.get_attribute("id").removeprefix("run-")

    # Inspect, in the dialog: the tools as sent and the call received, marked valid.
    page.locator("#run-area .column").first.locator("text=Inspect").click()
    page.wait_for_selector("#modal-body .inspect-tools summary")
    page.click("#modal-body .inspect-tools summary")
    sent = page.locator("#modal-body .inspect-tools pre").text_content()
    assert '"type": "function"' in sent and '"strict": true' in sent
    assert page.locator("#modal-body .inspect-calls .tool-verdict").all_text_contents() == ["valid"]
    screenshot(page, "inspect-tools-dialog")

    # Diff of the good call and the bad one, as a page of its own.
    page.goto(f"{live_url}/runs/{code}/diff/?a=0&b=2")
    page.wait_for_selector(".calls-diff")
    verdicts = page.locator(".calls-diff .tool-verdict").all_text_contents()
    assert verdicts[0] == "valid" and verdicts[1].startswith("does not match the schema")
    assert page.locator(".calls-word-diff ins").count() >= 1
    screenshot(page, "diff-tools")
    page.goto(f"{live_url}/runs/{code}/columns/0/inspect/")
    page.click(".inspect-tools summary")
    screenshot(page, "inspect-tools")
    page.set_viewport_size({"width": 390, "height": 900})
    page.emulate_media(color_scheme="dark")
    screenshot(page, "inspect-tools-390-dark")
    page.goto(f"{live_url}/runs/{code}/diff/?a=0&b=2")
    page.wait_for_selector(".calls-diff")
    screenshot(page, "diff-tools-390-dark")
    # The run page lists the tools offered, with their parameters a click away.
    page.set_viewport_size({"width": 1360, "height": 900})
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_url}/runs/{code}/")
    page.click(".prompt-summary > summary")
    page.click(".offered-tool summary >> nth=0")
    assert '"location"' in page.locator(".offered-tool pre").first.text_content()
    screenshot(page, "run-tools-summary")
