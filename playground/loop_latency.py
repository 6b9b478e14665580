"""Start-up tuning of a web process: what it loaded is kept out of the garbage collector's walks.

A full (generation 2) collection walks every tracked object. What start-up loads (Django, its
apps, the URLconf, the providers' catalog) is ~95,000 of them, all permanent, and at 100
streaming runs each full collection stopped the event loop for 49 and 116 ms (the two of one
`bench/relay.py` run, timed with `gc.callbacks`). `gc.freeze()` after start-up moves them out
of the collector's view, the use CPython documents for it, so a full collection walks only what
the process made since: 29 and 32 ms in the same kind of run. Three runs each before and after
show no change in the added latency's p99 (BENCHMARKS.md, "Relay at 100 concurrent runs"):
full collections are too rare to set it; the shorter pauses show in the worst chunks only.

A shorter GIL switch interval (1 ms instead of 5) was tried beside it and dropped: no change in
CPU or latency over those runs.
"""

from __future__ import annotations

import gc


def tune_process() -> None:
    """Freeze what start-up made, out of the collector's walks.

    Call once, when the process has loaded what it keeps for its lifetime (the ASGI lifespan's
    start-up). Objects frozen are never collected: only call it on what lives that long.
    """
    gc.collect()
    gc.freeze()
