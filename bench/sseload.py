"""The relay benchmark's load generator: open event streams, parse them, time every chunk.

Stdlib + httpx only, and no code shared with the site: a harness that reused the site's SSE
parser would agree with its bugs. Two kinds of stream are read:

- a run's stream through the site (`relay_run`): `: open` first, then `col-N-text` frames of
  HTML-escaped text (coalesced, several deltas per frame), `col-N-end`, `run-done` last;
- one upstream stream straight from the simulator (`direct_stream`), the baseline.

Models with `-bench` in their id make the simulator start every delta with
`⟨t=<time.monotonic_ns()>⟩ `; CLOCK_MONOTONIC is shared by every process on one host, so the
latency of a chunk is simply the time we read it minus that stamp.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

STAMP = re.compile(r"⟨t=(\d+)⟩")
_COLUMN_EVENT = re.compile(r"col-(\d+)-(text|reasoning|end)")
_BADGE = re.compile(r'class="badge[^"]*">([^<]+)<')


@dataclass(frozen=True)
class Frame:
    """One SSE message: its event name and data, or a comment (`event` is then ":")."""

    event: str
    data: str


class SSEParser:
    """Incremental SSE framing (WHATWG rules): bytes in, frames out; comments are kept."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Frame]:
        """Return the frames that `chunk` completes."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        frames: list[Frame] = []
        for raw in lines:
            line = raw.removesuffix(b"\r").decode("utf-8")
            if not line:
                if self._data:
                    frames.append(Frame(self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
            elif line.startswith(":"):
                frames.append(Frame(":", line[1:].strip()))
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    self._data.append(value)
                elif name == "event":
                    self._event = value
        return frames


@dataclass
class StreamResult:
    """What one stream delivered and when (monotonic nanoseconds)."""

    label: str
    sent_ns: int
    status: int | None = None
    first_byte_ns: int | None = None
    open_ns: int | None = None  # the relay's `: open` comment
    ended_ns: int | None = None
    closed_ns: int | None = None  # when we closed it on purpose (Stop scenarios)
    finished: bool = False  # `run-done` (relay) or the dialect's end marker (direct)
    error: str | None = None
    latencies_ns: list[int] = field(default_factory=list)
    received_ns: list[int] = field(default_factory=list)  # when each of those chunks was read
    first_text_ns: dict[int, int] = field(default_factory=dict)
    text_times: dict[int, list[int]] = field(default_factory=dict)
    column_status: dict[int, str] = field(default_factory=dict)
    frames: int = 0

    @property
    def chunks(self) -> int:
        """Return how many stamped upstream deltas arrived."""
        return len(self.latencies_ns)

    def note_text(self, column: int, text: str, now: int) -> None:
        """Record a piece of model text read at `now`, with the latency of each stamp in it."""
        self.first_text_ns.setdefault(column, now)
        self.text_times.setdefault(column, []).append(now)
        for stamp in STAMP.findall(text):
            self.latencies_ns.append(now - int(stamp))
            self.received_ns.append(now)


def _column_end_status(fragment: str) -> str:
    badge = _BADGE.search(fragment)
    return badge[1].strip().lower() if badge else "unknown"


def _apply_relay_frame(result: StreamResult, frame: Frame, now: int) -> None:
    if frame.event == ":":
        if frame.data == "open" and result.open_ns is None:
            result.open_ns = now
        return
    result.frames += 1
    if frame.event == "run-done":
        result.finished = True
        return
    match = _COLUMN_EVENT.fullmatch(frame.event)
    if match is None:
        return
    column, kind = int(match[1]), match[2]
    if kind == "end":
        result.column_status[column] = _column_end_status(frame.data)
    else:
        result.note_text(column, html.unescape(frame.data), now)


def _relay_problem(result: StreamResult, columns: int, expect: str) -> str | None:
    if result.open_ns is None:
        return "no `: open` frame"
    if not result.finished:
        return "no run-done"
    if expect == "any":  # faults on purpose: every column must end, however it ends
        ended = len(result.column_status) == columns
        return None if ended else f"columns ended {dict(sorted(result.column_status.items()))}"
    bad = {c: s for c, s in result.column_status.items() if s != expect}
    if bad or len(result.column_status) != columns:
        return f"columns ended {dict(sorted(result.column_status.items()))}"
    if len(result.first_text_ns) != columns:
        return "a column streamed no text"
    return None


async def relay_run(
    client: httpx.AsyncClient,
    url: str,
    cookie: str,
    *,
    columns: int,
    timeout: float,
    close_after_texts: int | None = None,
    expect: str = "done",
    texting: tuple[int, asyncio.Event] | None = None,
) -> StreamResult:
    """Read a run's stream from the site; optionally close it after that many text frames.

    Every column must end with the status `expect` (the badge's text, lower-cased). With
    `texting` (n, event), the event is set once n text frames have arrived.
    """
    result = StreamResult(label=url, sent_ns=time.monotonic_ns())
    headers = {"Cookie": cookie, "Accept": "text/event-stream", "Cache-Control": "no-cache"}
    try:
        async with asyncio.timeout(timeout), client.stream("GET", url, headers=headers) as resp:
            result.status = resp.status_code
            if resp.status_code != 200:
                result.error = f"HTTP {resp.status_code}"
                return result
            if "content-encoding" in resp.headers:
                result.error = f"compressed ({resp.headers['content-encoding']})"
                return result
            parser = SSEParser()
            async for chunk in resp.aiter_raw():
                now = time.monotonic_ns()
                if result.first_byte_ns is None:
                    result.first_byte_ns = now
                for frame in parser.feed(chunk):
                    _apply_relay_frame(result, frame, now)
                texts = sum(len(times) for times in result.text_times.values())
                if texting is not None and texts >= texting[0]:
                    texting[1].set()
                if close_after_texts is not None and texts >= close_after_texts:
                    result.closed_ns = time.monotonic_ns()
                    return result
                if result.finished:
                    break
    except TimeoutError:
        result.error = "timeout"
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.ended_ns = time.monotonic_ns()
    if result.error is None and close_after_texts is None:
        result.error = _relay_problem(result, columns, expect)
    return result


@dataclass(frozen=True)
class DirectCall:
    """One upstream request exactly as the site would send it (URL, headers, JSON body)."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]


def _direct_end(frame: Frame) -> bool:
    # OpenAI-shaped dialects end with `data: [DONE]`, Anthropic with `event: message_stop`.
    return frame.data == "[DONE]" or frame.event == "message_stop"


async def direct_stream(
    client: httpx.AsyncClient, call: DirectCall, *, column: int, timeout: float
) -> StreamResult:
    """Read one stream straight from the simulator: the baseline for one column."""
    result = StreamResult(label=call.url, sent_ns=time.monotonic_ns())
    try:
        async with (
            asyncio.timeout(timeout),
            client.stream("POST", call.url, headers=call.headers, json=call.body) as resp,
        ):
            result.status = resp.status_code
            if resp.status_code != 200:
                result.error = f"HTTP {resp.status_code}"
                return result
            parser = SSEParser()
            async for chunk in resp.aiter_raw():
                now = time.monotonic_ns()
                if result.first_byte_ns is None:
                    result.first_byte_ns = now
                for frame in parser.feed(chunk):
                    result.frames += frame.event != ":"
                    if frame.event == "error":
                        result.error = "error event"
                    if STAMP.search(frame.data):
                        result.note_text(column, frame.data, now)
                    result.finished = result.finished or _direct_end(frame)
    except TimeoutError:
        result.error = "timeout"
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.ended_ns = time.monotonic_ns()
    if result.error is None and not result.finished:
        result.error = "no end marker"
    return result


def percentile(values: list[float], pct: float) -> float | None:
    """Return the `pct` percentile of `values` (nearest rank), or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def client_for(concurrency: int) -> httpx.AsyncClient:
    """Return a client whose pool never makes a stream wait for a connection."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0),
        limits=httpx.Limits(
            max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10
        ),
    )
