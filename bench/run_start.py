"""Measure what one run start costs the site: the POST, its stream's opening, its save.

Usage (from the repository root; PostgreSQL reachable as `postgres` on 127.0.0.1):

    .venv/bin/python bench/run_start.py [--runs 200] [--db sqlite] [--profile start|open|save]

In this one process, production-like settings (DEBUG off) on its own database
`playground_bench_starts` (created and migrated; `--db sqlite` uses a throwaway file), a user
with a session and three simulator credentials starts `--runs` three-column runs, one after
another, and for each measures three phases:

- **start**: `POST /runs/new/` from htmx through Django's whole request cycle (middleware,
  session, forms, rate limit, the run cap, the inserts, the fragment), as the compare page sends
  it;
- **open**: what the stream request does before its first upstream request: the stream token's
  check (stream_endpoint), the session query, and `streaming.plan_stream` (claim, requests,
  keys), then the relay's construction;
- **save**: `streaming.persist` of every column (stopped before it was sent, so no provider is
  called): the end-of-run save.

It prints, per phase, the queries (Django's CaptureQueriesContext) and the CPU time of this
process (thread time, median and p90 over the runs after a warm-up). PostgreSQL's own CPU is not
counted (it may run in another container); the query count is its proxy. `--profile PHASE`
counts that phase's Python function calls per run (deterministic, unlike CPU time on a shared
machine; `all` for every phase), and `--top` prints cProfile's top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PG_URL = "postgres://postgres@127.0.0.1:5432/playground_bench_starts"
PROVIDERS = [("deepseek", "deepseek-chat"), ("dashscope", "qwen-plus")]
PROVIDERS += [("anthropic", "claude-sonnet-4-5")]


def _env(database_url: str) -> dict[str, str]:
    import relay_host

    return {
        **relay_host.production_env(database_url),
        "ALLOWED_HOSTS": "testserver,127.0.0.1",  # Django's test client, in this process
        "MAX_CONCURRENT_RUNS_PER_USER": "3",
        "RUN_RATE_LIMIT": "100000/m",
    }


class Phase:
    """CPU seconds and query counts of one phase, run after run."""

    def __init__(self, name: str, profile: bool) -> None:
        self.name = name
        self.cpu: list[float] = []
        self.queries: list[int] = []
        self.profiler = cProfile.Profile() if profile else None

    def measure(self, work: Callable[[], Any], *, keep: bool) -> Any:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            if self.profiler is not None and keep:
                self.profiler.enable()
            started = time.thread_time()
            result = work()
            used = time.thread_time() - started
            if self.profiler is not None and keep:
                self.profiler.disable()
        if keep:
            self.cpu.append(used)
            self.queries.append(len(captured.captured_queries))
        self.last_queries = [q["sql"] for q in captured.captured_queries]
        return result

    def line(self) -> str:
        ms = sorted(1000 * c for c in self.cpu)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        queries = statistics.median(self.queries)
        calls = ""
        if self.profiler is not None:
            total = pstats.Stats(self.profiler).total_calls  # type: ignore[attr-defined]
            calls = f" | Python calls per run {total / len(ms):,.0f} (CPU inflated by cProfile)"
        return (
            f"{self.name:6} queries {queries:4.0f} | CPU ms median {statistics.median(ms):6.2f} "
            f"p90 {p90:6.2f} ({len(ms)} runs){calls}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--profile",
        choices=["start", "open", "save", "all"],
        help="count Python calls per phase with cProfile (its CPU figures are then inflated)",
    )
    parser.add_argument("--top", action="store_true", help="with --profile, print cProfile's top")
    parser.add_argument("--show-queries", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-starts-") as tmp:
        url = PG_URL if args.db == "postgres" else f"sqlite:///{tmp}/bench.sqlite3"
        env = _env(url)
        import relay_setup

        if args.db == "postgres":
            relay_setup.ensure_database(url)
        relay_setup.migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        _measure(args)


def _measure(args: argparse.Namespace) -> None:
    from django.contrib.sessions.models import Session
    from django.test import Client

    from playground.accounts.models import User
    from playground.keys.models import Credential
    from playground.providers import simulator_base_url
    from playground.runs import stream_endpoint, stream_tokens, streaming
    from playground.runs.models import Run, RunStatus

    Run.objects.all().delete()
    Session.objects.all().delete()
    user, created = User.objects.get_or_create(username="bench-starts")
    if created:
        user.set_unusable_password()
        user.save()
    credentials = []
    for provider, _ in PROVIDERS:
        credential, _ = Credential.objects.get_or_create(
            user=user, provider=provider, defaults={"label": f"{provider} bench"}
        )
        credential.base_url = simulator_base_url(provider, "http://127.0.0.1:9")
        credential.set_key(f"sim-{secrets.token_hex(16)}")
        credential.save()
        credentials.append(credential)
    client = Client()
    client.force_login(user)
    session_key = client.cookies["sessionid"].value
    data = {
        "system": "",
        "prefix": "Once upon a time",
        "turns-0-role": "user",
        "turns-0-content": "Tell a story.",
        "t0-max_tokens": "400",
    }
    for index, (credential, (_, model)) in enumerate(zip(credentials, PROVIDERS, strict=True)):
        data[f"t{index}-credential"] = str(credential.code)
        data[f"t{index}-model"] = model
    headers = {"HX-Request": "true"}

    phases = {
        name: Phase(name, args.profile in (name, "all")) for name in ("start", "open", "save")
    }
    for number in range(args.warmup + args.runs):
        keep = number >= args.warmup
        response = phases["start"].measure(
            lambda: client.post("/runs/new/", data, headers=headers), keep=keep
        )
        if response.status_code != 200:
            raise SystemExit(f"The start answered {response.status_code}: {response.content!r}")
        run = Run.objects.order_by("-pk").first()
        assert run is not None
        token = stream_tokens.mint(run.pk, str(run.code), user.pk, session_key)

        def open_stream(run: Run = run, token: str = token) -> Any:
            grant = stream_tokens.verify(token, str(run.code), session_key)
            assert grant is not None
            plan = stream_endpoint._plan_if_signed_in(grant, session_key)
            assert not isinstance(plan, str) and len(plan.jobs) == len(PROVIDERS), plan
            streaming.relay_for(plan, lambda: None)  # type: ignore[arg-type,return-value]
            return plan

        plan = phases["open"].measure(open_stream, keep=keep)
        phases["save"].measure(
            lambda plan=plan: streaming.persist(plan, streaming.unstarted_outcomes(plan)),
            keep=keep,
        )
        assert Run.objects.get(pk=run.pk).status != RunStatus.RUNNING
        if args.show_queries and number == args.warmup:
            for phase in phases.values():
                print(f"-- {phase.name}")
                for sql in phase.last_queries:
                    print("  ", sql[:160])
    asyncio.set_event_loop(None)
    for phase in phases.values():
        print(phase.line())
    total = sum(statistics.median(1000 * c for c in p.cpu) for p in phases.values())
    queries = sum(statistics.median(p.queries) for p in phases.values())
    print(f"total  queries {queries:4.0f} | CPU ms (sum of medians) {total:6.2f}")
    for phase in phases.values():
        if phase.profiler is not None and args.top:
            stats = pstats.Stats(phase.profiler)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
