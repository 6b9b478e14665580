"""Benchmark Stop across processes: Stop pressed on one worker, the run streaming in another.

Usage (from the repository root; PostgreSQL reachable as `postgres` on 127.0.0.1):

    .venv/bin/python bench/stop_latency.py [--load 50] [--stops 40] [--workers 2]

It starts the provider simulator (its own process) and the site as the Procfile does: uvicorn
with `--workers 2`, DEBUG off, no Redis, on its own database `playground_bench_stop`. Then it
streams `--load` background three-column runs (about `--tokens` / `--tps` seconds each), and,
while they stream, `--stops` probe runs one after another: each probe run streams until some
text has arrived; the lease holder column says which worker streams it; fresh keep-alive
connections are opened until one is served by the *other* worker (learnt by streaming a tiny
run on it); Stop is pressed on that connection. Timed from sending Stop to the last `col-*-end`
frame of the probe's stream (what the user sees), and to the Stop's 204. The machine's load
average is printed before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from sseload import SSEParser, client_for, percentile, relay_run

PG_URL = "postgres://postgres@127.0.0.1:5432/playground_bench_stop"
MODELS = ["deepseek-chat", "qwen-plus", "claude-sonnet-4-5"]
PROVIDERS = ["deepseek", "dashscope", "anthropic"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--load", type=int, default=50, help="background three-column runs")
    add("--stops", type=int, default=40, help="Stops to time")
    add("--workers", type=int, default=2)
    add("--tps", type=float, default=20.0)
    add("--tokens", type=int, default=1200, help="tokens per background column")
    add("--ramp", type=float, default=5.0, help="seconds over which background runs start")
    add("--coalesce-ms", type=int, default=40)
    add("--db", choices=["postgres", "sqlite"], default="postgres")
    add("--json", type=Path, help="also write every figure to this file")
    return parser.parse_args(argv)


def loadavg() -> str:
    """Return the 1, 5 and 15 minute load averages, as uptime prints them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class ProbeStream:
    """A probe run's stream: when text arrived and when each column ended."""

    def __init__(self) -> None:
        self.texts = 0
        self.ends: dict[int, int] = {}
        self.done = asyncio.Event()
        self.texting = asyncio.Event()

    async def read(self, client: httpx.AsyncClient, url: str, cookie: str) -> None:
        parser = SSEParser()
        try:
            async with (
                asyncio.timeout(120),
                client.stream("GET", url, headers={"Cookie": cookie}) as response,
            ):
                async for chunk in response.aiter_raw():
                    now = time.monotonic_ns()
                    for frame in parser.feed(chunk):
                        if frame.event.endswith("-text"):
                            self.texts += 1
                            if self.texts >= 6:
                                self.texting.set()
                        elif frame.event.startswith("col-") and frame.event.endswith("-end"):
                            self.ends[int(frame.event.split("-")[1])] = now
        finally:
            self.texting.set()
            self.done.set()


def holder_pid(code: str) -> int | None:
    from playground.runs.models import Segment

    holders = set(
        Segment.objects.filter(column__run__code=code).values_list("holder", flat=True)
    ) - {""}
    return int(holders.pop().split("-", 1)[0]) if len(holders) == 1 else None


async def worker_of(client: httpx.AsyncClient, site: str, member: Any) -> int:
    """Return the worker pid serving `client`'s connection: stream a tiny run on it."""
    from asgiref.sync import sync_to_async

    tiny = (await sync_to_async(relay_setup.make_runs)([member], MODELS, 2))[0]
    answer = await client.get(f"{site}/runs/{tiny.code}/stream/", headers={"Cookie": tiny.cookie})
    assert "run-done" in answer.text, answer.text[-300:]
    pid = await sync_to_async(holder_pid)(tiny.code)
    assert pid is not None
    return pid


async def one_stop(site: str, stream_client: httpx.AsyncClient, probe: Any, member: Any) -> dict:
    from asgiref.sync import sync_to_async

    reader = ProbeStream()
    task = asyncio.create_task(
        reader.read(stream_client, f"{site}/runs/{probe.code}/stream/{probe.query}", probe.cookie)
    )
    await reader.texting.wait()
    streaming_in = await sync_to_async(holder_pid)(probe.code)
    token = secrets.token_hex(16)
    headers = {
        "Cookie": f"{probe.cookie}; csrftoken={token}",
        "X-CSRFToken": token,
        "HX-Request": "true",
    }
    attempts = 0
    while True:
        attempts += 1
        async with httpx.AsyncClient(timeout=30) as control:
            answered_by = await worker_of(control, site, member)
            if answered_by == streaming_in and attempts < 100:
                continue
            pressed = time.monotonic_ns()
            answer = await control.post(
                f"{site}/runs/{probe.code}/stop/{probe.query}", headers=headers
            )
            answered = time.monotonic_ns()
            break
    await task
    last_end = max(reader.ends.values()) if len(reader.ends) == 3 else None
    return {
        "cross_process": answered_by != streaming_in,
        "status": answer.status_code,
        "answer_ms": (answered - pressed) / 1e6,
        "end_ms": None if last_end is None else (last_end - pressed) / 1e6,
        "attempts": attempts,
    }


async def run(
    args: argparse.Namespace, site: str, background: list, probes: list, members: list
) -> dict:
    async with client_for(len(background) + 2) as client:
        spacing = args.ramp / max(1, len(background))

        async def staggered(i: int, r: Any) -> Any:
            await asyncio.sleep(i * spacing)
            return await relay_run(
                client,
                f"{site}/runs/{r.code}/stream/{r.query}",
                r.cookie,
                columns=3,
                timeout=args.tokens / args.tps + 120,
            )

        load = asyncio.gather(*(staggered(i, r) for i, r in enumerate(background)))
        await asyncio.sleep(args.ramp + 2.0)
        print(f"background streaming; load average {loadavg()}", flush=True)
        results = []
        for probe, member in zip(probes, members, strict=True):
            results.append(await one_stop(site, client, probe, member))
            print(json.dumps(results[-1]), flush=True)
        background_results = await load
    return {
        "stops": results,
        "background_errors": [r.error for r in background_results if r.error],
    }


def summary(stops: list[dict]) -> dict:
    ends = [s["end_ms"] for s in stops if s["end_ms"] is not None and s["cross_process"]]
    answers = [s["answer_ms"] for s in stops if s["cross_process"]]
    return {
        "stops": len(stops),
        "cross_process": sum(s["cross_process"] for s in stops),
        "missing_end_frames": sum(s["end_ms"] is None for s in stops),
        "stop_to_last_end_ms": {p: round(percentile(ends, p) or 0, 1) for p in (50, 90, 99, 100)},
        "stop_answer_ms": {p: round(percentile(answers, p) or 0, 1) for p in (50, 99)},
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-stop-") as tmp:
        env = relay_setup.prepare_site(args, PG_URL, tmp)
        sim_port, site_port = host.free_port(), host.free_port()
        sim, site = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{site_port}"
        python = sys.executable
        sim_argv = [
            python,
            "-m",
            "playground.simulator",
            "--port",
            str(sim_port),
            "--tps",
            f"{args.tps:g}",
            "--first-token-delay",
            "0.15",
        ]
        site_argv = [
            str(Path(python).parent / "uvicorn"),
            "playground.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(site_port),
            "--log-level",
            "warning",
            "--workers",
            str(args.workers),
            "--timeout-graceful-shutdown",
            "5",
        ]
        before = loadavg()
        with (
            host.process(sim_argv, {}, f"{sim}/_sim/health", "simulator"),
            host.process(site_argv, env, f"{site}/runs/", "site"),
        ):
            members = relay_setup.make_members(args.load + args.stops, PROVIDERS, sim)
            models = [f"{m}-bench-long-tps{args.tps:g}" for m in MODELS]
            background = relay_setup.make_runs(members[: args.load], models, args.tokens)
            probe_members = members[args.load :]
            probes = relay_setup.make_runs(probe_members, models, args.tokens)
            relay_setup.close_connections()
            outcome = asyncio.run(run(args, site, background, probes, probe_members))
    report = {
        "machine": host.machine(),
        "load_average_before": before,
        "load_average_after": loadavg(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "summary": summary(outcome["stops"]),
        "background_errors": outcome["background_errors"],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**report, "stops": outcome["stops"]}, indent=2))


if __name__ == "__main__":
    main()
