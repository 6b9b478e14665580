"""The relay: fan a run's columns out to their providers and multiplex them into one SSE stream.

Pure Python (no Django): the stream view hands in the jobs and a renderer for the HTML
fragments, reads `RunRelay.outcomes` afterwards to save them, and passes Stop requests in
through `RunRelay.request_stop` (from any thread).

Wire format, one stream per run (docs/streaming.md, "SSE protocol"):
- the first frame is the `: open` comment, sent before any provider answers;
- per column `i`: `col-i-text` and `col-i-reasoning` carry HTML-escaped text to append, at
  most one frame per `coalesce` seconds (text after a quiet spell goes out at once, text that
  follows closely joins it at the end of the interval); `col-i-metrics` replaces the live
  metrics (at most every `metrics_every` seconds); `col-i-tool` carries a new tool call's
  block (its name, at once) and `col-i-tool-args` the argument text that arrived for the
  column's calls, escaped like text and aimed at each call's block (coalesced like text);
  `col-i-end` carries the final fragment;
- `: ka` comments every `keepalive` seconds of silence; `run-done` always comes last.
Producers run in their own tasks and only the generator yields, so no `yield` ever happens
inside a timeout or task-group context (PEP 789).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from playground.providers import (
    CompletionRequest,
    Deadlines,
    ErrorKind,
    Event,
    Finish,
    ProviderError,
    ReasoningDelta,
    Recorder,
    Target,
    TextDelta,
    Usage,
    stream_completion,
)
from playground.providers.errors import scrub
from playground.providers.tools import ToolCallAssembler, ToolCallDelta

logger = logging.getLogger(__name__)

OPEN_FRAME = ": open\n\nretry: 3000\n\n"
KEEPALIVE_FRAME = ": ka\n\n"


def format_event(event: str, data: str) -> str:
    """Return one SSE frame; every line of `data` gets its own `data:` field."""
    if "\n" not in data and "\r" not in data:  # most frames: one line, two C-speed searches
        return f"event: {event}\ndata: {data}\n\n"
    # A bare CR would end an SSE line early; model text keeps it as an HTML character reference.
    lines = data.replace("\r\n", "\n").replace("\r", "&#13;").split("\n")
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def escape_text(text: str) -> str:
    """Return model text made safe to insert as HTML (it is untrusted)."""
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class ColumnJob:
    """One column's request: what to send, where, and what to show while it streams."""

    index: int
    target: Target
    request: CompletionRequest
    refusal: ProviderError | None = None  # set when the target cannot run this (not sent)


@dataclass
class ColumnOutcome:
    """Everything a column produced; filled in as events arrive, saved at the end."""

    index: int
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    ended_at: float | None = None
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    # Kept as text arrives: the live metrics read it several times a second, and summing the
    # growing list each time cost as much as relaying the text (bench/relay.py).
    char_count: int = 0
    # Tool calls as they stream; their argument characters count against the output limit.
    tool_calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    tool_chars: int = 0
    usage: Usage | None = None
    finish: Finish | None = None
    error: ProviderError | None = None
    stopped: bool = False
    limited: bool = False  # ended by the site's output limit, its text kept
    secret_removed: bool = False  # the column's own key was scrubbed from what it showed
    recorder: Recorder = field(default_factory=Recorder)

    @property
    def done(self) -> bool:
        return self.finish is not None or self.error is not None or self.stopped

    @property
    def ttft_ms(self) -> int | None:
        if self.first_token_at is None:
            return None
        return int((self.first_token_at - self.started) * 1000)

    @property
    def elapsed_ms(self) -> int:
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        return int((end - self.started) * 1000)


class Renderer(Protocol):
    """Turns a column's state into the HTML fragments the page swaps in."""

    def metrics(self, outcome: ColumnOutcome) -> str: ...

    def end(self, outcome: ColumnOutcome) -> str: ...

    def tool_call(self, index: int, slot: int, name: str) -> str:
        """Return the block of a new tool call (`slot`: its place in the column, from 0)."""
        ...

    def tool_arguments(self, index: int, slot: int, escaped: str) -> str:
        """Return the fragment that appends `escaped` argument text to call `slot`'s block."""
        ...

    def done(self, outcomes: list[ColumnOutcome]) -> str: ...


_STOPPED = object()
_ENDED = object()
_WAKE = -1  # the column index of the relay's own wake-up (coalescing, keep-alive)
# Built once: `isinstance(x, A | B)` builds the union object on every call, per chunk here.
_DELTAS = (TextDelta, ReasoningDelta)
_TERMINAL = (Finish, ProviderError)


class _Mailbox:
    """What the producers and the wake-up timer hand to the relay: a list and one waiter.

    The relay takes everything waiting in one turn; asyncio.Queue's per-item bookkeeping
    (a getter future per empty read, wake-ups per put) was ~3 % of the site's CPU at N = 60
    (bench/relay.py --profile).
    """

    def __init__(self) -> None:
        self.items: list[tuple[int, object]] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: tuple[int, object]) -> None:
        self.items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[tuple[int, object]]:
        """Return everything put so far, waiting for the first item if there is none yet."""
        if not self.items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        items, self.items = self.items, []
        return items


def _unexpected_error() -> ProviderError:
    return ProviderError(
        kind=ErrorKind.PROTOCOL,
        message="Something went wrong while reading this column's stream.",
        retryable=True,
    )


@dataclass
class _Pending:
    text: str = ""
    reasoning: str = ""
    reasoning_chars: int = 0  # all reasoning so far, counted against the output limit
    slots: dict[int, int] = field(default_factory=dict)  # a call's stream index -> its slot
    new_calls: list[tuple[int, str]] = field(default_factory=list)  # (slot, name) to announce
    arguments: dict[int, str] = field(default_factory=dict)  # slot -> argument text to send
    since: float | None = None
    sent_at: float = -math.inf
    metrics_sent_at: float = 0.0
    # The column's event names, built once rather than per frame.
    names: tuple[str, str, str, str, str] = ("", "", "", "", "")

    @classmethod
    def of(cls, index: int) -> _Pending:
        kinds = ("text", "reasoning", "metrics", "tool", "tool-args")
        text, reasoning, metrics, tool, tool_args = (f"col-{index}-{kind}" for kind in kinds)
        return cls(names=(text, reasoning, metrics, tool, tool_args))


class RunRelay:
    """Run every column concurrently and yield the run's SSE frames as text.

    `client` returns the httpx client to use; it is called once streaming has started.
    """

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        jobs: list[ColumnJob],
        renderer: Renderer,
        *,
        deadlines: Deadlines | None = None,
        allow_private: bool = False,
        coalesce: float = 0.015,
        coalesce_chars: int = 256,
        max_output_chars: int = 1_000_000,
        metrics_every: float = 0.5,
        keepalive: float = 15.0,
        close_grace: float = 5.0,
    ) -> None:
        # A callable, asked when streaming starts: the client must belong to the loop that
        # iterates the frames, which is not always the loop that built the relay.
        self.client = client
        self.jobs = {job.index: job for job in jobs}
        self.renderer = renderer
        self.deadlines = deadlines or Deadlines()
        self.allow_private = allow_private
        self.coalesce = coalesce
        self.coalesce_chars = coalesce_chars
        self.max_output_chars = max_output_chars
        self.metrics_every = metrics_every
        self.keepalive = keepalive
        self.close_grace = close_grace
        self.outcomes = {job.index: ColumnOutcome(index=job.index) for job in jobs}
        self._mailbox = _Mailbox()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._pending = {job.index: _Pending.of(job.index) for job in jobs}
        self._open = len(self.outcomes)  # columns whose end frame has not been made yet
        self._stopped_early: set[int] = set()
        self._closing: set[int] = set()  # columns whose producer sent its last event
        # The loop that iterates `frames()`; Stop requests from other threads are handed to it.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._requested: list[set[int] | None] = []  # stops asked for before the loop was known
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at = math.inf

    def request_stop(self, indexes: set[int] | None = None) -> None:
        """Stop the given columns (all when None) from any thread; the relay's loop does it.

        asyncio objects belong to their loop: a Stop that arrives on a worker thread (a sync
        view) or on another loop is scheduled onto the relay's loop, never applied in place.
        """
        with self._lock:
            loop = self._loop
            if loop is None:
                self._requested.append(None if indexes is None else set(indexes))
                return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.stop(indexes)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the run has ended anyway
            loop.call_soon_threadsafe(self.stop, None if indexes is None else set(indexes))

    def stop(self, indexes: set[int] | None = None) -> None:
        """Cancel the given columns (all when None); their text so far is kept, marked stopped.

        Call it on the relay's own loop; `request_stop` is the thread-safe way in.
        """
        chosen = set(self.jobs) if indexes is None else indexes & set(self.jobs)
        # A column not started yet is not started at all.
        self._stopped_early |= chosen - set(self._tasks)
        for index in chosen:
            task = self._tasks.get(index)
            # A column that has already ended is only closing its response: let it.
            if task is not None and not task.done() and index not in self._closing:
                task.cancel()

    async def _produce(self, job: ColumnJob) -> None:
        events = stream_completion(
            self.client(),
            job.target,
            job.request,
            deadlines=self.deadlines,
            recorder=self.outcomes[job.index].recorder,
            allow_private=self.allow_private,
        )
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    self._mailbox.put((job.index, event))
                    if isinstance(event, _TERMINAL):
                        self._closing.add(job.index)  # only the response's close is left
        except Exception:  # a bug in one column must not take the others down
            logger.exception("Column %s failed unexpectedly", job.index)
            self._mailbox.put((job.index, _unexpected_error()))
        else:
            self._mailbox.put((job.index, _ENDED))

    def _on_task_done(self, index: int, task: asyncio.Task[None]) -> None:
        # A task cancelled before it ever ran has no chance to report; this callback always runs.
        if task.cancelled():
            self._mailbox.put((index, _STOPPED))

    def _apply(self, index: int, event: object) -> bool:
        """Fold one event into the column's outcome; return whether the column just ended."""
        outcome = self.outcomes[index]
        pending = self._pending[index]
        now = time.monotonic()
        if isinstance(event, _DELTAS):
            if outcome.done:
                return False  # text a producer sent after its column ended (output limit)
            if outcome.first_token_at is None:
                outcome.first_token_at = now
            if pending.since is None:
                pending.since = now
            room = self.max_output_chars - outcome.char_count - pending.reasoning_chars
            piece = event.text[: max(0, room)]
            if isinstance(event, TextDelta):
                outcome.text.append(piece)
                outcome.char_count += len(piece)
                pending.text += piece
            else:
                outcome.reasoning.append(piece)
                pending.reasoning_chars += len(piece)
                pending.reasoning += piece
            if len(piece) < len(event.text):
                return self._limit(index, now)
            return False
        if isinstance(event, ToolCallDelta):
            return self._apply_tool(index, event, now)
        if isinstance(event, Usage):
            outcome.usage = event
            return False
        if outcome.done:
            return False
        if isinstance(event, Finish):
            outcome.finish = event
        elif isinstance(event, ProviderError):
            outcome.error = event
        elif event is _STOPPED:
            outcome.stopped = True
        elif event is _ENDED:
            outcome.error = ProviderError(
                kind=ErrorKind.PROTOCOL,
                message="The provider's stream ended without saying it had finished.",
                retryable=True,
            )
        else:
            return False
        outcome.ended_at = now
        return True

    def _apply_tool(self, index: int, event: ToolCallDelta, now: float) -> bool:
        """Fold a piece of a tool call in; return whether it reached the output limit."""
        outcome = self.outcomes[index]
        pending = self._pending[index]
        if outcome.done:
            return False
        if outcome.first_token_at is None:
            outcome.first_token_at = now
        if pending.since is None:
            pending.since = now
        slot = pending.slots.get(event.index)
        if slot is None:
            slot = pending.slots[event.index] = len(pending.slots)
            pending.new_calls.append((slot, event.name[:MAX_TOOL_NAME]))
        used = outcome.char_count + pending.reasoning_chars + outcome.tool_chars
        piece = event.arguments[: max(0, self.max_output_chars - used)]
        outcome.tool_calls.feed(
            ToolCallDelta(event.index, event.id, event.name[:MAX_TOOL_NAME], piece)
        )
        outcome.tool_chars += len(piece)
        if piece:
            pending.arguments[slot] = pending.arguments.get(slot, "") + piece
        if len(piece) < len(event.arguments):
            return self._limit(index, now)
        return False

    def _limit(self, index: int, now: float) -> bool:
        """End a column at the output limit: keep its text, close its upstream request."""
        outcome = self.outcomes[index]
        outcome.limited = True
        outcome.finish = Finish("length", raw_reason="output_limit")
        outcome.ended_at = now
        task = self._tasks.get(index)
        if task is not None and not task.done() and index not in self._closing:
            task.cancel()
        return True

    def _flush(self, index: int, *, force: bool) -> str:
        """Return the frames for a column's buffered text, when due (or forced)."""
        pending = self._pending[index]
        now = time.monotonic()
        # A throttle, not a debounce: waiting `coalesce` after the first delta of each batch
        # added that whole wait to every delta of a paced stream (bench/relay.py measured it).
        due = force or (
            pending.since is not None
            and (
                now - pending.sent_at >= self.coalesce
                or len(pending.text) + len(pending.reasoning) >= self.coalesce_chars
            )
        )
        if not due:
            return ""
        text_name, reasoning_name, metrics_name, _, _ = pending.names
        key = self.jobs[index].target.api_key
        frames = []
        if pending.reasoning:
            reasoning, pending.reasoning = self._scrubbed(index, pending.reasoning, key, force)
            if reasoning:
                frames.append(format_event(reasoning_name, escape_text(reasoning)))
        if pending.text:
            text, pending.text = self._scrubbed(index, pending.text, key, force)
            if text:
                frames.append(format_event(text_name, escape_text(text)))
        arguments_waiting = False
        if pending.new_calls or pending.arguments:  # a column that has made tool calls
            frames.extend(self._tool_frames(index, key, force))
            arguments_waiting = any(pending.arguments.values())
        waiting = pending.text or pending.reasoning or arguments_waiting
        pending.since = None if not waiting else now
        pending.sent_at = now
        if force or (frames and now - pending.metrics_sent_at >= self.metrics_every):
            pending.metrics_sent_at = now
            frames.append(format_event(metrics_name, self.renderer.metrics(self.outcomes[index])))
        return "".join(frames)

    def _tool_frames(self, index: int, key: str, force: bool) -> list[str]:
        """Return the frames announcing new calls, then those appending their arguments."""
        pending = self._pending[index]
        *_, tool_name, arguments_name = pending.names
        frames = [
            format_event(tool_name, self.renderer.tool_call(index, slot, name))
            for slot, name in pending.new_calls
        ]
        pending.new_calls = []
        pieces = []
        for slot, waiting in pending.arguments.items():
            send, pending.arguments[slot] = self._scrubbed(index, waiting, key, force)
            if send:
                pieces.append(self.renderer.tool_arguments(index, slot, escape_text(send)))
        if pieces:
            frames.append(format_event(arguments_name, "".join(pieces)))
        return frames

    def _scrubbed(self, index: int, text: str, key: str, force: bool) -> tuple[str, str]:
        """Return (what to send now with the key removed, what to hold back for later).

        A key the model echoes may arrive split over several deltas: a tail of the text that
        could be the start of the key waits for the next flush (or the column's end).
        """
        if not text or not key:
            return text, ""
        hold = 0 if force else _key_tail(text, key)
        send, rest = text[: len(text) - hold], text[len(text) - hold :]
        clean = scrub(send, key)
        if clean != send:
            self.outcomes[index].secret_removed = True
        return clean, rest

    def _next_wakeup(self, last_frame_at: float) -> float:
        now = time.monotonic()
        wake = last_frame_at + self.keepalive
        for pending in self._pending.values():
            if pending.since is not None:
                wake = min(wake, pending.sent_at + self.coalesce)
        return max(0.0, wake - now)

    def _set_wakeup(self, delay: float) -> None:
        """Make sure the loop wakes within `delay` seconds, even if no event arrives.

        One timer that puts a wake-up in the queue, moved only when it must ring sooner: an
        `asyncio.timeout` around every queue read set and cancelled a timer per upstream
        chunk (bench/relay.py --profile). A wake-up that rings early costs one quiet turn.
        """
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if self._wake is not None and self._wake_at <= when:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake = loop.call_at(when, self._mailbox.put, (_WAKE, None))
        self._wake_at = when

    def _start(self) -> list[str]:
        """Start one producer per sendable column; return end frames for refused ones."""
        frames = []
        for index, job in self.jobs.items():
            if job.refusal is not None:
                self._apply(index, job.refusal)
                frames.append(self._end_frames(index))
            elif index in self._stopped_early:
                self._apply(index, _STOPPED)
                frames.append(self._end_frames(index))
            else:
                task = asyncio.create_task(self._produce(job))
                task.add_done_callback(functools.partial(self._on_task_done, index))
                self._tasks[index] = task
        return frames

    def _end_frames(self, index: int) -> str:
        self._open -= 1  # called once per column, when `_apply` (or `_start`) ends it
        return self._flush(index, force=True) + format_event(
            f"col-{index}-end", self.renderer.end(self.outcomes[index])
        )

    def _attach_loop(self) -> None:
        """Note the loop that runs the relay and apply the Stops that arrived before it."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            requested, self._requested = self._requested, []
        for indexes in requested:
            self.stop(indexes)

    async def frames(self) -> AsyncIterator[str]:
        """Yield the run's SSE frames until every column has ended, then `run-done`."""
        self._attach_loop()
        yield OPEN_FRAME
        last_frame_at = time.monotonic()
        try:
            for frame in self._start():
                yield frame
            coalescing = True  # whether a column's text waits out the throttle
            while self._open:
                # The wake-up rings for text held by the throttle, or for the next keep-alive.
                # With none held and one set, it is already due no later than the keep-alive
                # (which only moves later as frames go out): most turns skip the computation.
                if coalescing or self._wake is None:
                    self._set_wakeup(self._next_wakeup(last_frame_at))
                # Everything already queued goes into the same turn: under load several
                # columns' chunks wait together, and one pass over the columns serves them all.
                items = await self._mailbox.take()
                out = []
                for index, event in items:
                    if index == _WAKE:
                        self._wake, self._wake_at = None, math.inf
                    elif self._apply(index, event):
                        out.append(self._end_frames(index))
                coalescing = False
                for index, pending in self._pending.items():
                    # Only a column with text waiting can have a frame due (`_flush`).
                    if pending.since is not None and not self.outcomes[index].done:
                        out.append(self._flush(index, force=False))
                        coalescing = coalescing or pending.since is not None
                now = time.monotonic()
                chunk = "".join(out)
                if not chunk and now - last_frame_at >= self.keepalive:
                    chunk = KEEPALIVE_FRAME
                if chunk:
                    last_frame_at = now
                    yield chunk
            yield format_event("run-done", self.renderer.done(list(self.outcomes.values())))
        finally:
            if self._wake is not None:
                self._wake.cancel()
            await self._cancel_all()

    async def _cancel_all(self) -> None:
        """End every producer and wait for it, so every upstream response is closed and returned.

        A producer whose column has ended (finished, failed) is still closing its upstream
        response: cancelling it then interrupts the close and the connection never goes back
        to the pool (bench/relay.py saw a whole pool leak that way). Those are left to finish;
        only producers of columns still streaming (Stop, browser gone) are cancelled.
        """
        for index, task in self._tasks.items():
            if index not in self._closing:
                task.cancel()
        waiting = [task for task in self._tasks.values() if not task.done()]
        if waiting:
            _done, late = await asyncio.wait(waiting, timeout=self.close_grace)
            for task in late:  # a close that hangs: give up on it rather than on the run
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=self.close_grace)
        items, self._mailbox.items = self._mailbox.items, []
        for index, event in items:  # what producers sent after the last frame
            if index != _WAKE:
                self._apply(index, event)
        for index, task in self._tasks.items():
            if task.done() and not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as never retrieved
            outcome = self.outcomes[index]
            if not outcome.done:
                outcome.stopped = True
                outcome.ended_at = time.monotonic()


MAX_TOOL_NAME = 200  # a function name longer than any API allows (64) is cut here for display
KEY_TAIL_MIN = 4  # a shorter tail that matches the key is too common in prose to hold back


def _key_tail(text: str, key: str) -> int:
    """Return the length of the longest tail of `text` (4+ characters) that occurs in `key`."""
    longest = 0
    for size in range(KEY_TAIL_MIN, min(len(text), len(key)) + 1):
        if text[-size:] not in key:
            break  # a longer tail contains this one, so it cannot be in the key either
        longest = size
    return longest


__all__ = [
    "ColumnJob",
    "ColumnOutcome",
    "Event",
    "Renderer",
    "RunRelay",
    "escape_text",
    "format_event",
]
