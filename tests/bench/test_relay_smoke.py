"""The relay's regression gate: ten concurrent three-column runs streamed through the live site.

The small version of bench/relay.py, with the same load generator (bench/sseload.py). It is
not a speed test: the benchmark measures speed and BENCHMARKS.md records it, and nothing here
is timed against a bound (the suite runs on busy machines). It fails when a relay, a middleware
or the server buffers the stream (a column's text in one burst at the end instead of spread
over the stream), when anything errors, or when the first byte waits for the providers. The
upstream is the simulator the live site mounts under /sim/; `-bench` models start each delta
with the sender's monotonic clock, so every chunk's latency is read from the text itself.
"""

from __future__ import annotations

import asyncio

from django.test import Client

from bench.sseload import StreamResult, client_for, relay_run
from playground.accounts.models import User
from playground.keys.models import Credential
from playground.providers import simulator_base_url
from playground.providers.base import Turn
from playground.providers.prompt import Parameters, Prompt
from playground.runs.models import Run
from tests.factories import make_user
from tests.waiting import HANG_GUARD, wait_until

RUNS = 10
COLUMNS = [("deepseek", "deepseek-chat"), ("dashscope", "qwen-plus"), ("anthropic", "claude")]
TOKENS = 60  # at 20 tokens/s: about 3 s of streaming, some 30 deltas per column
STAGGER = 0.05  # seconds between two runs' starts: ten people clicking, not one burst
# A buffering relay delivers a column's frames at once; a streaming one spreads them over the
# whole stream (the first delta comes after ~0.15 s, then about ten a second).
MIN_SPREAD = 0.5
MIN_ARRIVALS = 10


def _start_runs(live_url: str, count: int, tokens: int) -> list[tuple[str, str]]:
    """Return (stream URL, Cookie header) for `count` new runs, each of a user of its own."""
    runs = []
    for _ in range(count):
        user = make_user(f"smoke{User.objects.count()}")
        targets = []
        for provider, model in COLUMNS:
            credential = Credential(
                user=user,
                provider=provider,
                label=provider,
                base_url=simulator_base_url(provider, f"{live_url}/sim"),
            )
            credential.set_key(f"sim-smoke-{user.pk:04d}")
            credential.save()
            model_id = f"{model}-bench-long-tps20"
            targets.append({"credential": credential, "model": model_id, "overrides": {}})
        run = Run.objects.start(
            user=user,
            prompt=Prompt(
                turns=(Turn("user", "Tell a story."),),
                prefix="Once upon a time",
                parameters=Parameters(max_tokens=tokens),
            ),
            targets=targets,
        )
        client = Client()
        client.force_login(user)
        runs.append(
            (f"{live_url}/runs/{run.code}/stream/", f"sessionid={client.session.session_key}")
        )
    return runs


async def _stream_all(runs: list[tuple[str, str]], stagger: float = 0.0) -> list[StreamResult]:
    async def one(number: int, url: str, cookie: str) -> StreamResult:
        await asyncio.sleep(number * stagger)
        return await relay_run(client, url, cookie, columns=len(COLUMNS), timeout=HANG_GUARD)

    async with client_for(len(runs)) as client:
        return await asyncio.gather(*(one(i, url, cookie) for i, (url, cookie) in enumerate(runs)))


def _wait_until_saved() -> list[str]:
    """Return every run's status once none is running (`run-done` goes out before the save)."""
    wait_until(lambda: not Run.objects.filter(status="running").exists(), "every run saved")
    return list(Run.objects.values_list("status", flat=True))


def _assert_incremental(result: StreamResult) -> None:
    assert result.ended_ns is not None
    duration = result.ended_ns - result.sent_ns
    for column, times in result.text_times.items():
        spread = (times[-1] - times[0]) / duration
        assert spread >= MIN_SPREAD, f"column {column}: all text came within {spread:.0%} of it"
        arrivals = len(set(times))
        assert arrivals >= MIN_ARRIVALS, f"column {column}: text arrived {arrivals} times"


def test_it_streams_ten_runs_incrementally_without_errors(live_url: str) -> None:
    # One short run first: the site's first stream pays one-off costs (the upstream client,
    # compiling the templates) that this test is not about.
    asyncio.run(_stream_all(_start_runs(live_url, 1, tokens=2)))
    results = asyncio.run(_stream_all(_start_runs(live_url, RUNS, TOKENS), STAGGER))

    assert [r.error for r in results] == [None] * RUNS
    assert all(r.chunks >= len(COLUMNS) * 20 for r in results)  # stamps survived the relay
    assert _wait_until_saved() == ["done"] * (RUNS + 1)

    for result in results:
        _assert_incremental(result)
    # Every chunk's latency was measured (from the stamps); bench/relay.py reports the figures.
    assert all(r.latencies_ns for r in results)
    # `: open` goes out before the run is planned: the first byte never waits for a provider.
    assert all(r.open_ns is not None and r.open_ns < min(r.first_text_ns.values()) for r in results)
