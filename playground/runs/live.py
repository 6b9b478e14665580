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
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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


_streams: dict[str, list[LiveStream]] = {}


def register(stream: LiveStream) -> None:
    _streams.setdefault(stream.code, []).append(stream)


def unregister(stream: LiveStream) -> None:
    streams = _streams.get(stream.code, [])
    if stream in streams:
        streams.remove(stream)
    if not streams:
        _streams.pop(stream.code, None)


def streams() -> list[LiveStream]:
    """Return every stream live in this process."""
    return [stream for group in list(_streams.values()) for stream in group]


def stop_here(code: str, positions: set[int] | None = None) -> bool:
    """Stop the given columns of run `code` (all when None) if it streams in this process.

    Thread-safe (the relay applies it on its own loop); return whether a relay was found.
    """
    found = list(_streams.get(code, ()))
    for stream in found:
        stream.relay.request_stop(positions)
    return bool(found)
