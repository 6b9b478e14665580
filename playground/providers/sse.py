"""Framing of streamed response bodies: bytes to lines, lines to SSE events or NDJSON records.

Pure and incremental: feed network chunks as they arrive, in any sizes (a UTF-8 character or
a CRLF pair may be split across chunks), then call `close()` at the end of the body.
SSE follows the WHATWG rules: `:` starts a comment (keep-alives, `: OPENROUTER PROCESSING`),
`event:` names the event, `data:` lines accumulate, a blank line dispatches.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


class LineDecoder:
    """Split a byte stream into text lines on LF, CRLF or a lone CR."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, chunk: bytes) -> list[str]:
        """Return the complete lines that `chunk` finishes."""
        self._buffer += self._decoder.decode(chunk)
        return self._split(final=False)

    def close(self) -> list[str]:
        """Return whatever is left, as a last line if it is not empty."""
        self._buffer += self._decoder.decode(b"", final=True)
        return self._split(final=True)

    def _split(self, *, final: bool) -> list[str]:
        text = self._buffer
        # A CR at the very end may be the first half of a CRLF split across chunks.
        keep_cr = not final and text.endswith("\r")
        if keep_cr:
            text = text[:-1]
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        rest = lines.pop()
        if final and rest:
            lines.append(rest)
            rest = ""
        self._buffer = rest + ("\r" if keep_cr else "")
        return lines


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str


class SSEDecoder:
    """Assemble SSE events from lines; comments are dropped, never dispatched."""

    def __init__(self) -> None:
        self._lines = LineDecoder()
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Return the events that `chunk` completes."""
        return self._take(self._lines.feed(chunk))

    def close(self) -> list[SSEEvent]:
        """Return the events left at the end of the body, including an undispatched one."""
        events = self._take(self._lines.close())
        events.extend(self._dispatch())
        return events

    def _take(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                events.extend(self._dispatch())
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    self._data.append(value)
                elif name == "event":
                    self._event = value
        return events

    def _dispatch(self) -> list[SSEEvent]:
        if not self._data:
            self._event = ""
            return []
        event = SSEEvent(self._event, "\n".join(self._data))
        self._event, self._data = "", []
        return [event]


class NDJSONDecoder:
    """Split an NDJSON body (Ollama's native stream) into records, shaped like SSE events."""

    def __init__(self) -> None:
        self._lines = LineDecoder()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Return the complete records that `chunk` finishes."""
        return [SSEEvent("", line) for line in self._lines.feed(chunk) if line.strip()]

    def close(self) -> list[SSEEvent]:
        """Return a last record left without its newline."""
        return [SSEEvent("", line) for line in self._lines.close() if line.strip()]
