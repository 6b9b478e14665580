"""The prompt: its parts under one set of names, its JSON codec and its stop-sequence codec.

A `Prompt` is what a template holds, what the editor and the compare page edit, what a run
sends and what a revision, an export and a column download record: the system prompt, the
turns before the prefix (with their images), the assistant prefix, the reasoning prefix, the
FIM suffix, the stop sequences, the sampling parameters, the speaker name and the notes on its
`{{variables}}`, and the tools the model may call with the choice among them. The names here
are the names of the exchange format (docs/template-schema.md), and everything else maps to
them: database columns in one place per model, form fields in one form codec
(playground/prompts/forms.py).

It lives in the provider layer because it is made of the provider layer's `Turn` and turns into
a `CompletionRequest` (`Prompt.request`); like the rest of this package it is pure Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from playground.providers.base import CompletionRequest, Turn
from playground.providers.tools import ToolChoice, ToolDef

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Parameters:
    """Sampling parameters; None leaves the provider's default."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None

    def to_json(self) -> dict[str, float | int | None]:
        """Return every parameter, None included (the exchange format's `parameters`)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "top_p": self.top_p}

    def given(self) -> dict[str, float | int]:
        """Return only the parameters that are set."""
        return {name: value for name, value in self.to_json().items() if value is not None}

    @classmethod
    def from_json(cls, data: object) -> Parameters:
        """Return the parameters in `data` (a dict; missing or null entries are unset)."""
        values = data if isinstance(data, Mapping) else {}
        return cls(
            temperature=_number(values.get("temperature")),
            max_tokens=_whole(values.get("max_tokens")),
            top_p=_number(values.get("top_p")),
        )


@dataclass(frozen=True)
class Variable:
    """A `{{name}}` used by a prompt; `default` None means a run must supply a value."""

    name: str
    default: str | None = None
    description: str = ""

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "default": self.default, "description": self.description}

    @classmethod
    def from_json(cls, data: object) -> Variable:
        values = data if isinstance(data, Mapping) else {}
        default = values.get("default")
        return cls(
            name=_text(values.get("name")),
            default=default if isinstance(default, str) else None,
            description=_text(values.get("description")),
        )


@dataclass(frozen=True)
class Prompt:
    """Everything sent to a model for one completion, as written (or rendered).

    `suffix` "" means no fill-in-the-middle; `variables` are the notes (default, description)
    on the variables the texts use, empty once a prompt is rendered.
    """

    system: str = ""
    turns: tuple[Turn, ...] = ()
    prefix: str = ""
    reasoning_prefix: str = ""
    suffix: str = ""
    stop: tuple[str, ...] = ()
    parameters: Parameters = field(default_factory=Parameters)
    speaker_name: str = ""
    variables: tuple[Variable, ...] = ()
    tools: tuple[ToolDef, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)

    # ----- the JSON codec (exchange format, revisions, run storage, downloads) -----

    def to_json(self) -> dict[str, object]:
        """Return the prompt in the exchange format; `speaker_name`, `tools` and `tool_choice`
        only when set (tools non-empty, choice other than auto).

        Written only when set so that contents saved before the fields existed compare equal.
        """
        data: dict[str, object] = {
            "system": self.system,
            "turns": [turn_to_json(turn) for turn in self.turns],
            "prefix": self.prefix,
            "reasoning_prefix": self.reasoning_prefix,
            "suffix": self.suffix,
            "stop": list(self.stop),
            "parameters": self.parameters.to_json(),
            "variables": [variable.to_json() for variable in self.variables],
        }
        if self.speaker_name:
            data["speaker_name"] = self.speaker_name
        if self.tools:
            data["tools"] = [tool_to_json(tool) for tool in self.tools]
        if self.tool_choice != ToolChoice():
            data["tool_choice"] = choice_to_json(self.tool_choice)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Prompt:
        """Return the prompt held in `data` (exchange format; missing parts are empty).

        `data` is trusted: documents from outside are checked by playground/prompts/schema.py
        first. Values of the wrong type read as empty rather than raising.
        """
        return cls(
            system=_text(data.get("system")),
            turns=tuple(turn_from_json(turn) for turn in _list(data.get("turns"))),
            prefix=_text(data.get("prefix")),
            reasoning_prefix=_text(data.get("reasoning_prefix")),
            suffix=_text(data.get("suffix")),
            stop=tuple(stop for stop in _list(data.get("stop")) if isinstance(stop, str)),
            parameters=Parameters.from_json(data.get("parameters")),
            speaker_name=_text(data.get("speaker_name")),
            variables=tuple(Variable.from_json(item) for item in _list(data.get("variables"))),
            tools=tuple(tool_from_json(item) for item in _list(data.get("tools"))),
            tool_choice=choice_from_json(data.get("tool_choice")),
        )

    # ----- derived prompts -----

    def continued(self, prefix: str, reasoning_prefix: str) -> Prompt:
        """Return the prompt with another prefix: Continue sends the text so far as the prefix."""
        return replace(self, prefix=prefix, reasoning_prefix=reasoning_prefix)

    def request(
        self, model: str, *, thinking: bool | None = None, json_mode: bool = False
    ) -> CompletionRequest:
        """Return the provider request that sends this prompt to `model`."""
        return CompletionRequest(
            model=model,
            prefix=self.prefix,
            turns=self.turns,
            system=self.system,
            reasoning_prefix=self.reasoning_prefix,
            suffix=self.suffix or None,
            stop=self.stop,
            max_tokens=self.parameters.max_tokens,
            temperature=self.parameters.temperature,
            top_p=self.parameters.top_p,
            thinking=thinking,
            speaker_name=self.speaker_name,
            json_mode=json_mode,
            tools=self.tools,
            tool_choice=self.tool_choice if self.tools else None,
        )


def turn_to_json(turn: Turn) -> dict[str, object]:
    """Return one turn in the exchange format."""
    return {"role": turn.role, "content": turn.content, "images": list(turn.images)}


def turn_from_json(data: object) -> Turn:
    """Return the turn held in `data` (exchange format; `images` may be missing)."""
    values = data if isinstance(data, Mapping) else {}
    role = values.get("role")
    return Turn(
        role="assistant" if role == "assistant" else "user",
        content=_text(values.get("content")),
        images=tuple(url for url in _list(values.get("images")) if isinstance(url, str)),
    )


def tool_to_json(tool: ToolDef) -> dict[str, object]:
    """Return one tool definition in the exchange format (`parameters`, `strict` and the
    canned `result` only when set)."""
    data: dict[str, object] = {"name": tool.name, "description": tool.description}
    if tool.parameters is not None:
        data["parameters"] = tool.parameters
    if tool.strict:
        data["strict"] = True
    if tool.result:
        data["result"] = tool.result
    return data


def tool_from_json(data: object) -> ToolDef:
    """Return the tool definition held in `data` (trusted: checked by prompts/tool_defs.py)."""
    values = data if isinstance(data, Mapping) else {}
    parameters = values.get("parameters")
    return ToolDef(
        name=_text(values.get("name")),
        description=_text(values.get("description")),
        parameters=dict(parameters) if isinstance(parameters, Mapping) else None,
        strict=values.get("strict") is True,
        result=_text(values.get("result")),
    )


def choice_to_json(choice: ToolChoice) -> object:
    """Return the tool choice in the exchange format: a word, or `{"type": "function", "name"}`."""
    if choice.mode == "function":
        return {"type": "function", "name": choice.name}
    return choice.mode


def choice_from_json(data: object) -> ToolChoice:
    """Return the tool choice held in `data`; anything unknown reads as auto."""
    if data == "none":
        return ToolChoice("none")
    if data == "required":
        return ToolChoice("required")
    if isinstance(data, Mapping) and data.get("type") == "function":
        name = _text(data.get("name"))
        return ToolChoice("function", name) if name else ToolChoice()
    return ToolChoice()


# ----- the stop-sequence codec (one text field holds several stops) -----

STOP_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}
STOP_ESCAPE_RE = re.compile(r"\\([nt\\])")
STOP_HELP = (
    r"One per line. Write a newline as \n, a tab as \t and a backslash as \\ "
    r"(so \\n is a backslash followed by n). Spaces count."
)


def stops_to_text(stops: Iterable[str]) -> str:
    r"""Return stop sequences as form text: one per line, newline, tab and backslash escaped.

    The inverse of `stops_from_text`: a stop holding a real newline is written `\n`, one holding
    the two characters backslash and n is written `\\n`, and both come back as they were.
    """
    return "\n".join(
        stop.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") for stop in stops
    )


def stops_from_text(text: str) -> tuple[str, ...]:
    r"""Return the stop sequences written one per line in `text` (empty lines are skipped).

    `\n`, `\t` and `\\` stand for a newline, a tab and a backslash; a backslash before any other
    character is kept as written. Browser line breaks (\r\n, \r) separate lines like \n.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return tuple(
        STOP_ESCAPE_RE.sub(lambda match: STOP_ESCAPES[match.group(1)], line)
        for line in lines
        if line
    )


# ----- reading trusted JSON values -----


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _whole(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
