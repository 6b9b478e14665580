"""Framing of streamed response bodies: bytes to lines, lines to SSE events or NDJSON records.

Pure and incremental: feed network chunks as they arrive, in any sizes (a UTF-8 character or
a CRLF pair may be split across chunks), then call `close()` at the end of the body.
SSE follows the WHATWG rules: `:` starts a comment (keep-alives, `: OPENROUTER PROCESSING`),
`event:` names the event, `data:` lines accumulate, a blank line dispatches. A line or an
event longer than MAX_FRAME_CHARS raises FrameTooLarge: the exchange ends the stream with a
protocol error instead of buffering without bound.
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

# The most one line, or one event's data, may hold. Real events are a few hundred characters
# (a delta and its metadata); a provider that streams its whole answer as one endless line
# would otherwise grow a buffer without bound (docs/limits.md).
MAX_FRAME_CHARS = 1_000_000


class FrameTooLarge(ValueError):
    """A line or an event grew past `MAX_FRAME_CHARS` without ending."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a stream frame grew past {limit:,} characters")
        self.limit = limit


class LineDecoder:
    """Split a byte stream into text lines on LF, CRLF or a lone CR.

    Work is linear in the body: a chunk with no line break is only appended to the pending
    pieces, and a line that grows past `limit` raises FrameTooLarge.
    """

    def __init__(self, limit: int = MAX_FRAME_CHARS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._pending_chars = 0
        self._limit = limit
        # Whether everything fed so far ended with LF: no text and no part of a character held.
        self._at_line_start = True

    def feed(self, chunk: bytes) -> list[str]:
        """Return the complete lines that `chunk` finishes."""
        ends_line = chunk[-1:] == b"\n"
        if ends_line and self._at_line_start and b"\r" not in chunk and len(chunk) <= self._limit:
            # Most streamed chunks are whole events: nothing is held from before, and the chunk
            # ends a line, so it decodes on its own (a character cannot be cut at a LF) and
            # splits with no CR handling: the same lines as the general path with half its
            # calls, per chunk of every stream. No line can be longer than the chunk.
            lines = chunk.decode("utf-8", "replace").split("\n")
            lines.pop()  # the empty text after the last LF
            return lines
        self._at_line_start = ends_line
        text = self._decoder.decode(chunk)
        held_cr = bool(self._pending) and self._pending[-1].endswith("\r")
        if not held_cr and "\n" not in text and "\r" not in text:
            self._hold(text)
            return []
        return self._split(text, final=False)

    def close(self) -> list[str]:
        """Return whatever is left, as a last line if it is not empty."""
        self._at_line_start = True
        return self._split(self._decoder.decode(b"", final=True), final=True)

    def _hold(self, text: str) -> None:
        if text:
            self._pending.append(text)
            self._pending_chars += len(text)
            if self._pending_chars > self._limit:
                raise FrameTooLarge(self._limit)

    def _split(self, new: str, *, final: bool) -> list[str]:
        text = "".join(self._pending) + new if self._pending else new
        self._pending, self._pending_chars = [], 0
        # A CR at the very end may be the first half of a CRLF split across chunks.
        keep_cr = not final and text.endswith("\r")
        if keep_cr:
            text = text[:-1]
        if "\r" in text:  # most streams end lines with LF alone: two searches saved per chunk
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        rest = lines.pop()
        if final and rest:
            lines.append(rest)
            rest = ""
        # No line can be longer than the whole text: look at each only when that is too long.
        if len(text) > self._limit and (
            len(rest) > self._limit or max(map(len, lines), default=0) > self._limit
        ):
            raise FrameTooLarge(self._limit)
        self._hold(rest + ("\r" if keep_cr else ""))
        return lines


class SSEEvent(NamedTuple):
    """One dispatched event (a tuple: made per streamed chunk, cheaper than a dataclass)."""

    event: str
    data: str


class SSEDecoder:
    """Assemble SSE events from lines; comments are dropped, never dispatched."""

    def __init__(self, limit: int = MAX_FRAME_CHARS) -> None:
        self._lines = LineDecoder(limit)
        self._event = ""
        self._data: list[str] = []
        self._data_chars = 0
        self._limit = limit

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
                if self._data:
                    events.append(self._dispatch()[0])
                else:
                    self._event = ""
            elif line[0] != ":":
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    self._data.append(value)
                    self._data_chars += len(value) + 1
                    if self._data_chars > self._limit:
                        raise FrameTooLarge(self._limit)
                elif name == "event":
                    self._event = value
        return events

    def _dispatch(self) -> list[SSEEvent]:
        if not self._data:
            self._event = ""
            return []
        event = SSEEvent(self._event, "\n".join(self._data))
        self._event, self._data, self._data_chars = "", [], 0
        return [event]


class NDJSONDecoder:
    """Split an NDJSON body (Ollama's native stream) into records, shaped like SSE events."""

    def __init__(self, limit: int = MAX_FRAME_CHARS) -> None:
        self._lines = LineDecoder(limit)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Return the complete records that `chunk` finishes."""
        return [SSEEvent("", line) for line in self._lines.feed(chunk) if line.strip()]

    def close(self) -> list[SSEEvent]:
        """Return a last record left without its newline."""
        return [SSEEvent("", line) for line in self._lines.close() if line.strip()]
