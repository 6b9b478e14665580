"""Turn what a provider streams into the continuation of the user's ORIGINAL prefix.

Two corrections, both incremental so they work across arbitrary chunk boundaries:

- Echo: Mistral (and vLLM with `echo`, and some unknown OpenAI-compatible servers) repeat the
  prefix before the continuation. Output is held back only while it could still be that repeat;
  a full repeat is dropped, and anything that diverges is released untouched.
- Overlap: Anthropic refuses a prefill ending in whitespace, so that whitespace is trimmed before
  sending while the user's prefix keeps it. If the model then re-emits (part of) the trimmed
  whitespace, that overlap is dropped so nothing is doubled; the user's prefix never loses a
  character.
"""

from __future__ import annotations


class EchoStripper:
    """Drop `echo` from the start of the output when the output begins with it."""

    def __init__(self, echo: str) -> None:
        self._echo = echo
        self._held = ""
        self._done = not echo

    def feed(self, text: str) -> str:
        """Return the part of `text` that is certainly continuation."""
        if self._done:
            return text
        self._held += text
        if self._held.startswith(self._echo):
            self._done = True
            rest, self._held = self._held[len(self._echo) :], ""
            return rest
        if self._echo.startswith(self._held):
            return ""
        return self.flush()

    def flush(self) -> str:
        """Return what was held back: at the end of the output it is continuation after all."""
        self._done = True
        held, self._held = self._held, ""
        return held


class OverlapTrimmer:
    """Drop the start of the output while it repeats `trimmed`, character by character."""

    def __init__(self, trimmed: str) -> None:
        self._trimmed = trimmed
        self._matched = 0
        self._done = not trimmed

    def feed(self, text: str) -> str:
        """Return `text` without the part that repeats the trimmed whitespace."""
        if self._done:
            return text
        i = 0
        while (
            i < len(text)
            and self._matched < len(self._trimmed)
            and text[i] == self._trimmed[self._matched]
        ):
            i += 1
            self._matched += 1
        if i < len(text) or self._matched == len(self._trimmed):
            self._done = True
        return text[i:]


class Normaliser:
    """Apply both corrections to a stream of text pieces."""

    def __init__(self, *, echo: str = "", trimmed: str = "") -> None:
        self._echo = EchoStripper(echo)
        self._overlap = OverlapTrimmer(trimmed)

    def feed(self, text: str) -> str:
        """Return the continuation text that `text` contributes."""
        return self._overlap.feed(self._echo.feed(text))

    def flush(self) -> str:
        """Return any text still held back, at the end of the output."""
        return self._overlap.feed(self._echo.flush())
