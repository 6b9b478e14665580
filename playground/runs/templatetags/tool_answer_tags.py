"""Template helpers for answering tool calls (templates/runs/_tool_answer.html)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from playground.runs.models import Run, RunColumn, Segment
from playground.runs.tool_answers import (
    PendingCall,
    SentResult,
    pending_calls,
    sent_results,
    waits_for_results,
)

register = template.Library()


@register.filter
def answer_calls(segment: Segment | None, run: Run) -> list[PendingCall]:
    """Return the calls a column that ended with them asks results for ([] otherwise)."""
    if segment is None or not waits_for_results(segment):
        return []
    return pending_calls(segment, run.prompt.tools)


@register.filter
def results_sent(segment: Segment, column: RunColumn) -> list[SentResult]:
    """Return the results an answer segment sent, each named after the call it answered."""
    if not segment.tool_results:
        return []
    earlier = [part for part in column.segment_list if part.index < segment.index]
    return sent_results(segment, earlier[-1] if earlier else None)


@register.filter
def any_waiting(columns: Iterable[RunColumn]) -> bool:
    """Return whether a column of the run ended with tool calls not answered yet."""
    return any(waits_for_results(column.last_segment) for column in columns)
