"""Soak the relay: thousands of three-column runs through one site process, then count leftovers.

Usage (from the repository root; PostgreSQL reachable as `postgres` on 127.0.0.1):

    .venv/bin/python bench/soak.py [--runs 5000] [--concurrency 50] [--db sqlite]

Starts the simulator and the site (one uvicorn worker, production-like: DEBUG off, WARNING
logs) like bench/relay.py, then streams `--runs` runs, `--concurrency` at a time, with short
answers so that many runs start and end. Every fifth run is abandoned mid-stream (the browser
goes away) and every fifth uses a fault model (mid-stream error, 429), so every way a column ends
is exercised. It prints errors, the site's RSS after the first 500 runs and at the end, and the
site's connections to the simulator once the pool's keep-alive expiry has passed: idle
connections are closed by then, so any still open were never returned to the pool (a leak).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import relay_host as host
import relay_setup
import uvloop
from sseload import client_for, relay_run

PG_URL = "postgres://postgres@127.0.0.1:5432/playground_bench_soak"
PROVIDERS = ["deepseek", "dashscope", "anthropic"]
MODELS = {
    "plain": ["deepseek-chat", "qwen-plus", "claude-sonnet-4-5"],
    "faults": ["deepseek-chat-fault-midstream", "qwen-plus-fault-429", "claude-sonnet-4-5"],
}
KEEPALIVE_EXPIRY = 30.0  # playground/http.py KEEPALIVE_SECONDS
TCP_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT", "06": "TIME_WAIT", "04": "FIN_WAIT1"}


def sockets_to(pid: int, port: int) -> dict[str, int]:
    """Return the TCP states of `pid`'s sockets whose remote port is `port` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    states: dict[str, int] = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[9] in inodes and remote_port == port:
                name = TCP_STATES.get(fields[3], fields[3])
                states[name] = states.get(name, 0) + 1
    return states


async def _batch(site: str, runs: list[Any], first: int) -> list[str | None]:
    async with client_for(len(runs)) as client:
        coros = []
        for offset, run in enumerate(runs):
            n = first + offset
            coros.append(
                relay_run(
                    client,
                    f"{site}/runs/{run.code}/stream/{run.query}",
                    run.cookie,
                    columns=3,
                    timeout=60,
                    close_after_texts=2 if n % 5 == 2 else None,
                    expect="any",
                )
            )
        results = await asyncio.gather(*coros)
    return [r.error for r in results]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--tps", type=float, default=100.0)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.coalesce_ms = 40
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        env = relay_setup.prepare_site(args, PG_URL, tmp)
        sim_port, site_port = host.free_port(), host.free_port()
        sim, site = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{site_port}"
        python = sys.executable
        sim_argv = [python, "-m", "playground.simulator", "--port", str(sim_port)]
        sim_argv += ["--tps", f"{args.tps:g}", "--first-token-delay", "0.05"]
        site_argv = [str(Path(python).parent / "uvicorn"), "playground.asgi:application"]
        site_argv += ["--host", "127.0.0.1", "--port", str(site_port), "--log-level", "warning"]
        with (
            host.process(host.pinned(0, sim_argv), {}, f"{sim}/_sim/health", "simulator"),
            host.process(host.pinned(1, site_argv), env, f"{site}/runs/", "site") as site_pid,
        ):
            members = relay_setup.make_members(args.concurrency, PROVIDERS, sim)
            errors: list[str] = []
            rss_at_500 = None
            started = time.monotonic()
            cpu_before = host.cpu_seconds(site_pid)
            done = 0
            while done < args.runs:
                count = min(args.concurrency, args.runs - done)
                kind = "faults" if (done // args.concurrency) % 5 == 4 else "plain"
                runs = relay_setup.make_runs(members[:count], MODELS[kind], args.tokens)
                relay_setup.close_connections()
                batch_errors = uvloop.run(_batch(site, runs, done))
                errors += [e for e in batch_errors if e]
                done += count
                if rss_at_500 is None and done >= 500:
                    rss_at_500 = host.rss_mib(site_pid)
                if done % 500 == 0:
                    print(
                        f"{done} runs, {len(errors)} errors, RSS {host.rss_mib(site_pid):.1f} MiB,"
                        f" sockets {sockets_to(site_pid, sim_port)}",
                        flush=True,
                    )
            wall = time.monotonic() - started
            cpu = host.cpu_seconds(site_pid) - cpu_before
            rss_end = host.rss_mib(site_pid)
            open_now = sockets_to(site_pid, sim_port)
            time.sleep(KEEPALIVE_EXPIRY + 5)
            open_later = sockets_to(site_pid, sim_port)
    report = {
        "runs": args.runs,
        "concurrency": args.concurrency,
        "errors": len(errors),
        "first_errors": errors[:5],
        "wall_s": round(wall, 1),
        "site_cpu_s": round(cpu, 1),
        "rss_after_500_mib": rss_at_500,
        "rss_end_mib": rss_end,
        "sockets_at_end": open_now,
        "sockets_after_keepalive_expiry": open_later,
        "machine": host.machine(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
