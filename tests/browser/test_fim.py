"""Fill in the middle in the browser: one target fills the gap, the other says why it cannot."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from playground.keys.models import Credential
from playground.prompts.models import PrefixTemplate
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_it_runs_a_fim_template_on_a_capable_and_an_incapable_target(
    page: Any, live_url: str
) -> None:
    call_command("load_starter_library", verbosity=0)
    template = PrefixTemplate.objects.get(key="fim-python-function-body")
    user = make_user("middle")
    Credential.objects.add_simulator_set(user, f"{live_url}/sim")
    log_in(page, live_url, "middle", PASSWORD)

    page.goto(f"{live_url}/runs/?template={template.code}")
    assert page.input_value("textarea[name=suffix]") == template.suffix
    rows = page.locator(".target-row")
    while rows.count() > 2:
        rows.nth(rows.count() - 1).get_by_role("button", name="Remove this target").click()
    page.select_option("select[name=t0-credential]", label="Simulator · DeepSeek")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.select_option("select[name=t1-credential]", label="Simulator · Qwen")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.click("#run-button")
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for()
    screenshot(page, "fim")

    capable, incapable = (
        page.locator("#run-area .column").nth(0),
        page.locator("#run-area .column").nth(1),
    )
    output = capable.locator(".output")
    assert output.locator(".fim-middle").text_content()
    assert output.locator(".suffix-text").text_content() == template.suffix
    order = output.evaluate(
        "o => [...o.children].map(c => c.classList.contains('prefix-text') ? 'prefix'"
        " : c.classList.contains('fim-middle') ? 'middle' : 'suffix')"
    )
    assert order == ["prefix", "middle", "suffix"]
    assert incapable.locator(".badge:has-text('Not sent')").count() == 1
    assert "fill-in-the-middle" in incapable.locator(".column-error").text_content().lower()
    assert incapable.locator(".fim-middle").text_content() == ""
