"""What this process is streaming right now: its identity and its live relays.

`process_id()` names this process in the lease columns of the segments it streams
(`Segment.holder`): its pid (so an operator can tell which process holds a run) and a random
part, new at every start, so a restarted process never mistakes an old lease for its own. It
is made again after a fork, so workers forked from one parent never share it.

The registry lets a Stop (from this process's Stop view, or from another process through the
stop channel, playground/runs/stops.py) reach a relay, lets the heartbeat
(playground/runs/background.py) save each live column's text so far, and lets a shutdown
drain every stream.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .relay import RunRelay
    from .streaming import StreamPlan

_identity: tuple[int, str] = (0, "")


def process_id() -> str:
    """Return this process's lease holder id: "<pid>-<random hex>"."""
    global _identity
    pid = os.getpid()
    if _identity[0] != pid:
        _identity = (pid, f"{pid}-{uuid.uuid4().hex}")
    return _identity[1]


@dataclass(eq=False)
class LiveStream:
    """One relay streaming here, the plan it streams, and what the heartbeat last saved."""

    code: str
    relay: RunRelay
    plan: StreamPlan
    # Set when the process shuts down: the stream ends without its final frames and its
    # columns are saved interrupted, so the browser reconnects and replays the saved state.
    draining: bool = False
    saved: dict[int, tuple[int, int]] = field(default_factory=dict)  # position: sizes saved

    def unsaved_texts(self) -> dict[int, tuple[str, str]]:
        """Return {segment id: (text, reasoning)} of live columns whose text grew since last."""
        texts = {}
        for position, segment in self.plan.segments.items():
            outcome = self.relay.outcomes.get(position)
            if outcome is None or outcome.done:
                continue
            sizes = (outcome.char_count, len(outcome.reasoning))
            if sizes != self.saved.get(position, (0, 0)):
                self.saved[position] = sizes
                texts[segment.pk] = ("".join(outcome.text), "".join(outcome.reasoning))
        return texts


@dataclass(eq=False)
class Opening:
    """A stream of run `code` still claiming its segments: a Stop waits here for its relay.

    Without it a Stop pressed in the first moments of a run (the claim takes a while on a
    busy process) found no relay and was lost, and the run streamed to its end.
    """

    code: str
    stops: list[set[int] | None] = field(default_factory=list)


_streams: dict[str, list[LiveStream]] = {}
_openings: dict[str, list[Opening]] = {}
# Stop views run on worker threads, streams on the event loop: one lock makes "a Stop finds the
# opening" and "the opening becomes its stream" happen one after the other.
_lock = threading.Lock()


def opening(code: str) -> Opening:
    """Note that a stream of run `code` is starting here; Stops for it are kept until then."""
    waiting = Opening(code)
    with _lock:
        _openings.setdefault(code, []).append(waiting)
    return waiting


def close_opening(waiting: Opening) -> None:
    """Forget `waiting` (its stream did not start, or has registered). Idempotent."""
    with _lock:
        _remove(_openings, waiting.code, waiting)


def register(stream: LiveStream, waiting: Opening | None = None) -> None:
    """Register a live stream (in place of its opening); apply the Stops that waited for it."""
    with _lock:
        _streams.setdefault(stream.code, []).append(stream)
        stops = []
        if waiting is not None:
            _remove(_openings, waiting.code, waiting)
            stops = waiting.stops
    for positions in stops:
        stream.relay.request_stop(positions)


def unregister(stream: LiveStream) -> None:
    with _lock:
        _remove(_streams, stream.code, stream)


def _remove(groups: dict[str, list[Any]], code: str, item: Any) -> None:
    group = groups.get(code, [])
    if item in group:
        group.remove(item)
    if not group:
        groups.pop(code, None)


def streams() -> list[LiveStream]:
    """Return every stream live in this process."""
    with _lock:
        return [stream for group in _streams.values() for stream in group]


def stop_here(code: str, positions: set[int] | None = None) -> bool:
    """Stop the given columns of run `code` (all when None) if it streams in this process.

    Thread-safe (the relay applies it on its own loop); a stream of the run that is still
    claiming its segments gets the Stop as soon as its relay exists. Return whether either
    was found.
    """
    with _lock:
        found = list(_streams.get(code, ()))
        waiting = list(_openings.get(code, ()))
        for each in waiting:
            each.stops.append(None if positions is None else set(positions))
    for stream in found:
        stream.relay.request_stop(positions)
    return bool(found or waiting)
