"""Continue in the browser: a column cut at its token limit grows by a segment."""

from __future__ import annotations

from typing import Any

import pytest

from playground.keys.models import Credential
from playground.runs.models import RunColumn
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_it_continues_a_length_limited_column(page: Any, live_url: str) -> None:
    user = make_user("continuer")
    Credential.objects.add_simulator_set(user, f"{live_url}/sim")
    log_in(page, live_url, "continuer", PASSWORD)

    page.goto(f"{live_url}/runs/")
    page.fill("textarea[name=prefix]", "Once upon a time")
    page.locator(".target-row").nth(2).get_by_role("button", name="Remove this target").click()
    page.locator(".target-row").nth(1).get_by_role("button", name="Remove this target").click()
    page.select_option("select[name=t0-credential]", label="Simulator · Qwen")
    page.fill("input[name=t0-model]", "qwen-plus-long")
    page.locator(".target-row summary").first.click()
    page.fill("input[name=t0-max_tokens]", "15")
    page.click("#run-button")

    column = page.locator("#run-area .column").first
    column.get_by_role("button", name="Continue").wait_for()
    assert column.locator("dl.metrics").text_content().count("length") == 1
    column.get_by_role("button", name="Continue").click()
    page.locator("#run-area .segment[data-index='1'] .continuation").wait_for()
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for()
    screenshot(page, "continue")

    saved = RunColumn.objects.prefetch_related("segments").select_related("run").get()
    segments = saved.segment_list
    assert len(segments) == 2
    assert segments[1].prefix == "Once upon a time" + segments[0].text
    shown = page.eval_on_selector_all(
        "#run-area .column .output", "nodes => nodes.map(n => n.textContent).join('')"
    )
    assert shown == "Once upon a time" + segments[0].text + segments[1].text
    assert shown == saved.full_text
