"""Answering tool calls in Chromium: the tools starter on three targets, the arguments building up
in each live block, "Answer all with canned results", then each column's final answer; a
bad-arguments fault marked "does not match the schema" with its field, answered by hand (an
empty result refused with the typed text kept)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from playground.keys.models import Credential
from playground.runs.models import Segment
from tests.browser.test_tool_calls_page import WATCH
from tests.conftest import ARTIFACTS, log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

WEATHER_CANNED = '"conditions": "light rain"'
SCROLL_DOWN = "() => document.querySelectorAll('.column-body').forEach(b => b.scrollTop = 1e6)"


def narrow_dark(page: Any, name: str) -> None:
    """Screenshot the first column at 390 px in the dark theme (the page is too long to read)."""
    page.set_viewport_size({"width": 390, "height": 900})
    page.emulate_media(color_scheme="dark")
    page.evaluate(SCROLL_DOWN)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#run-area .column").first.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.emulate_media(color_scheme="light")


def test_answer_all_with_canned_results_continues_every_column(page: Any, live_url: str) -> None:
    call_command("load_starter_library", verbosity=0)
    user = make_user("answerer")
    Credential.objects.add_simulator_set(user, f"{live_url}/sim")
    log_in(page, live_url, "answerer", PASSWORD)

    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Tool calls: weather and unit conversion")
    page.wait_for_selector("details.tools-area[open] textarea[name=tools]")
    assert '"result"' in page.input_value("textarea[name=tools]")  # the canned results
    page.select_option("select[name=t0-credential]", label="Simulator · DeepSeek")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.select_option("select[name=t1-credential]", label="Simulator · Qwen")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.select_option("select[name=t2-credential]", label="Simulator · Mistral")
    page.fill("input[name=t2-model]", "mistral-small-latest")
    page.evaluate(WATCH)
    page.click("#run-button")

    # Each column streams its call's arguments, ends with the call marked valid and a form
    # prefilled with the canned result; the run offers "Answer all".
    answer_all = page.get_by_role("button", name="Answer all with canned results")
    answer_all.wait_for()
    assert page.evaluate("[...window.argsSeen].sort()") == ["0", "1", "2"]
    assert page.locator("#run-area .tool-verdict").all_text_contents() == ["valid"] * 3
    forms = page.locator("#run-area form.tool-answer")
    assert forms.count() == 3
    for index in range(3):
        assert WEATHER_CANNED in forms.nth(index).locator("textarea").input_value()
    screenshot(page, "tool-answer-form")
    narrow_dark(page, "tool-answer-form-390-dark")

    answer_all.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#run-area .segment[data-index=\"1\"] .continuation')]"
        ".filter(el => el.textContent.includes('Thanks for the results.')).length === 3"
    )
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for()
    for index in range(3):
        column = page.locator("#run-area .column").nth(index)
        assert WEATHER_CANNED in column.locator(".tool-result .tool-args").text_content()
        assert "get_weather returned" in column.locator(".segment[data-index='1']").text_content()
    assert page.locator("#run-area form.tool-answer").count() == 0
    assert page.get_by_role("button", name="Answer all with canned results").count() == 0
    page.evaluate(SCROLL_DOWN)
    screenshot(page, "tool-answer-continued")
    narrow_dark(page, "tool-answer-continued-390-dark")

    # The bad-arguments fault: "does not match the schema" naming the field; answered by hand.
    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Tool calls: weather and unit conversion")
    page.wait_for_selector("details.tools-area[open] textarea[name=tools]")
    page.locator(".target-row").nth(2).get_by_role("button", name="Remove this target").click()
    page.locator(".target-row").nth(1).get_by_role("button", name="Remove this target").click()
    page.select_option("select[name=t0-credential]", label="Simulator · DeepSeek")
    page.fill("input[name=t0-model]", "deepseek-chat-fault-badargs")
    page.click("#run-button")
    form = page.locator("#run-area form.tool-answer")
    form.wait_for()
    verdict = page.locator("#run-area .tool-verdict").text_content()
    saved = Segment.objects.filter(column__model="deepseek-chat-fault-badargs").get()
    arguments = json.loads(saved.tool_calls[0]["arguments"])
    wrong = [name for name, value in arguments.items() if value == 12345]
    assert len(wrong) == 1
    assert f"does not match the schema: {wrong[0]}: must be string, not integer 12345" in verdict

    textarea = form.locator("textarea")
    textarea.fill("   ")
    form.get_by_role("button", name="Answer and continue").click()
    page.get_by_text("The result for call 1 (get_weather) is empty").wait_for()
    screenshot(page, "tool-answer-refused")
    assert page.locator("#run-area form.tool-answer textarea").input_value() == "   "
    page.locator("#run-area form.tool-answer textarea").fill("Cloudy, 12 degrees")
    page.get_by_role("button", name="Answer and continue").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#run-area .segment[data-index=\"1\"] .continuation')]"
        ".some(el => el.textContent.includes('get_weather returned Cloudy, 12 degrees'))"
    )
