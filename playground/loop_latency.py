"""Process settings that keep a web process's event loop answering quickly under load.

Two sources of long pauses were measured at 100 streaming runs (BENCHMARKS.md, "Relay at 100
concurrent runs"), both outside the relay's own code:

- **The cyclic garbage collector.** A full collection walks every tracked object: Django, its
  apps, the URLconf and the templates loaded at start-up are tens of thousands of them, all
  permanent, and each walk stopped the loop for 50-120 ms. `gc.freeze()` after start-up moves
  them out of the collector's view (the technique CPython documents for that case), so a full
  collection walks only what the process made since: 30-35 ms in the same runs.
- **The GIL's switch interval.** Run starts, stream openings, saves and the heartbeat run in
  worker threads (Django's ORM is synchronous). A thread that holds the GIL keeps it until the
  loop has waited the switch interval, 5 ms by default, and a chunk's way through the loop
  (socket read, producer, relay, socket write) can wait several times. At 1 ms the added
  latency's p95 fell from ~20 ms to ~6 ms and its p99 from ~47 to ~26 ms (one run each).
"""

from __future__ import annotations

import gc
import sys

GIL_SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def tune_process() -> None:
    """Freeze what start-up made (out of the collector's walks) and shorten the GIL's interval.

    Call once, when the process has loaded what it keeps for its lifetime (the ASGI lifespan's
    start-up). Objects frozen are never collected: only call it on what lives that long.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
