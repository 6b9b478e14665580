"""Measure httpx's transports for reading streamed completions: CPU per chunk, in one process.

Usage (from the repository root):

    .venv/bin/python bench/transport.py [--streams 150] [--tokens 200] [--tps 20] [--rounds 3]

Starts the simulator in its own process (pinned to core 0) and, in this process (pinned to core
1), reads `--streams` concurrent completions through the provider layer's `stream_completion`,
once with httpx's default transport (httpcore) and once with httpx-aiohttp's transport as the site
builds it (playground/http.py), alternating `--rounds` times. Prints this process's CPU seconds
per received text delta for each, with the median over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import relay_host as host
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django  # noqa: E402

django.setup()

from playground.http import build_client  # noqa: E402
from playground.providers import (  # noqa: E402
    CompletionRequest,
    Target,
    TextDelta,
    Turn,
    simulator_base_url,
    stream_completion,
)


async def _one(client: httpx.AsyncClient, target: Target, tokens: int, n: int) -> int:
    request = CompletionRequest(
        model="deepseek-chat-long",
        prefix="Once",
        turns=(Turn("user", f"Story {n}."),),
        max_tokens=tokens,
    )
    deltas = 0
    events = stream_completion(client, target, request, allow_private=True)
    async with aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta):
                deltas += 1
    return deltas


async def _round(make: Any, target: Target, streams: int, tokens: int) -> tuple[float, int]:
    async with make() as client:
        await _one(client, target, 2, -1)  # warm the pool
        before = time.process_time()
        counts = await asyncio.gather(*(_one(client, target, tokens, n) for n in range(streams)))
        used = time.process_time() - before
    return used, sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=150)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--tps", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = host.free_port()
    sim = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "playground.simulator", "--port", str(port)]
    argv += ["--tps", f"{args.tps:g}", "--first-token-delay", "0.05"]
    transports = {
        "httpx default (httpcore)": lambda: httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=2000)
        ),
        "httpx-aiohttp (site)": lambda: build_client(allow_private=True),
    }
    results: dict[str, list[float]] = {name: [] for name in transports}
    os.sched_setaffinity(0, {1})
    with host.process(host.pinned(0, argv), {}, f"{sim}/_sim/health", "simulator"):
        target = Target(
            provider="deepseek", base_url=simulator_base_url("deepseek", sim), api_key="sim-x"
        )
        for _ in range(args.rounds):
            for name, make in transports.items():
                used, deltas = uvloop.run(_round(make, target, args.streams, args.tokens))
                results[name].append(used / deltas * 1e6)
                print(f"{name}: {used:.2f} s CPU for {deltas} deltas", flush=True)
    for name, per_chunk in results.items():
        rounds = ", ".join(f"{value:.0f}" for value in per_chunk)
        median = statistics.median(per_chunk)
        print(f"{name}: median {median:.0f} µs CPU per delta (rounds: {rounds})")
    print(host.machine())


if __name__ == "__main__":
    main()
