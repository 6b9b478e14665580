"""One mapping of statuses (playground/runs/status.py): what the relay's outcomes are saved as,
what each status is called and coloured, and the partials that render them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.template.loader import render_to_string

from playground.providers import ErrorKind, Finish, ProviderError
from playground.runs.models import Run, RunColumn, Segment
from playground.runs.status import ERROR_TITLES, RunStatus, SegmentStatus, error_title
from playground.runs.summary import ColumnVerdict


@dataclass(frozen=True)
class Outcome:
    stopped: bool = False
    error: ProviderError | None = None
    finish: Finish | None = None


def _error(kind: ErrorKind) -> ProviderError:
    return ProviderError(kind=kind, message="no")


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome(finish=Finish("stop")), SegmentStatus.DONE),
        (Outcome(error=_error(ErrorKind.AUTH)), SegmentStatus.ERROR),
        (Outcome(error=_error(ErrorKind.UNSUPPORTED)), SegmentStatus.SKIPPED),
        (Outcome(stopped=True, error=_error(ErrorKind.STALLED)), SegmentStatus.STOPPED),
        (Outcome(), SegmentStatus.RUNNING),
    ],
)
def test_an_outcome_is_saved_with_one_status(outcome: Outcome, status: SegmentStatus) -> None:
    assert SegmentStatus.of_outcome(outcome) is status


def test_every_error_kind_has_a_title_keyed_by_the_kind_itself() -> None:
    assert set(ERROR_TITLES) == set(ErrorKind)
    assert error_title(str(ErrorKind.AUTH)) == "Key rejected."
    assert error_title("") == error_title("no-such-kind") == "Error."
    assert Segment(error_kind=ErrorKind.UNSAFE_URL).error_title == "Base URL refused."


def test_every_segment_status_has_a_word_and_a_colour() -> None:
    words = {status: (status.state, status.tone) for status in SegmentStatus}
    assert words[SegmentStatus.ERROR] == ("failed", "danger")
    assert words[SegmentStatus.PENDING] == words[SegmentStatus.RUNNING] == ("streaming", "accent")
    assert [s for s in SegmentStatus if not s.is_final] == [
        SegmentStatus.PENDING,
        SegmentStatus.RUNNING,
    ]
    assert not SegmentStatus.SKIPPED.was_sent and SegmentStatus.ERROR.was_sent


def test_a_saved_status_reads_back_as_its_choice() -> None:
    # Loaded from the database a status is a plain string; `state` gives the choice back.
    assert Run(status="running").state is RunStatus.RUNNING and RunStatus.RUNNING.is_running
    assert not Run(status="stopped").state.is_running
    assert Segment(status="interrupted").state.was_interrupted


def test_the_column_badge_reads_the_mapping() -> None:
    live = render_to_string("runs/_column.html#status-badge", {"verdict": ColumnVerdict("pending")})
    failed = render_to_string("runs/_column.html#status-badge", {"verdict": ColumnVerdict("error")})
    assert '<span class="badge badge-accent status-live">Streaming</span>' in live
    assert '<span class="badge badge-danger">Failed</span>' in failed


@pytest.mark.django_db
def test_the_run_bar_and_the_history_row_read_the_run_status(alice: object) -> None:
    run = Run.objects.create(user=alice, status="running")
    RunColumn.objects.create(run=run, position=0, provider="deepseek", model="deepseek-chat")
    run = Run.objects.get(pk=run.pk)  # the status as the database gives it back: a string
    bar = render_to_string(
        "runs/_run.html#run-status", {"run": run, "status": run.state, "column_count": 2}
    )
    history = render_to_string("runs/_run.html#history-status", {"run": run})
    assert "Stop all" in bar and "Diff" not in bar
    assert '<span class="badge badge-accent">Running</span>' in history

    Run.objects.filter(pk=run.pk).update(status=RunStatus.STOPPED)
    run = Run.objects.get(pk=run.pk)
    bar = render_to_string(
        "runs/_run.html#run-status", {"run": run, "status": run.state, "column_count": 2}
    )
    history = render_to_string("runs/_run.html#history-status", {"run": run})
    assert "Stop all" not in bar and "Diff" in bar and 'data-run-state="stopped"' in bar
    assert 'data-run-state="stopped"' in history and "Running" not in history
