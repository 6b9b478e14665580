"""Tool (function) calling as plain data: definitions, the choice, calls, results, stream deltas.

Pure frozen dataclasses, no Django and no I/O. A request carries `tools` and `tool_choice`;
a continuation carries `ToolRound`s (the calls the model made and the results the user gave).
A stream yields `ToolCallDelta`s: the first fragment of a call has its id and name, later ones
only more argument text; `ToolCallAssembler` folds them into whole `ToolCall`s. See
docs/providers-tools.md for each dialect's wire shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Literal

ToolChoiceMode = Literal["auto", "none", "required", "function"]
NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TOOLS = 128  # DeepSeek's and OpenAI's documented limit; the most any catalogued API takes


@dataclass(frozen=True)
class ToolDef:
    """One function the model may call: its name, what it does, its JSON Schema parameters.

    `result` is the template's canned answer to a call of this tool, offered when the user
    answers calls; it belongs to the playground, and no dialect sends it.
    """

    name: str
    description: str = ""
    parameters: dict[str, object] | None = None
    strict: bool = False
    result: str = ""

    def schema(self) -> dict[str, object]:
        """Return the parameters schema, an empty object schema when none was given."""
        if self.parameters is not None:
            return self.parameters
        return {"type": "object", "properties": {}}


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model may, must not, or must call a tool (`function`: the one named)."""

    mode: ToolChoiceMode = "auto"
    name: str = ""

    @property
    def forces_call(self) -> bool:
        """Return whether the model is made to call a tool (required, or a named function)."""
        return self.mode in ("required", "function")


@dataclass(frozen=True)
class ToolCall:
    """A whole call the model made: its id, the function's name and the arguments' JSON text."""

    id: str
    name: str
    arguments: str

    def parsed(self) -> object:
        """Return the arguments as JSON, or raise ValueError when they are not valid JSON."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass(frozen=True)
class ToolResult:
    """What the user (or a template's canned result) answers to the call `call_id`."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolRound:
    """One turn of tool use: the assistant's calls (with any text and reasoning it wrote
    before them) and the results that answer them, in the order they are sent back."""

    calls: tuple[ToolCall, ...]
    results: tuple[ToolResult, ...]
    text: str = ""
    reasoning: str = ""

    def call_named(self, call_id: str) -> ToolCall | None:
        """Return the call with `call_id`, if this round has it."""
        return next((call for call in self.calls if call.id == call_id), None)


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call.

    `index` tells parallel calls apart (stable within one response). The first piece of a
    call carries `id` and `name`; every piece may carry more `arguments` text, which can be
    split anywhere, even inside a JSON string or number.
    """

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """Fold `ToolCallDelta`s into whole calls, in the order they began."""

    def __init__(self) -> None:
        self._order: list[int] = []
        self._ids: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self._arguments: dict[int, list[str]] = {}

    def next_index(self) -> int:
        """Return an index no call has used yet (for providers that number nothing)."""
        return max(self._order, default=-1) + 1

    def feed(self, delta: ToolCallDelta) -> None:
        """Add one piece."""
        index = delta.index
        if index not in self._arguments:
            self._order.append(index)
            self._arguments[index] = []
        if delta.id and not self._ids.get(index):
            self._ids[index] = delta.id
        if delta.name and not self._names.get(index):
            self._names[index] = delta.name
        if delta.arguments:
            self._arguments[index].append(delta.arguments)

    def calls(self) -> tuple[ToolCall, ...]:
        """Return the calls so far; a call without an id gets `call_<index>`."""
        return tuple(
            ToolCall(
                self._ids.get(index) or f"call_{index}",
                self._names.get(index, ""),
                "".join(self._arguments[index]),
            )
            for index in self._order
        )

    def __bool__(self) -> bool:
        return bool(self._order)


def with_index(delta: ToolCallDelta, index: int) -> ToolCallDelta:
    """Return `delta` renumbered."""
    return replace(delta, index=index)
