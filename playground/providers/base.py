"""The data that goes into the provider layer and the events that come out of it.

Everything here is a frozen dataclass of plain values: no Django, no settings, no I/O.
The key travels only inside `Target` (hidden from its repr) and `PreparedCall.headers`
(hidden from its repr; `redacted()` replaces it with a placeholder).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from playground.providers.errors import ProviderError
from playground.providers.tools import ToolCallDelta, ToolChoice, ToolDef, ToolRound

KEY_PLACEHOLDER = "[redacted]"


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation before the prefix; images only on user turns."""

    role: Literal["user", "assistant"]
    content: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletionRequest:
    """What to ask: the conversation, the assistant prefix to continue, and the parameters."""

    model: str
    prefix: str
    turns: tuple[Turn, ...] = ()
    system: str = ""
    reasoning_prefix: str = ""
    suffix: str | None = None
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    thinking: bool | None = None
    speaker_name: str = ""
    json_mode: bool = False
    stream: bool = True
    # Tool calling (providers/tools.py): the functions offered, whether one must be called,
    # and the rounds of calls and results that come after `turns` and before the prefix.
    tools: tuple[ToolDef, ...] = ()
    tool_choice: ToolChoice | None = None
    tool_rounds: tuple[ToolRound, ...] = ()


@dataclass(frozen=True)
class Target:
    """Where to ask: a catalogued provider, its base URL and the key (never shown)."""

    provider: str
    base_url: str
    api_key: str = field(repr=False)
    dialect: str = ""


@dataclass(frozen=True)
class PreparedCall:
    """The exact HTTP request for one completion, plus notes on adjustments made to it."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, object]
    notes: tuple[str, ...] = ()
    secret_headers: tuple[str, ...] = ()

    def redacted(self) -> PreparedCall:
        """Return a copy with the key replaced by a placeholder in every header."""
        headers = {
            name: _redact_value(value) if name in self.secret_headers else value
            for name, value in self.headers.items()
        }
        return replace(self, headers=headers)

    def __repr__(self) -> str:
        redacted = self.redacted()
        return (
            f"PreparedCall(method={self.method!r}, url={self.url!r}, "
            f"headers={redacted.headers!r}, body={self.body!r}, notes={self.notes!r})"
        )


def _redact_value(value: str) -> str:
    # Keep the scheme word ("Bearer") so Inspect still shows how the key is sent.
    scheme, _, _ = value.partition(" ")
    return f"{scheme} {KEY_PLACEHOLDER}" if scheme == "Bearer" else KEY_PLACEHOLDER


@dataclass(frozen=True)
class TextDelta:
    """A piece of the continuation, relative to the user's original prefix."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's reasoning (thinking) stream."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them."""

    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None = None

    def merged(self, newer: Usage) -> Usage:
        """Return these counts updated with every count `newer` reports."""
        return Usage(
            input_tokens=_newer(self.input_tokens, newer.input_tokens),
            output_tokens=_newer(self.output_tokens, newer.output_tokens),
            cached_input_tokens=_newer(self.cached_input_tokens, newer.cached_input_tokens),
        )


def _newer(old: int | None, new: int | None) -> int | None:
    return old if new is None else new


FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


@dataclass(frozen=True)
class Finish:
    """The end of a successful completion: why it stopped and which stop string matched.

    `notes` are caveats about how the stream was delivered (an unreadable chunk skipped, no
    end marker); the text is complete by the provider's own account, so they are not errors.
    """

    reason: FinishReason
    raw_reason: str | None = None
    stop_sequence: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deadlines:
    """Seconds allowed until the first token, between data events, and for the whole request."""

    first_token: float = 60.0
    stall: float = 60.0
    total: float = 600.0


Event = TextDelta | ReasoningDelta | ToolCallDelta | Usage | Finish | ProviderError

DEFAULT_DEADLINES = Deadlines()
