"""The process-wide background work of a web process: stop listener, heartbeat, sweep, drain.

One set of tasks per process (not per run), on the event loop that serves streams. Started at
ASGI lifespan startup (playground/asgi.py) or, where a server skips lifespan, when the first
stream registers:
- the stop listener (PostgreSQL only; playground/runs/stops.py);
- the heartbeat: every RUN_LEASE_SECONDS / 4, one UPDATE renews the lease of every segment
  this process streams and saves the text each live column received since the last beat, so a
  process killed outright loses at most that much text;
- the sweep: as often, one UPDATE marks segments whose lease expired (their process is gone)
  or whose stream was never opened interrupted (`Segment.objects.interrupt_abandoned`).
On SIGTERM (a deploy or restart) `drain` ends every stream at once: what each column has is
saved as interrupted and the browser's EventSource reconnects to a process that replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from . import live, stops
from .models import Segment

logger = logging.getLogger(__name__)

LISTENER_READY_TIMEOUT = 5.0


def beat(texts: dict[int, tuple[str, str]]) -> int:
    """Renew this process's leases and save `texts` (sync; one UPDATE)."""
    close_old_connections()
    try:
        return Segment.objects.beat(live.process_id(), texts)
    finally:
        connection.close()


def sweep() -> int:
    """Mark abandoned segments interrupted (sync); return how many."""
    close_old_connections()
    try:
        return Segment.objects.interrupt_abandoned()
    finally:
        connection.close()


class Background:
    """The tasks of one process, bound to the loop they run on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.listening = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def every(self) -> float:
        return settings.RUN_LEASE_SECONDS / 4

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self._heartbeats(), name="run-heartbeat"))
        self.tasks.append(asyncio.create_task(self._sweeps(), name="run-sweep"))
        if connection.vendor == "postgresql":
            self.tasks.append(
                asyncio.create_task(stops.listen(self.listening), name="run-stop-listener")
            )
        else:
            self.listening.set()  # one process: Stop reaches every relay directly

    @property
    def alive(self) -> bool:
        """Return whether these tasks are in service: their loop runs and none has died.

        A loop that exists but is not running (an idle test loop) serves no stream: a stream
        on another loop then starts a set of its own.
        """
        return self.loop.is_running() and all(not task.done() for task in self.tasks)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.beat_now()

    async def beat_now(self) -> None:
        streams = live.streams()
        if not streams:
            return
        texts: dict[int, tuple[str, str]] = {}
        for stream in streams:  # read on the loop that appends to the outcomes
            texts.update(stream.unsaved_texts())
        try:
            await sync_to_async(beat, thread_sensitive=False)(texts)
        except Exception:
            logger.exception("Heartbeat failed; retrying at the next beat.")
            for stream in streams:
                stream.saved.clear()  # save every text again next time

    async def _sweeps(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await sync_to_async(sweep, thread_sensitive=False)()
            except Exception:
                logger.exception("Sweep of abandoned runs failed; retrying.")

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []


_current: Background | None = None
_lock = threading.Lock()


async def ensure_running() -> Background:
    """Start this process's background tasks on the running loop, unless they already run.

    Waits (briefly) until the stop listener is in place, so a Stop sent right after a
    stream starts is not missed.
    """
    global _current
    loop = asyncio.get_running_loop()
    with _lock:
        current = _current
        if current is None or not current.alive:
            if current is not None and current.loop is loop:
                for task in current.tasks:  # one of them died: start the set afresh
                    task.cancel()
            current = _current = Background(loop)
            current.start()
    if current.loop is loop and not current.listening.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LISTENER_READY_TIMEOUT):
                await current.listening.wait()
    return current


async def shutdown() -> None:
    """Save and end what still streams, then stop the background tasks (lifespan shutdown)."""
    global _current
    drain()
    with _lock:
        current, _current = _current, None
    if current is not None and current.loop is asyncio.get_running_loop():
        await current.stop()


def drain() -> None:
    """End every stream of this process now; their columns are saved interrupted.

    Thread-safe: each relay's stop is applied on its own loop.
    """
    for stream in live.streams():
        stream.draining = True
        stream.relay.request_stop()


def install_signal_handlers(loop: asyncio.AbstractEventLoop) -> None:
    """Drain the streams on SIGTERM/SIGINT, then hand the signal to the server's handler.

    The ASGI server's graceful shutdown waits for open responses; a stream lasts minutes,
    longer than a platform's grace period (30 s on Heroku). Draining first ends them in
    about a second with their text saved. Only the main thread may install handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(drain)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:  # no server handler: behave as before
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        signal.signal(sig, handler)
