"""Cancel: no cell is claimed after it, and the cells in flight have their requests closed.

How fast it lands is measured by bench/batch.py (BENCHMARKS.md); here the order of events is
what is asserted, and the latency is written to test-artifacts/batch-cancel.txt.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from playground.batches.models import BatchStatus, CellStatus
from playground.runs.models import SegmentStatus
from tests.batches.conftest import (
    Sim,
    Worker,
    final_cells,
    launch,
    make_credential,
    make_input_set,
    story_template,
    wait_finished,
)
from tests.factories import make_user
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def test_cancel_claims_nothing_more_and_closes_requests_in_flight(sim: Sim, worker: Worker) -> None:
    sim.clear()
    user = make_user("lovelace")
    template = story_template(user, max_tokens=None)
    input_set = make_input_set(template, 20)
    key = make_credential(user, sim)
    # ~2000 tokens at 20 a second: each cell would stream for minutes.
    batch = launch(user, template, input_set, [(key, "deepseek-chat-long-tps20")])
    wait_until(
        lambda: (
            batch.cells.filter(status=CellStatus.RUNNING).count() == 3
            and sum(1 for r in sim.requests() if r["first_byte_at"]) >= 3
        ),
        "three cells streaming",
    )
    client = Client()
    client.force_login(user)
    pressed = time.time()
    response = client.post(reverse("batches:cancel", args=[batch.code]))
    assert response.status_code == 302
    wait_until(
        lambda: all(r["disconnected_at_wall"] or r["completed"] for r in sim.requests()),
        "the requests in flight to be closed",
    )
    closed = max(r["disconnected_at_wall"] or 0 for r in sim.requests())
    wait_finished(batch)
    wait_until(
        lambda: not batch.cells.filter(status=CellStatus.RUNNING).exists(),
        "the cells in flight to be saved",
    )
    assert batch.status == BatchStatus.CANCELLED
    cells = final_cells(batch)
    assert {c.status for c in cells} == {CellStatus.CANCELLED}
    streamed = [c for c in cells if c.run_id is not None]
    assert len(streamed) == 3
    for cell in streamed:
        assert cell.started_at <= batch.cancelled_at
        segment = cell.segment
        assert segment is not None and segment.status == SegmentStatus.STOPPED
        assert segment.text  # what arrived before the cancel is kept
    records = sim.requests()
    assert len(records) == 3
    assert all(r["disconnected_at_wall"] and not r["completed"] for r in records)
    assert all(r["started_at_wall"] < pressed for r in records)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "batch-cancel.txt").write_text(
        f"cancel pressed -> last in-flight request closed: {closed - pressed:.3f} s\n"
    )
