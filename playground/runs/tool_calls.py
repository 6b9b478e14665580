"""A column's tool calls: saved on the segment as JSON, shown with their verdict.

The relay assembles the calls as they stream (runs/relay.py); when the column ends they are
saved on the segment (`Segment.tool_calls`: `[{"id", "name", "arguments"}]`, the arguments'
JSON text as the model wrote it, the column's key scrubbed). Shown, each call's arguments are
pretty-printed when they parse, and checked against the schema of the tool it names with
`providers/schema_check.check_arguments`: "valid", or "does not match the schema: <field>: ...".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.html import format_html

from playground.providers.schema_check import check_arguments
from playground.providers.tools import ToolCall, ToolDef

VALID = "valid"


@dataclass(frozen=True)
class CallView:
    """One saved call as a column shows it."""

    id: str
    name: str
    arguments: str
    pretty: str
    verdict: str

    @property
    def valid(self) -> bool:
        return self.verdict == VALID


def calls_to_json(calls: Iterable[ToolCall], scrub: Callable[[str], str]) -> list[dict[str, str]]:
    """Return the calls as saved on a segment, each text scrubbed of the column's key."""
    return [
        {"id": scrub(call.id), "name": scrub(call.name), "arguments": scrub(call.arguments)}
        for call in calls
    ]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def verdict(call: ToolCall, tools: Iterable[ToolDef]) -> str:
    """Return "valid", or why the call does not fit the tools the prompt offered."""
    tool = next((tool for tool in tools if tool.name == call.name), None)
    if tool is None:
        return f"does not match the schema: calls {call.name[:80]!r}, which is not one of the tools"
    mismatch = check_arguments(call.arguments, tool.schema())
    return VALID if mismatch is None else str(mismatch)


def pretty(arguments: str) -> str:
    """Return the arguments indented when they are JSON, else as written."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def call_views(saved: object, tools: Iterable[ToolDef]) -> list[CallView]:
    """Return the calls saved on a segment (`Segment.tool_calls`), each with its verdict."""
    offered = tuple(tools)
    views = []
    for item in saved if isinstance(saved, list) else []:
        if not isinstance(item, dict):
            continue
        call = ToolCall(
            _text(item.get("id")), _text(item.get("name")), _text(item.get("arguments"))
        )
        views.append(
            CallView(
                call.id, call.name, call.arguments, pretty(call.arguments), verdict(call, offered)
            )
        )
    return views


def arguments_id(run_code: object, position: int, slot: int) -> str:
    """Return the id of a live call's argument block (the `col-N-tool-args` frames aim at it)."""
    return f"args-{run_code}-{position}-{slot}"


def live_call(run_code: object, position: int, slot: int, name: str) -> str:
    """Return the block a new call gets while it streams: its name now, its arguments after."""
    return format_html(
        '<div class="tool-call tool-call-live"><div class="tool-call-head">'
        '<span class="faint small">Calls</span> <code class="tool-name">{}</code></div>'
        '<pre class="tool-args" id="{}"></pre></div>',
        name,
        arguments_id(run_code, position, slot),
    )


def live_arguments(run_code: object, position: int, slot: int, escaped: str) -> str:
    """Return the out-of-band fragment appending `escaped` (already HTML-escaped) to a call."""
    target = arguments_id(run_code, position, slot)
    return f'<span hx-swap-oob="beforeend:#{target}">{escaped}</span>'
