"""Benchmark the relay: N concurrent three-column runs streamed through one site process.

Usage (from the repository root; PostgreSQL reachable as `postgres` on 127.0.0.1):

    .venv/bin/python bench/relay.py [--sweep 1,10,25,50,100,150,200] [--pattern burst] [--db sqlite]

It starts the provider simulator (pinned to core 0, with this load generator) and the site under
uvicorn with one worker (pinned to core 1), production-like (DEBUG off, WARNING logs), on its
own database `playground_bench_relay` (created and migrated; `--db sqlite` uses a throwaway
file). For each N it streams runs through the site, reading the simulator's `-bench` timestamps
from the text, then the same upstream requests straight from the simulator (the baseline), and
prints TTFB, TTFT, per-chunk latency and the part the relay adds, the site's CPU per chunk,
peak RSS and errors.

Two load patterns. `steady` (default): runs start one after another, N per stream duration,
so that after a warm-up exactly about N run at any moment, as with N people using the site;
the figures come from a window of `--window` seconds at that concurrency. `burst`: all N runs
start within `--ramp` seconds and end together, a stress test of start-up and saving.

Last, the Stop scenario under background load: runs whose page is closed, or whose Stop
button is pressed, after a few chunks, timed until the simulator records the upstream
disconnect. Everything listens on 127.0.0.1, and every stream has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import relay_host as host
import relay_setup
import uvloop
from relay_report import PhaseStats, print_point, print_stop, summarise, upstream_sent
from sseload import StreamResult, client_for, direct_stream, relay_run

# Its own database; BENCH_DATABASE_URL names another (a "bench" one) so that two benchmarks on
# one machine do not delete each other's runs.
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/playground_bench_relay"
)
COLUMNS = [
    ("deepseek", "deepseek-chat"),
    ("dashscope", "qwen-plus"),
    ("anthropic", "claude-sonnet-4-5"),
]


async def _staggered(delay: float, work: Any) -> Any:
    await asyncio.sleep(delay)
    return await work


async def _measure(
    coros: list[Any], pids: tuple[int, int], spacing: float, counter: Any = None
) -> tuple[list[StreamResult], dict[str, Any]]:
    """Start the phase's streams `spacing` seconds apart, wait for all, and sample the costs."""
    server_pid, sim_pid = pids
    sampler = host.Sampler(server_pid)
    if counter is not None:
        counter.start()
    sampler.sample()
    ours = (server_pid, sim_pid, "self")
    before, cores, started = (
        [host.cpu_seconds(p) for p in ours],
        host.core_busy(),
        time.monotonic_ns(),
    )
    task = asyncio.create_task(sampler.run())
    try:
        results = await asyncio.gather(
            *(_staggered(i * spacing, coro) for i, coro in enumerate(coros))
        )
    finally:
        task.cancel()
    sampler.sample()
    wall = (time.monotonic_ns() - started) / 1e9
    instructions = counter.stop() if counter is not None else None
    used = [host.cpu_seconds(p) - b for p, b in zip(ours, before, strict=True)]
    busy = sum(ticks[0] - cores[core][0] for core, ticks in host.core_busy().items())
    costs = {
        "started_ns": started,
        "samples": sampler.samples,
        "wall_s": wall,
        "sim_cpu_s": used[1],
        "loadgen_cpu_s": used[2],
        # Whatever else ran on the machine meanwhile (a shared host), in % of one core.
        "other_cpu_pct": 100 * (busy / host.CLK_TCK - sum(used)) / wall,
        "site_instructions": instructions,
    }
    flat = [r for group in results for r in (group if isinstance(group, list) else [group])]
    return flat, costs


def _window(args: Any, costs: dict[str, Any]) -> tuple[float, float] | None:
    """Return the steady pattern's measuring window (monotonic ns); None for a burst."""
    if args.pattern != "steady":
        return None
    start = costs["started_ns"] + (_duration(args) + 1.0) * 1e9
    return start, start + args.window * 1e9


async def relay_phase(
    args: Any, site: str, runs: list[Any], n: int, pids: tuple[int, int]
) -> PhaseStats:
    """Stream every run through the site, N at a time; return the phase's figures."""
    async with client_for(len(runs)) as client:
        coros = [
            relay_run(
                client,
                f"{site}/runs/{run.code}/stream/{run.query}",
                run.cookie,
                columns=len(run.calls),
                timeout=args.max_seconds,
            )
            for run in runs
        ]
        results, costs = await _measure(coros, pids, _spacing(args, n), args.counter)
        records = (await client.get(f"{args.sim_url}/_sim/requests")).json()
    stats = summarise(results, costs, relay=True, window=_window(args, costs))
    return dataclasses.replace(stats, upstream_sent_ms=upstream_sent(runs, results, records))


async def _direct_run(client: httpx.AsyncClient, run: Any, timeout: float) -> list[StreamResult]:
    return await asyncio.gather(
        *(
            direct_stream(client, call, column=i, timeout=timeout)
            for i, call in enumerate(run.calls)
        )
    )


async def direct_phase(args: Any, runs: list[Any], n: int, pids: tuple[int, int]) -> PhaseStats:
    """Stream the same upstream requests straight from the simulator; return the figures."""
    async with client_for(3 * len(runs)) as client:
        coros = [_direct_run(client, run, args.max_seconds) for run in runs]
        results, costs = await _measure(coros, pids, _spacing(args, n))
    return summarise(results, costs, relay=False, window=_window(args, costs))


def _models(args: argparse.Namespace) -> list[str]:
    return [f"{model}-bench-long-tps{args.tps:g}" for _, model in COLUMNS]


def _duration(args: Any) -> float:
    """Return how long one stream lasts, in seconds."""
    return args.first_token_delay + args.tokens / args.tps


def _run_count(args: Any, n: int) -> int:
    """Return how many runs a point needs: N, or N per stream duration for the whole pattern."""
    if args.pattern == "burst":
        return n
    return math.ceil(n * (_duration(args) + 1.0 + args.window) / _duration(args))


def _spacing(args: Any, n: int) -> float:
    """Return the seconds between two runs' starts."""
    return args.ramp / n if args.pattern == "burst" else _duration(args) / n


def sweep(
    args: argparse.Namespace, site: str, members: list[Any], pids: tuple[int, int]
) -> list[dict[str, Any]]:
    """Measure every N of the sweep; with --stop-on-failure, stop after the first miss."""
    points = []
    for n in args.sweep:
        count = _run_count(args, n)
        runs = relay_setup.make_runs(
            [members[i % n] for i in range(count)], _models(args), args.tokens, token=args.token
        )
        relay_setup.close_connections()
        time.sleep(1.0)  # let the last saves of the previous phase finish
        host.wait_for_quiet(args.quiet, args.quiet_wait)
        relay = uvloop.run(relay_phase(args, site, runs, n, pids))
        direct = None
        if args.baseline:
            time.sleep(1.0)
            host.wait_for_quiet(args.quiet, args.quiet_wait)
            direct = uvloop.run(direct_phase(args, runs, n, pids))
        points.append(print_point(n, relay, direct, args))
        if args.stop_on_failure and not points[-1]["ok"]:
            break
    return points


async def _stop_probe(
    client: httpx.AsyncClient, control: httpx.AsyncClient, site: str, run: Any, button: bool
) -> Any:
    """Close the page after three text frames, or press Stop after three (as a user would,
    once the text streams)."""
    url = f"{site}/runs/{run.code}/stream/{run.query}"
    if not button:
        return await relay_run(client, url, run.cookie, columns=3, timeout=30, close_after_texts=3)
    # The CSRF secret a browser would hold in its cookie; Django accepts it unmasked in the
    # header. (Pages that would hand one out need collectstatic, which the benchmark skips.)
    token = secrets.token_hex(16)
    texting = asyncio.Event()
    reader = asyncio.create_task(
        relay_run(
            client, url, run.cookie, columns=3, timeout=30, expect="stopped", texting=(3, texting)
        )
    )
    with contextlib.suppress(TimeoutError):  # no text in 20 s: press anyway (the reader fails)
        async with asyncio.timeout(20):
            await texting.wait()
    pressed_ns = time.monotonic_ns()
    answer = await control.post(
        f"{site}/runs/{run.code}/stop/{run.query}",
        headers={
            "Cookie": f"{run.cookie}; csrftoken={token}",
            "X-CSRFToken": token,
            "HX-Request": "true",
        },
    )
    result = await reader
    result.closed_ns = pressed_ns
    if answer.status_code != 204:
        result.error = f"Stop answered HTTP {answer.status_code}"
    return result


async def stop_phase(args: Any, site: str, sim: str, background: list, probes: list) -> dict:
    """Close (or Stop) probe runs under background load; time the upstream disconnects."""
    async with (
        client_for(len(background) + len(probes)) as client,
        client_for(len(probes)) as control,
    ):
        spacing = args.ramp / len(background)
        load = asyncio.gather(
            *(
                _staggered(
                    i * spacing,
                    relay_run(
                        client,
                        f"{site}/runs/{r.code}/stream/{r.query}",
                        r.cookie,
                        columns=3,
                        timeout=args.max_seconds,
                    ),
                )
                for i, r in enumerate(background)
            )
        )
        await asyncio.sleep(args.ramp + 2.0)
        half = len(probes) // 2
        probe_results = await asyncio.gather(
            *(
                _staggered(i * 0.1, _stop_probe(client, control, site, run, i >= half))
                for i, run in enumerate(probes)
            )
        )
        await asyncio.sleep(2.0)
        records = (await control.get(f"{sim}/_sim/requests")).json()
        background_results = await load
    return {
        "probes": probes,
        "results": probe_results,
        "records": records,
        "half": half,
        "background_errors": [r.error for r in background_results if r.error],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add(
        "--sweep",
        default="1,10,25,50,100,150,200",
        type=lambda s: [int(n) for n in s.split(",") if n],
    )
    add("--pattern", choices=["steady", "burst"], default="steady")
    add("--window", type=float, default=20.0, help="steady: seconds measured at N concurrent")
    add("--ramp", type=float, default=2.0, help="burst (and Stop load): seconds of starts")
    add("--db", choices=["postgres", "sqlite"], default="postgres")
    add("--tps", type=float, default=20.0, help="tokens/s per column")
    add("--tokens", type=int, default=400, help="tokens per column (max_tokens)")
    add("--max-seconds", type=float, default=60.0, help="deadline per stream")
    add("--coalesce-ms", type=int, default=15, help="the site's RUN_COALESCE_MS")
    add("--first-token-delay", type=float, default=0.15)
    add("--no-baseline", dest="baseline", action="store_false")
    add("--stop-on-failure", action="store_true")
    add("--stop-load", type=int, default=50, help="background runs in the Stop test")
    add("--stop-probes", type=int, default=10, help="0 skips the Stop test")
    add("--quiet", type=float, default=15.0, help="start a phase once no core is busier (%%)")
    add("--quiet-wait", type=float, default=180.0, help="seconds to wait for that, at most")
    add("--json", type=Path, help="also write every figure to this file")
    add(
        "--profile",
        type=Path,
        help="sample the site with py-spy (on PATH or PY_SPY) into this file of folded stacks",
    )
    add("--site-server", choices=["uvicorn", "granian"], default="uvicorn")
    add(
        "--no-token",
        dest="token",
        action="store_false",
        help="stream and Stop without the page's stream token (through Django's request cycle)",
    )
    add(
        "--callgrind",
        type=Path,
        help="run the site under valgrind's callgrind (into this directory) and count the "
        "instructions of each relay phase; use a small N, the site runs ~50x slower",
    )
    return parser.parse_args(argv)


def _commands(args: argparse.Namespace, sim_port: int, site_port: int) -> tuple[list, list]:
    python = sys.executable
    sim = [python, "-m", "playground.simulator", "--port", str(sim_port)]
    sim += ["--tps", f"{args.tps:g}", "--first-token-delay", str(args.first_token_delay)]
    site = host.site_command(args.site_server, site_port)
    if args.callgrind:
        site = host.under_callgrind(site, args.callgrind)
    return host.pinned(0, sim), host.pinned(1, site)


def main(argv: list[str] | None = None) -> None:
    """Set everything up, run the sweep and the Stop scenario, print the figures."""
    args = parse_args(argv)
    # A plain kill must still stop the simulator and the site (the `finally` blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        env = relay_setup.prepare_site(args, PG_URL, tmp)
        sim_port, site_port = host.free_port(), host.free_port()
        sim, site = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{site_port}"
        sim_argv, site_argv = _commands(args, sim_port, site_port)
        os.sched_setaffinity(0, {0})  # the load generator shares core 0 with the simulator
        with (
            host.process(sim_argv, {}, f"{sim}/_sim/health", "simulator") as sim_pid,
            host.process(
                site_argv, env, f"{site}/runs/", "site", 600 if args.callgrind else 30
            ) as site_pid,
            host.profiler(site_pid, args.profile),
        ):
            args.counter = host.Callgrind(site_pid, args.callgrind) if args.callgrind else None
            args.sim_url = sim
            count = max([*args.sweep, args.stop_load + args.stop_probes])
            members = relay_setup.make_members(count, [p for p, _ in COLUMNS], sim)
            points = sweep(args, site, members, (site_pid, sim_pid))
            stop = None
            if args.stop_probes:
                models = _models(args)
                background = relay_setup.make_runs(
                    members[: args.stop_load], models, args.tokens, token=args.token
                )
                chosen = members[args.stop_load : args.stop_load + args.stop_probes]
                probes = relay_setup.make_runs(chosen, models, args.tokens, token=args.token)
                relay_setup.close_connections()
                stop = print_stop(uvloop.run(stop_phase(args, site, sim, background, probes)))
    report = {"machine": host.machine(), "args": vars(args), "points": points, "stop": stop}
    print(json.dumps(report["machine"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
