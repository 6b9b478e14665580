"""Start-up tuning of a web process: load the first requests' work early, then freeze it.

**Warm-up.** Django imports every app's views when it first resolves a URL, the upstream client
loads the CA bundle when the first stream starts (~0.2 s of CPU, playground/http.py), and the
stream's fragments are compiled when the first column ends. Each of those ran on the event loop
of a fresh process while it streamed: a lag monitor (a thread that looked at the loop's stack
whenever the loop was 15 ms late) found them at most of the lags of a 100-run benchmark. So
start-up does them before the process takes requests.

**Freeze.** A full (generation 2) collection walks every tracked object. What start-up loads
(Django, its apps, the URLconf, the providers' catalog) is ~95,000 of them, all permanent, and
at 100 streaming runs each full collection stopped the event loop for 49 and 116 ms (the two
of one `bench/relay.py` run, timed with `gc.callbacks`). `gc.freeze()` after start-up moves them out
of the collector's view, the use CPython documents for it, so a full collection walks only what
the process made since: 29 and 32 ms in the same kind of run. Three runs each before and after
show no change in the added latency's p99 (BENCHMARKS.md, "Relay at 100 concurrent runs"):
full collections are too rare to set it; the shorter pauses show in the worst chunks only.

A shorter GIL switch interval (1 ms instead of 5) was tried beside it and dropped: no change in
CPU or latency over those runs.

**Young collections.** A streamed chunk allocates a few dozen short-lived containers (events,
frames, lists), so CPython's default threshold (a young collection per 700 net allocations)
runs one every few dozen chunks, and the collector was 2 % of the site's CPU at 100 runs (perf).
Ten times the threshold lets most of those objects die by reference counting before any
collection looks at them: 1 µs less CPU per chunk in each of two back-to-back pairs of
`bench/relay.py` runs (BENCHMARKS.md). The older generations keep CPython's ratios.
"""

from __future__ import annotations

import gc

from django.template.loader import get_template
from django.urls import get_resolver

from playground import http

# CPython's default is (700, 10, 10); see "Young collections" above.
GC_THRESHOLDS = (7000, 10, 10)

# What a stream renders (playground/runs/streaming.py HtmlRenderer), compiled at start-up.
STREAM_TEMPLATES = ("runs/_column.html", "runs/_run.html")


def warm_up() -> None:
    """Do the one-time loading that the first requests would otherwise do on the event loop."""
    # Imports every app's URLconf and views, and builds the table `reverse` looks names up in.
    get_resolver().reverse_dict  # noqa: B018
    http.ssl_context()
    for name in STREAM_TEMPLATES:
        get_template(name)


def tune_process() -> None:
    """Warm up, freeze what start-up made out of the collector's walks, collect less often.

    Call once, when the process has loaded what it keeps for its lifetime (the ASGI lifespan's
    start-up). Objects frozen are never collected: only call it on what lives that long.
    """
    warm_up()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
