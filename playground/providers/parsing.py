"""Pieces every response parser shares: the items parsers emit, finish reasons, token usage.

A parser turns one unit of a response (an SSE event, an NDJSON line, a whole JSON body) into a
list of items: events for the caller, plus two markers for the stream reader — DONE (the
provider's end-of-stream signal) and MALFORMED (a unit that could not be read).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import cast

from playground.providers.base import (
    Finish,
    FinishReason,
    ReasoningDelta,
    TextDelta,
    Usage,
)
from playground.providers.errors import ProviderError
from playground.providers.tools import ToolCallDelta


class Marker(Enum):
    DONE = "done"
    MALFORMED = "malformed"


Item = TextDelta | ReasoningDelta | ToolCallDelta | Usage | Finish | ProviderError | Marker

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
}


def load_object(text: str) -> dict[str, object] | None:
    """Return `text` parsed as a JSON object, or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return cast(dict[str, object], value) if isinstance(value, dict) else None


def as_dict(value: object) -> dict[str, object]:
    """Return `value` if it is a JSON object, else an empty one."""
    return cast(dict[str, object], value) if isinstance(value, dict) else {}


def as_text(value: object) -> str:
    """Return `value` if it is a string, else an empty one."""
    return value if isinstance(value, str) else ""


def finish(raw: str, stop_sequence: object = None) -> Finish:
    """Return the Finish event for a provider's raw finish reason."""
    matched = stop_sequence if isinstance(stop_sequence, str) else None
    return Finish(FINISH_REASONS.get(raw, "other"), raw, matched)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage(data: object) -> Usage | None:
    """Return the token usage in any known shape (OpenAI, DeepSeek, Kimi, Anthropic, Ollama)."""
    if not isinstance(data, dict):
        return None
    cached = _first(data, "prompt_cache_hit_tokens", "cached_tokens", "cache_read_input_tokens")
    if cached is None:
        cached = _count(as_dict(data.get("prompt_tokens_details")).get("cached_tokens"))
    found = Usage(
        input_tokens=_first(data, "prompt_tokens", "input_tokens", "prompt_eval_count"),
        output_tokens=_first(data, "completion_tokens", "output_tokens", "eval_count"),
        cached_input_tokens=cached,
    )
    return None if found == Usage(None, None, None) else found


def _first(data: dict[str, object], *names: str) -> int | None:
    for name in names:
        count = _count(data.get(name))
        if count is not None:
            return count
    return None
