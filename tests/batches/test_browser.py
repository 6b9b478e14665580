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


def test_batch_pages_fit_the_screen_and_pass_axe(browser_context: Any, live_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from playground.batches.models import InputSet, start_batch
    from tests.browser.test_site_pages import _check
    from tests.keys.factories import make_credential as make_key

    user = make_user("hamming")
    template = story_template(user)
    input_set = InputSet(
        template=template,
        name="Seeds",
        columns=["seed", "extra"],
        rows=[["a red fox", "x"], ["a long seed " * 12, "y"]],
    )
    input_set.save(author=user)
    key = make_key(user, label="DeepSeek")
    batch = start_batch(
        user=user,
        template=template,
        input_set=input_set,
        targets=[
            {"credential": key, "model": "deepseek-chat"},
            {"credential": key, "model": "deepseek-chat-fault-429"},
        ],
        checks=[{"kind": "contains", "value": "fox"}],
    )
    Cell.objects.filter(batch=batch, target__position=0).update(
        status=CellStatus.DONE, output_tokens=12, ttft_ms=200, elapsed_ms=900, checks=[True]
    )
    Cell.objects.filter(batch=batch, target__position=1).update(
        status=CellStatus.FAILED,
        attempts=3,
        error_kind="rate_limit",
        error_message="Rate limited. Gave up after 3 attempts.",
    )
    Batch.objects.filter(pk=batch.pk).update(status="done")
    page = browser_context.new_page()
    log_in(page, live_url, "hamming", PASSWORD)
    problems: list[str] = []
    axe = Axe()
    for name, path in {
        "batches": "/batches/",
        "batch-template": f"/batches/templates/{template.code}/",
        "input-set": f"/batches/inputs/{input_set.code}/",
        "input-set-edit": f"/batches/inputs/{input_set.code}/edit/",
        "batch": f"/batches/{batch.code}/",
        "batch-failed-rendered": f"/batches/{batch.code}/?show=failed&view=rendered",
    }.items():
        _check(page, live_url + path, name, problems, axe)
    assert problems == [], "\n".join(problems)
