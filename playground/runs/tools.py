"""What a column's tools show: the request as code, the exchange as recorded, two columns' diff.

None of it reaches a key: exports are built from a target holding a stand-in key, which the provider
layer writes as an environment-variable placeholder, and recorded requests were redacted by the
provider layer before they were saved.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playground.providers import ProviderError, Target, get_provider, to_curl, to_python
from playground.providers.errors import scrub

from .diff import Piece, compare
from .models import RunColumn, Segment
from .streaming import completion_request, upload_resolver
from .tool_calls import CallView, call_views

# Any non-empty stand-in: the export writes the provider's environment variable instead.
KEY_STAND_IN = "key-from-environment"


def _target(column: RunColumn) -> Target:
    return Target(
        provider=column.provider,
        base_url=column.base_url,
        api_key=KEY_STAND_IN,
        dialect=column.dialect,
    )


@dataclass(frozen=True)
class ColumnCode:
    curl: str
    python: str
    key_env: str
    refusal: str = ""


DATA_URL_RE = re.compile(r"(data:image/[a-z+.-]+;base64,)[A-Za-z0-9+/=]{200,}")


def _shorten_images(code: str) -> str:
    # An uploaded image travels inline as base64; the export keeps its place, not its bytes.
    return DATA_URL_RE.sub(r"\1<base64 of your image>", code)


def column_code(column: RunColumn, segment: Segment) -> ColumnCode:
    """Return the segment's request as a curl command and a Python script."""
    # upload_resolver skips malformed upload references (they stay as written).
    request = completion_request(column.run, column, segment, upload_resolver(column.run))
    target = _target(column)
    try:
        key_env = get_provider(column.provider).key_env
    except KeyError:
        key_env = ""
    try:
        curl, python = to_curl(target, request), to_python(target, request)
        return ColumnCode(_shorten_images(curl), _shorten_images(python), key_env)
    except ProviderError as refusal:
        return ColumnCode("", "", key_env, refusal=refusal.message)


def pretty_json(value: object) -> str:
    """Return `value` as indented JSON, keeping non-ASCII text readable."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Exchange:
    segment: Segment
    request_headers: str
    request_body: str
    response: str
    # The tools as sent, in the dialect's own shape (the request body's "tools" and
    # "tool_choice", pretty-printed), and the calls received, each with its verdict.
    tools_sent: str = ""
    tool_choice_sent: str = ""
    calls: tuple[CallView, ...] = ()


def exchanges(column: RunColumn) -> list[Exchange]:
    """Return each segment's request as sent and response as received, for Inspect.

    The response is scrubbed of the column's key again, for exchanges saved before the
    provider layer caught escaped keys.
    """
    credential = column.credential  # None (no query) once its credential was deleted
    secret = credential.target().api_key if credential is not None else ""
    offered = column.run.prompt.tools
    found = []
    for segment in column.segment_list:
        dump = segment.request_dump or {}
        headers = "\n".join(f"{name}: {value}" for name, value in dump.get("headers", {}).items())
        body = dump.get("body")
        body = body if isinstance(body, dict) else {}
        found.append(
            Exchange(
                segment=segment,
                request_headers=headers,
                request_body=pretty_json(body) if dump else "",
                response=scrub(segment.response_raw, secret),
                tools_sent=pretty_json(body["tools"]) if body.get("tools") else "",
                tool_choice_sent=pretty_json(body["tool_choice"]) if "tool_choice" in body else "",
                calls=tuple(call_views(segment.tool_calls, offered)) if segment.tool_calls else (),
            )
        )
    return found


@dataclass(frozen=True)
class CallSide:
    """One column's calls, as the diff lists them above the comparison."""

    label: str
    calls: tuple[CallView, ...]


@dataclass(frozen=True)
class CallsDiff:
    """Two columns' tool calls side by side, and the word diff of their written form."""

    sides: tuple[CallSide, CallSide]
    pieces: list[Piece]
    similarity: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnDiff:
    left: RunColumn
    right: RunColumn
    pieces: list[Piece]
    similarity: float
    notes: tuple[str, ...] = ()
    calls: CallsDiff | None = None


def column_calls(column: RunColumn) -> tuple[CallView, ...]:
    """Return every tool call of a column, part by part, each checked against the run's tools."""
    offered = column.run.prompt.tools
    return tuple(
        call
        for segment in column.segment_list
        if segment.tool_calls
        for call in call_views(segment.tool_calls, offered)
    )


def calls_text(calls: tuple[CallView, ...]) -> str:
    """Return the calls as the diff compares them: each name, then its pretty arguments."""
    return "\n\n".join(f"{call.name}\n{call.pretty}" for call in calls)


def diff_calls(left: RunColumn, right: RunColumn) -> CallsDiff | None:
    """Return the diff of two columns' tool calls, or None when neither made any.

    The written calls go through the same bounded matcher as the texts (runs/diff.py)."""
    before, after = column_calls(left), column_calls(right)
    if not before and not after:
        return None
    result = compare(calls_text(before), calls_text(after))
    sides = (CallSide(_label(left), before), CallSide(_label(right), after))
    return CallsDiff(sides, result.pieces, round(result.similarity * 100, 1), tuple(result.notes))


def _label(column: RunColumn) -> str:
    return f"{column.position + 1}. {column.provider_name} · {column.model}"


def diff_columns(left: RunColumn, right: RunColumn) -> ColumnDiff:
    """Return the word-level diff of two columns' full texts (prefix and continuation), and
    of their tool calls when they made any."""
    result = compare(left.full_text, right.full_text)
    return ColumnDiff(
        left,
        right,
        result.pieces,
        round(result.similarity * 100, 1),
        tuple(result.notes),
        diff_calls(left, right),
    )


def column_export(column: RunColumn) -> dict[str, Any]:
    """Return a column's whole exchange as JSON-ready data, without the key.

    The prompt is the one JSON form of a prompt (`parameters`, `speaker_name` when set).
    Each part carries the request as Inspect shows it (`request_dump`, redacted by the provider
    layer before it was saved) and the response as it arrived; no credential field is included.
    """
    run = column.run
    return {
        "run": str(run.code),
        "created_at": run.created_at.isoformat(),
        "provider": column.provider,
        "dialect": column.dialect,
        "model": column.model,
        "simulator": column.is_simulator,
        "overrides": column.overrides,
        # The prompt as sent, in the exchange format (playground/providers/prompt.py), and the
        # values its variables were filled in with.
        "prompt": run.prompt.to_json(),
        "variable_values": run.variables,
        "continuation": column.text,
        "full_text": column.full_text,
        "reasoning": column.reasoning,
        "parts": [_segment_export(segment) for segment in column.segment_list],
    }


def _segment_export(segment: Segment) -> dict[str, Any]:
    return {
        "index": segment.index,
        "status": segment.status,
        "prefix": segment.prefix,
        "text": segment.text,
        "reasoning": segment.reasoning,
        "finish_reason": segment.finish_reason,
        "stop_sequence": segment.stop_sequence,
        # The calls as saved: [{"id", "name", "arguments"}], the arguments' JSON text as written.
        "tool_calls": segment.tool_calls,
        "error": {"kind": segment.error_kind, "message": segment.error_message}
        if segment.error_kind or segment.error_message
        else None,
        "notes": segment.notes,
        # The results this part sent back for the previous part's calls: [{"call_id", "content"}].
        "tool_results": segment.tool_results,
        "usage": {"input_tokens": segment.input_tokens, "output_tokens": segment.output_tokens},
        "ttft_ms": segment.ttft_ms,
        "elapsed_ms": segment.elapsed_ms,
        "cost": None if segment.cost is None else str(segment.cost),
        "currency": segment.currency,
        "request": segment.request_dump,
        "response_status": segment.response_status,
        "response_raw": segment.response_raw,
    }


def download_name(column: RunColumn, extension: str, *, blinded: bool = False) -> str:
    """Return a file name for a column's download: run, column number and model, ASCII only.

    `blinded` (a blind run before the viewer's verdict): run and column letter only.
    """
    if blinded:
        letter = column.run.letter_of(column.position)
        return f"run-{str(column.run.code)[:8]}-column-{letter}.{extension}"
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", column.model).strip("-.")[:60] or "model"
    return f"run-{str(column.run.code)[:8]}-col{column.position + 1}-{model}.{extension}"
