"""Reading tool calls out of each dialect's answer, as `ToolCallDelta`s.

OpenAI-style  delta.tool_calls[i] = {index, id?, type?, function: {name?, arguments}}:
              id and name on the first fragment of a call, argument text on any fragment
              (split anywhere); a whole body has message.tool_calls with whole arguments.
Anthropic     content_block_start with a tool_use block (id, name, input {} while
              streaming), then content_block_delta input_json_delta partial_json pieces;
              the block's index tells parallel calls apart.
Ollama        whole calls in message.tool_calls, arguments as an object, possibly one call
              per chunk; index -1 asks the exchange to number the call itself.
"""

from __future__ import annotations

import json

from playground.providers.parsing import as_dict, as_text
from playground.providers.tools import ToolCallDelta

UNNUMBERED = -1


def _arguments_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return ""


def _index(value: object, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def openai_tool_items(tool_calls: object) -> list[ToolCallDelta]:
    """Return the tool-call pieces in an OpenAI-style delta's (or message's) tool_calls."""
    if not isinstance(tool_calls, list):
        return []
    items = []
    for position, raw in enumerate(tool_calls):
        call = as_dict(raw)
        if not call:
            continue
        function = as_dict(call.get("function"))
        items.append(
            ToolCallDelta(
                index=_index(call.get("index"), position),
                id=as_text(call.get("id")),
                name=as_text(function.get("name")),
                arguments=_arguments_text(function.get("arguments")),
            )
        )
    return items


def anthropic_block_start(block: dict[str, object], index: object) -> list[ToolCallDelta]:
    """Return the start of a tool call when `block` is a tool_use block."""
    if block.get("type") != "tool_use":
        return []
    given = block.get("input")
    # While streaming the input starts as {} and arrives as partial_json; a whole body has it.
    arguments = _arguments_text(given) if given else ""
    return [
        ToolCallDelta(
            index=_index(index, 0),
            id=as_text(block.get("id")),
            name=as_text(block.get("name")),
            arguments=arguments,
        )
    ]


def anthropic_block_delta(delta: dict[str, object], index: object) -> list[ToolCallDelta]:
    """Return a piece of a tool call's input when `delta` is an input_json_delta."""
    if delta.get("type") != "input_json_delta":
        return []
    piece = as_text(delta.get("partial_json"))
    return [ToolCallDelta(index=_index(index, 0), arguments=piece)] if piece else []


def ollama_tool_items(message: dict[str, object]) -> list[ToolCallDelta]:
    """Return Ollama's whole tool calls in one message chunk."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    items = []
    for raw in calls:
        call = as_dict(raw)
        function = as_dict(call.get("function"))
        if not function:
            continue
        items.append(
            ToolCallDelta(
                index=_index(function.get("index"), UNNUMBERED),
                id=as_text(call.get("id")),
                name=as_text(function.get("name")),
                arguments=_arguments_text(function.get("arguments")) or "{}",
            )
        )
    return items
