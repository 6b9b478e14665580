"""In Chromium: upload a CSV, start a batch, watch cells fill in live, filter failures, re-run."""

from __future__ import annotations

from typing import Any

import pytest

from playground.batches.models import Batch, Cell, CellStatus
from tests.batches.conftest import Sim, Worker, make_credential, story_template
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _count(page: Any, status: str) -> int:
    return int(page.locator(f"[data-cell][data-status={status}]").count())


CSV = "seed\n" + "".join(f"seed number {i:04d}\n" for i in range(8))


def test_upload_start_watch_filter_and_rerun(
    page: Any, live_url: str, sim: Sim, worker: Worker
) -> None:
    sim.clear()
    user = make_user("turing")
    template = story_template(user)
    make_credential(user, sim, label="Good key")
    make_credential(user, sim, label="Broken key")
    log_in(page, live_url, "turing", PASSWORD)

    page.goto(f"{live_url}/templates/{template.code}/")
    page.get_by_role("link", name="Batch", exact=True).click()
    page.fill("input[name=name]", "Eight seeds")
    page.set_input_files(
        "input[name=upload]",
        files=[{"name": "seeds.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
    )
    page.get_by_role("button", name="Save input set").click()
    page.wait_for_selector("text=8 rows")

    page.select_option("select[name=t0-credential]", label="Good key (DeepSeek)")
    page.fill("input[name=t0-model]", "deepseek-chat-tps300")
    page.select_option("select[name=t1-credential]", label="Broken key (DeepSeek)")
    page.fill("input[name=t1-model]", "deepseek-chat-fault-500")
    page.select_option("select[name=c0-kind]", value="contains")
    page.fill("input[name=c0-value]", "the")
    page.get_by_role("button", name="Start batch").click()
    page.wait_for_selector("[data-batch-grid]")
    # Cells arrive by polling, not by reloading: a marker set now survives until all are in.
    page.evaluate("window.stillTheSamePage = true")
    page.wait_for_selector("[data-cell][data-status=done]")
    wait_until(
        lambda: _count(page, "done") == 8 and _count(page, "failed") == 8,
        "every cell to show its result",
        guard=240,
    )
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator("[data-cell] [data-check]").count() == 8
    screenshot(page, "batch-grid")

    page.locator("[data-filter-failed]").click()
    page.wait_for_url("**show=failed**")
    assert page.locator(".batch-grid tbody tr").count() == 8
    assert page.locator("[data-cell][data-status=failed]").count() == 8

    batch = Batch.objects.get(user=user)
    before = len(sim.requests())
    page.locator("[data-rerun-failed]").click()
    page.wait_for_selector("text=8 cells queued again.")
    wait_until(
        lambda: (
            Cell.objects.filter(batch=batch, status=CellStatus.FAILED, attempts=3).count() == 8
            and len(sim.requests()) >= before + 24
        ),
        "the failed cells to be run again",
        guard=240,
    )
    wait_until(lambda: _count(page, "failed") == 8, "the re-run cells to show", guard=240)
    assert Cell.objects.filter(batch=batch, status=CellStatus.DONE).count() == 8
