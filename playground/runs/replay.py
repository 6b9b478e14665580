"""Replay: the frames that restore a finished run from the database, in the relay's protocol.

A stream opened for a run with nothing left to send (a reconnect, a finished run) gets these
instead of a relay: each column's body, metrics and end, then the run's status. It never calls
a provider. The protocol is the relay's (docs/streaming.md).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from django.template.loader import render_to_string

from playground.accounts.models import User

from .models import Run, RunColumn, summarize
from .relay import OPEN_FRAME, format_event
from .templatetags.run_tags import segment_metrics
from .tool_answers import waits_for_results
from .verdicts import ReferencePin


def replay_frames(run_pk: int, viewer_id: int | None = None) -> AsyncGenerator[str, None]:
    """Return the frames that restore run `run_pk` (sync: reads and renders everything now).

    A blind run replays blind until its reader (`viewer_id`; None: the owner) has judged it
    (docs/verdicts.md).
    """
    run = Run.objects.get(pk=run_pk)
    reader_id = viewer_id if viewer_id is not None else run.user_id
    blinded = run.hides_names_from(reader_id)
    reader = User.objects.filter(pk=reader_id).first() if run.template_id else None
    pin_offer = ReferencePin.objects.offer(reader, run) if reader else {}
    columns = RunColumn.objects.filter(run=run).prefetch_related("segments").order_by("position")
    frames = [OPEN_FRAME]
    for column in columns:
        context = {"run": run, "column": column, "blinded": blinded}
        last = column.last_segment
        body = render_to_string("runs/_column.html#column-body", context)
        end = render_to_string(
            "runs/_column.html#column-end",
            {**context, **pin_offer, "segment": last, "oob": True},
        )
        frames += [
            format_event(f"col-{column.position}-body", body),
            format_event(f"col-{column.position}-metrics", segment_metrics(last, blinded)),
            format_event(f"col-{column.position}-end", end),
        ]
    done = render_to_string(
        "runs/_run.html#run-status",
        {
            "run": run,
            "status": run.state,
            "summary": summarize(columns),
            "column_count": len(columns),
            "answerable": any(waits_for_results(column.last_segment) for column in columns),
            "blinded": blinded,
            "verdict_loader": True,
        },
    )
    frames.append(format_event("run-done", done))
    return _replay(frames)


async def _replay(frames: list[str]) -> AsyncGenerator[str, None]:
    for frame in frames:
        yield frame
