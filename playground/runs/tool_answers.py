"""Answering a column's tool calls: the results typed (or canned), and the rounds they make.

A column whose last segment ended with tool calls can be answered: the user gives one result
per call (the form is prefilled with each tool's canned `result` from the prompt), and a new
segment is queued, like Continue, whose request is the same prompt plus every round so far
(`ToolRound(calls, results, text, reasoning)`, docs/providers-tools.md). The answer segment
keeps the results it sent (`Segment.tool_results`); the calls stay on the segment that made
them (`Segment.tool_calls`), so each round is read back from the two.

A column's segments fall into turns: a turn starts at segment 0 and at each answer segment,
and Continue segments extend the turn they follow. A turn that ended with calls, followed by an
answer segment, is one round: its text (the turn's prefix and everything it streamed) and
reasoning go back with the calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from playground.prompts.tool_defs import MAX_TOOL_RESULT, result_problem
from playground.providers.tools import ToolCall, ToolDef, ToolResult, ToolRound

from .status import SegmentStatus

if TYPE_CHECKING:
    from .models import Segment

# Rounds of tool calls one column may answer; each is another request to the provider.
MAX_TOOL_ROUNDS = 8
# The answer form's fields: result-<number of the call>, 1 first. Not the call's id: its shape
# names the provider ("toolu_…" is Anthropic's), which a blind run hides (docs/verdicts.md).
RESULT_FIELD = "result-"


class SavedSegment(Protocol):
    """What the rounds are read from: a segment's texts, calls and results (models.Segment)."""

    prefix: str
    reasoning_prefix: str
    text: str
    reasoning: str
    tool_calls: object
    tool_results: object


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def calls_from_json(saved: object) -> tuple[ToolCall, ...]:
    """Return the calls saved on a segment (`Segment.tool_calls`)."""
    items = saved if isinstance(saved, list) else []
    return tuple(
        ToolCall(_text(item.get("id")), _text(item.get("name")), _text(item.get("arguments")))
        for item in items
        if isinstance(item, dict)
    )


def results_to_json(results: Iterable[ToolResult]) -> list[dict[str, str]]:
    """Return results as an answer segment saves them."""
    return [{"call_id": result.call_id, "content": result.content} for result in results]


def results_from_json(saved: object) -> tuple[ToolResult, ...]:
    """Return the results saved on an answer segment (`Segment.tool_results`)."""
    items = saved if isinstance(saved, list) else []
    return tuple(
        ToolResult(_text(item.get("call_id")), _text(item.get("content")))
        for item in items
        if isinstance(item, dict)
    )


def rounds_of(segments: Sequence[SavedSegment]) -> tuple[ToolRound, ...]:
    """Return the rounds the last of `segments` sends: every earlier turn that ended with calls,
    answered by the segment after it (segments in order, up to and including the one sent)."""
    rounds: list[ToolRound] = []
    turn: list[SavedSegment] = []
    for segment in segments:
        if segment.tool_results and turn:
            first, last = turn[0], turn[-1]
            rounds.append(
                ToolRound(
                    calls=calls_from_json(last.tool_calls),
                    results=results_from_json(segment.tool_results),
                    text=first.prefix + "".join(part.text for part in turn),
                    reasoning=first.reasoning_prefix + "".join(part.reasoning for part in turn),
                )
            )
            turn = []
        turn.append(segment)
    return tuple(rounds)


def turn_so_far(segments: Sequence[SavedSegment]) -> tuple[str, str]:
    """Return (text, reasoning) of the current turn: what Continue sends as the new prefixes."""
    start = max((i for i, segment in enumerate(segments) if segment.tool_results), default=0)
    turn = segments[start:]
    if not turn:
        return "", ""
    return (
        turn[0].prefix + "".join(segment.text for segment in turn),
        turn[0].reasoning_prefix + "".join(segment.reasoning for segment in turn),
    )


def rounds_answered(segments: Iterable[SavedSegment]) -> int:
    """Return how many rounds of calls a column has answered."""
    return sum(1 for segment in segments if segment.tool_results)


def waits_for_results(segment: Segment | None) -> bool:
    """Return whether `segment` ended with calls the user may answer (done, with calls)."""
    return (
        segment is not None
        and segment.status == SegmentStatus.DONE
        and bool(calls_from_json(segment.tool_calls))
    )


@dataclass(frozen=True)
class PendingCall:
    """One call the answer form asks a result for."""

    id: str
    name: str
    field: str
    canned: str
    value: str  # what the form shows: the canned result, or what was typed

    def typed(self, form: Mapping[str, str]) -> PendingCall:
        """Return this call showing what `form` holds for it (a refused form keeps it)."""
        return replace(self, value=form.get(self.field, ""))


def pending_calls(segment: Segment, tools: Iterable[ToolDef]) -> list[PendingCall]:
    """Return the calls of `segment` to answer, each with its tool's canned result ("" if none)."""
    canned = {tool.name: tool.result for tool in tools}
    calls = []
    for number, call in enumerate(calls_from_json(segment.tool_calls), start=1):
        result = canned.get(call.name, "")
        calls.append(PendingCall(call.id, call.name, f"{RESULT_FIELD}{number}", result, result))
    return calls


class AnswerProblem(ValueError):
    """Results that cannot be sent; the message says why (the form shows it, 422)."""


def typed_results(
    calls: Sequence[PendingCall], typed: Mapping[str, str], scrub: Callable[[str], str]
) -> tuple[ToolResult, ...]:
    """Return one result per call from the typed form `typed` (`result-<number>` fields),
    scrubbed of the column's key; raise AnswerProblem naming the call that is empty or too
    long."""
    results = []
    for number, call in enumerate(calls, start=1):
        content = typed.get(call.field, "").replace("\r\n", "\n")
        where = f"The result for call {number} ({call.name[:64]})"
        if not content.strip():
            raise AnswerProblem(f"{where} is empty: type what the tool returned.")
        problem = result_problem(content)
        if problem:
            raise AnswerProblem(f"{where}: {problem}.")
        results.append(ToolResult(call.id, scrub(content)))
    return tuple(results)


def canned_results(
    calls: Sequence[PendingCall], scrub: Callable[[str], str]
) -> tuple[ToolResult, ...]:
    """Return the canned result of each call's tool; AnswerProblem when a tool has none."""
    missing = sorted({call.name for call in calls if not call.canned})
    if missing:
        raise AnswerProblem(
            f'No canned result for {", ".join(missing)[:200]}: add a "result" to that tool '
            "in the template's Tools, or answer the column by hand."
        )
    return tuple(ToolResult(call.id, scrub(call.canned[:MAX_TOOL_RESULT])) for call in calls)


@dataclass(frozen=True)
class SentResult:
    """One result an answer segment sent, with the name of the call it answered."""

    name: str
    content: str


def sent_results(segment: SavedSegment, before: SavedSegment | None) -> list[SentResult]:
    """Return the results `segment` sent, named after the calls of the segment `before` it."""
    names = {call.id: call.name for call in calls_from_json(before.tool_calls)} if before else {}
    return [
        SentResult(names.get(result.call_id, result.call_id), result.content)
        for result in results_from_json(segment.tool_results)
    ]
