"""The worker runs batches for real: a django-q2 cluster process against the simulator."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from playground.batches.models import BatchStatus, CellStatus
from playground.runs.models import Run, SegmentStatus
from tests.batches.conftest import (
    Sim,
    Worker,
    final_cells,
    launch,
    make_credential,
    make_input_set,
    requests_by_cell,
    story_template,
    wait_finished,
)
from tests.factories import make_user
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_small_batch_runs_every_cell_once_as_a_normal_run(sim: Sim, worker: Worker) -> None:
    sim.clear()
    user = make_user("ada")
    template = story_template(user)
    input_set = make_input_set(template, 3)
    deepseek = make_credential(user, sim)
    batch = launch(
        user,
        template,
        input_set,
        [(deepseek, "deepseek-chat"), (deepseek, "deepseek-chat-tps1000")],
        checks=[{"kind": "contains", "value": "the"}],
    )
    wait_finished(batch)
    assert batch.status == BatchStatus.DONE
    cells = final_cells(batch)
    assert len(cells) == 6
    assert Counter(c.status for c in cells) == {CellStatus.DONE: 6}
    for cell in cells:
        run = Run.objects.get(pk=cell.run_id)
        segment = run.columns.get().segments.get()
        assert segment.status == SegmentStatus.DONE
        assert segment.text and cell.segment_id == segment.pk
        assert run.variables == cell.variables
        assert f"seed number {cell.row:04d}" in run.prefix
        assert cell.output_tokens == segment.output_tokens
        assert cell.checks == ["the" in segment.text]
    assert set(requests_by_cell(sim).values()) == {1}
    assert len(requests_by_cell(sim)) == 6


def test_fifty_rows_three_targets_one_rate_limited(sim: Sim, worker: Worker) -> None:
    """150 cells; the 429 target is retried with backoff (at least Retry-After) then fails."""
    sim.clear()
    user = make_user("grace")
    template = story_template(user)
    input_set = make_input_set(template, 50)
    fast, other, limited = (make_credential(user, sim, label=f"key {n}") for n in range(3))
    batch = launch(
        user,
        template,
        input_set,
        [
            (fast, "deepseek-chat"),
            (other, "deepseek-chat-tps1000"),
            (limited, "deepseek-chat-fault-429"),
        ],
    )
    wait_finished(batch, guard=600)
    assert batch.status == BatchStatus.DONE
    cells = final_cells(batch)
    assert len(cells) == 150
    by_model: dict[str, Counter[str]] = {}
    for cell in cells:
        by_model.setdefault(cell.target.model, Counter())[cell.status] += 1
    assert by_model["deepseek-chat"] == {CellStatus.DONE: 50}
    assert by_model["deepseek-chat-tps1000"] == {CellStatus.DONE: 50}
    assert by_model["deepseek-chat-fault-429"] == {CellStatus.FAILED: 50}
    for cell in cells:
        if cell.target.model.endswith("429"):
            assert cell.attempts == 3
            assert cell.error_kind == "rate_limit"
            assert cell.error_message.startswith("Rate limited.")
            assert "Gave up after 3 attempts." in cell.error_message
    counts = requests_by_cell(sim)
    assert len(counts) == 150
    for (model, _seed), count in counts.items():
        assert count == (3 if model.endswith("429") else 1)
    # Each retry waited at least the Retry-After the simulator sent (1 s).
    starts: dict[str, list[float]] = {}
    for record in sim.requests():
        if str(record.get("model")).endswith("429"):
            text = str(record["body"]["messages"])
            seed = text.split("seed number ", 1)[1][:4]
            starts.setdefault(seed, []).append(record["started_at_wall"])
    for times in starts.values():
        times.sort()
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert all(gap >= 0.95 for gap in gaps)


def test_a_killed_worker_restarts_and_finishes_with_no_cell_sent_twice(
    sim: Sim, worker: Worker
) -> None:
    sim.clear()
    user = make_user("hopper")
    template = story_template(user, max_tokens=30)
    input_set = make_input_set(template, 30)
    one, two = make_credential(user, sim, label="one"), make_credential(user, sim, label="two")
    batch = launch(
        user, template, input_set, [(one, "deepseek-chat-tps60"), (two, "deepseek-chat-tps61")]
    )

    def some_done_some_running() -> bool:
        statuses = Counter(batch.cells.values_list("status", flat=True))
        return statuses[CellStatus.DONE] >= 6 and statuses[CellStatus.RUNNING] >= 1

    wait_until(some_done_some_running, "the batch to be under way")
    worker.kill()
    in_flight = set(batch.cells.filter(status=CellStatus.RUNNING).values_list("pk", flat=True))
    assert in_flight
    restarted_at = timezone.now()
    worker.start()
    wait_finished(batch, guard=300)
    assert batch.status == BatchStatus.DONE
    cells = final_cells(batch)
    assert len(cells) == 60
    statuses = Counter(c.status for c in cells)
    assert set(statuses) <= {CellStatus.DONE, CellStatus.INTERRUPTED}
    # Only the cells in flight at the kill are interrupted; every other one finished.
    interrupted = {c.pk for c in cells if c.status == CellStatus.INTERRUPTED}
    assert interrupted <= in_flight
    assert any(
        c.finished_at and c.finished_at > restarted_at and c.status == CellStatus.DONE
        for c in cells
    )
    counts = requests_by_cell(sim)
    assert max(counts.values()) == 1  # no cell was sent twice
    done_keys = {(c.target.model, f"{c.row:04d}") for c in cells if c.status == CellStatus.DONE}
    assert done_keys <= set(counts)
