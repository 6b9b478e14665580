"""How much text a prompt, a template and an import may hold: the input budget, in pure Python.

The values come from settings (each an environment variable, see docs/limits.md); the defaults
here are the same as settings.py's, and a test keeps the two in step. Everything that reads a
prompt checks it against a Budget *before* the expensive step (building the rendered prompt,
parsing a document, diffing), and every refusal names the limit and the setting behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, overload


@dataclass(frozen=True)
class Budget:
    """The input limits; each field names the setting it comes from."""

    prompt_chars: int = 200_000  # MAX_PROMPT_CHARS: a prompt after its variables are filled in
    text_chars: int = 100_000  # MAX_TEXT_CHARS: one text (system, a turn, the prefix, ...)
    turns: int = 50  # MAX_TURNS: turns before the prefix
    stop_sequences: int = 16  # MAX_STOP_SEQUENCES
    stop_chars: int = 200  # MAX_STOP_CHARS: one stop sequence
    import_bytes: int = 5 * 1_048_576  # MAX_IMPORT_MB
    import_depth: int = 20  # MAX_IMPORT_DEPTH: nesting of arrays and objects in an import
    tools: int = 128  # MAX_TOOLS: function definitions a prompt offers (DeepSeek's limit)
    tools_chars: int = 100_000  # MAX_TOOLS_CHARS: the tool definitions, as compact JSON


DEFAULT_BUDGET = Budget()


class LimitSettings(Protocol):
    """The settings a Budget is read from (Django's `settings` has them; see settings.py)."""

    @property
    def MAX_PROMPT_CHARS(self) -> int: ...
    @property
    def MAX_TEXT_CHARS(self) -> int: ...
    @property
    def MAX_TURNS(self) -> int: ...
    @property
    def MAX_STOP_SEQUENCES(self) -> int: ...
    @property
    def MAX_STOP_CHARS(self) -> int: ...
    @property
    def MAX_IMPORT_MB(self) -> int: ...
    @property
    def MAX_IMPORT_DEPTH(self) -> int: ...
    @property
    def MAX_TOOLS(self) -> int: ...
    @property
    def MAX_TOOLS_CHARS(self) -> int: ...


def from_settings(settings: LimitSettings) -> Budget:
    """Return the Budget configured in Django's `settings`."""
    return Budget(
        prompt_chars=settings.MAX_PROMPT_CHARS,
        text_chars=settings.MAX_TEXT_CHARS,
        turns=settings.MAX_TURNS,
        stop_sequences=settings.MAX_STOP_SEQUENCES,
        stop_chars=settings.MAX_STOP_CHARS,
        import_bytes=settings.MAX_IMPORT_MB * 1_048_576,
        import_depth=settings.MAX_IMPORT_DEPTH,
        tools=settings.MAX_TOOLS,
        tools_chars=settings.MAX_TOOLS_CHARS,
    )


def too_long(what: str, size: int, limit: int, setting: str) -> str:
    """Return the message for a text over its limit, naming the limit and its setting."""
    return f"{what} is {size:,} characters; the limit is {limit:,} ({setting})."


@overload
def small_int(text: str | None, default: int) -> int: ...


@overload
def small_int(text: str | None, default: None = None) -> int | None: ...


def small_int(text: str | None, default: int | None = None) -> int | None:
    """Return `text` as a whole number of at most 9 ASCII digits, else `default`.

    Query strings and button values carry page numbers, positions and indexes; str.isdigit()
    accepts "²" and 5,000-digit numbers, which int() then refuses with a ValueError.
    """
    if text is None or not (0 < len(text) <= 9) or not text.isascii() or not text.isdigit():
        return default
    return int(text)
