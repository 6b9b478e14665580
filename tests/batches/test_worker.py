"""The worker runs batches for real: a django-q2 cluster process against the simulator."""

from __future__ import annotations

from collections import Counter

import pytest

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
