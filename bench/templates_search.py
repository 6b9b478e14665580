"""Benchmark the template library page on PostgreSQL with 100,000 templates.

Usage (from the repository root):

    .venv/bin/python bench/templates_search.py [--templates 100000] [--runs 50]

It uses its own database, DATABASE_URL or by default
postgres://postgres@127.0.0.1:5432/playground_bench_templates, creating it when missing and
refusing any database whose name lacks "bench". It migrates, seeds the templates once (a re-run
reuses them), then requests the real library view through Django's test client, logged in as a
member of two teams, over representative queries, and prints p50/p95/max per query.
Results and the machine they came from are recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/playground_bench_templates"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django  # noqa: E402
import psycopg  # noqa: E402

SHOWN_RE = re.compile(r'class="result-count[^>]*>\s*(.*?)\s*</p>', re.S)
SEED = 20260601
BATCH = 2000
USERS, TEAMS = 300, 40
RARE_WORD = "quokka"  # appears in about 1 template in 2,000
QUERIES = [
    ("first page, no filter", ""),
    ("common word", "?q=python"),
    ("rare word", f"?q={RARE_WORD}"),
    ("two words", "?q=json+extract"),
    ("tag filter", "?tag=sql"),
    ("category + sort by name", "?category=story&sort=name"),
    ("public, newest first", "?visibility=public&sort=newest"),
    ("page 50", "?page=50"),
    ("search + tag + page 3", "?q=code&tag=python&page=3"),
]
# Not part of the target: pg_trgm needs three characters, so a one- or two-letter word that
# matches almost nothing can only be answered by reading the whole table. Measured to be honest.
EDGE_CASES = [("two letters, almost no match", "?q=zx")]

WORDS = [
    "alpha",
    "async",
    "batch",
    "buffer",
    "cache",
    "chart",
    "client",
    "cloud",
    "column",
    "config",
    "context",
    "cursor",
    "data",
    "debug",
    "deploy",
    "design",
    "docs",
    "draft",
    "engine",
    "event",
    "field",
    "filter",
    "format",
    "graph",
    "handler",
    "header",
    "index",
    "input",
    "kernel",
    "layout",
    "limit",
    "linear",
    "logic",
    "matrix",
    "memory",
    "metric",
    "model",
    "module",
    "network",
    "node",
    "output",
    "packet",
    "parser",
    "pattern",
    "pipeline",
    "policy",
    "prompt",
    "query",
    "queue",
    "record",
    "render",
    "report",
    "request",
    "result",
    "router",
    "sample",
    "schema",
    "script",
    "search",
    "server",
    "signal",
    "source",
    "stream",
    "string",
    "summary",
    "table",
    "target",
    "task",
    "tensor",
    "thread",
    "token",
    "trace",
    "update",
    "value",
    "vector",
    "window",
    "worker",
]
TAGS = [
    "python",
    "sql",
    "bash",
    "json",
    "typescript",
    "code",
    "fiction",
    "story",
    "roleplay",
    "fim",
    "reasoning",
    "vision",
    "extraction",
    "summary",
    "translation",
    "chinese",
    "english",
    "review",
    "email",
    "marketing",
    "support",
    "legal",
    "medical",
    "finance",
    "math",
    "tutor",
    "game",
    "dialogue",
    "poetry",
    "haiku",
    "recipe",
    "travel",
    "history",
    "science",
    "physics",
    "chemistry",
    "biology",
    "music",
    "film",
    "sports",
    "news",
    "interview",
    "resume",
    "cover-letter",
    "slogan",
    "naming",
    "regex",
    "yaml",
    "csv",
    "markdown",
    "table",
    "list",
    "outline",
    "plan",
    "test",
    "refactor",
    "docs",
    "commit",
]
CATEGORIES = ["code_fence", "story", "json", "roleplay", "fim", "other"]
OPENERS = {
    "code_fence": ["```python\n", "```sql\n", "```bash\n", "```typescript\n", "```json\n"],
    "story": ["Once upon a time, ", "The rain had not stopped for three days when ", "那天夜里，"],
    "json": ["{", '{\n  "name": "', "[\n  {"],
    "roleplay": ["Holmes: ", "Captain: ", "Narrator: "],
    "fim": ["def solve(items):\n    ", "function main() {\n  "],
    "other": ["Answer:", "Summary:", "| Option | Pros | Cons |\n|---|---|---|\n|"],
}


def _database_name() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]


def ensure_database() -> None:
    """Create the benchmark database when it does not exist yet."""
    url, name = os.environ["DATABASE_URL"], _database_name()
    if "bench" not in name:
        sys.exit(f"Refusing to use database {name!r}: the benchmark needs its own (…bench…).")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _template(rng: random.Random, number: int, users: list[Any], teams: list[Any]) -> Any:
    from playground.prompts.models import PrefixTemplate, Visibility

    category = rng.choice(CATEGORIES)
    tags = rng.sample(TAGS[:12], 1) + rng.sample(TAGS, rng.randint(0, 3))
    language = rng.choice(["python", "sql", "rust", "go", "java", "json"])
    description = f"Use for {_sentence(rng, 8)} with {language}; {_sentence(rng, 10)}."
    if number % 2000 == 7:
        description += f" Tested on the {RARE_WORD} dataset."
    roll = rng.random()
    owner = rng.choice(users)
    visibility, team = Visibility.PUBLIC, None
    if roll < 0.25:
        visibility, team = Visibility.TEAM, rng.choice(teams)
    elif roll < 0.45:
        visibility = Visibility.PRIVATE
    template = PrefixTemplate(
        name=f"{_sentence(rng, 2).title()} {category.replace('_', ' ')} #{number}",
        description=description,
        category=category,
        tags=list(dict.fromkeys(tags)),
        system=_sentence(rng, 20),
        turns=[{"role": "user", "content": _sentence(rng, 30), "images": []}],
        prefix=rng.choice(OPENERS[category]) + _sentence(rng, rng.randint(0, 12)),
        stop=["```"] if category == "code_fence" else [],
        owner=owner,
        visibility=visibility,
        team=team,
    )
    template.refresh_index()
    return template


def _people(rng: random.Random) -> None:
    """Create the users, the teams and their memberships, unless a previous run did."""
    from playground.accounts.models import Membership, Role, Team, User

    if User.objects.filter(username="bench-user").exists():
        return
    User.objects.bulk_create(User(username=f"bench-{n}") for n in range(USERS))
    bench_user = User.objects.create(username="bench-user")
    Team.objects.bulk_create(Team(name=f"Team {n}") for n in range(TEAMS))
    users, teams = list(User.objects.exclude(pk=bench_user.pk)), list(Team.objects.all())
    Membership.objects.bulk_create(
        Membership(team=team, user=user, role=rng.choice(list(Role)))
        for team in teams
        for user in rng.sample(users, 12)
    )
    for team in teams[:2]:
        Membership.objects.create(team=team, user=bench_user, role=Role.EDITOR)


def seed(total: int) -> tuple[Any, int]:
    """Return the benchmark user and how many templates exist, creating what is missing."""
    from django.db import connection

    from playground.accounts.models import Team, User
    from playground.prompts.management.commands.load_starter_library import (
        load_starter_library,
    )
    from playground.prompts.models import PrefixTemplate

    rng = random.Random(SEED)
    _people(rng)
    bench_user = User.objects.get(username="bench-user")
    # The measured user owns a share of the templates, as an active member would.
    users = list(User.objects.exclude(pk=bench_user.pk)) + [bench_user] * 5
    teams = list(Team.objects.all())
    load_starter_library()
    existing = PrefixTemplate.objects.count()
    started = time.perf_counter()
    for start in range(existing, total, BATCH):
        batch = [_template(rng, n, users, teams) for n in range(start, min(start + BATCH, total))]
        PrefixTemplate.objects.bulk_create(batch)
        print(f"\r  seeded {start + len(batch):,} templates", end="", flush=True)
    if existing < total:
        with connection.cursor() as cursor:
            # Spread the timestamps over a year so sorting by date means something.
            cursor.execute(
                "UPDATE prompts_prefixtemplate SET "
                "created_at = now() - random() * interval '365 days', "
                "updated_at = now() - random() * interval '180 days' WHERE key = ''"
            )
            # The UPDATE left a dead copy of every row: compact, as a long-lived table would be.
            cursor.execute("VACUUM FULL ANALYZE prompts_prefixtemplate")
        print(f"\n  seeding took {time.perf_counter() - started:.0f} s")
    return bench_user, PrefixTemplate.objects.count()


def percentile(values: list[float], fraction: float) -> float:
    """Return the `fraction` percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def measure(user: Any, runs: int) -> list[tuple[str, str, float, float, float, str]]:
    """Return (label, query, p50, p95, max in ms, what the page says it shows) per query."""
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False  # no query log kept in memory while timing
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As in the tests: static URLs without the manifest, which only exists after collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    client.force_login(user)
    results = []
    for label, query in QUERIES + EDGE_CASES:
        for _ in range(3):
            assert client.get(f"/templates/{query}").status_code == 200
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(f"/templates/{query}")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        found = SHOWN_RE.search(response.content.decode())
        shown = found.group(1) if found else "no match"
        results.append(
            (
                label,
                query or "(none)",
                statistics.median(timings),
                percentile(timings, 0.95),
                max(timings),
                shown,
            )
        )
    return results


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kilobytes = int(meminfo.read_text().split()[1])
        memory = f", {kilobytes / 1024 / 1024:.0f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{memory}"


def main() -> None:
    """Seed if needed, time every query and print the results as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    ensure_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    user, count = seed(args.templates)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    print(f"Machine: {_machine()}")
    print(
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {pg_version}; {count:,} templates; {args.runs} timed runs per query"
    )
    print()
    print("| Query | URL | p50 ms | p95 ms | max ms | page shows |")
    print("|---|---|---:|---:|---:|---:|")
    worst = 0.0
    edge_labels = {label for label, _ in EDGE_CASES}
    for label, query, p50, p95, top, shown in measure(user, args.runs):
        if label in edge_labels:
            label = f"*{label}* (edge case)"
        else:
            worst = max(worst, p95)
        print(f"| {label} | `{query}` | {p50:.1f} | {p95:.1f} | {top:.1f} | {shown} |")
    print()
    print(f"Worst p95 over the representative queries: {worst:.1f} ms (target: under 50 ms)")


if __name__ == "__main__":
    main()
