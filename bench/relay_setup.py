"""The relay benchmark's Django side: its database, users with sessions, credentials and runs.

Runs are created directly with `Run.objects.start` (as the compare form would after
validation), so the measured HTTP traffic is the streams alone. Each run's upstream requests
are also built with the provider layer's `prepare`, exactly as the stream view will send them,
for the direct baseline. Call `configure()` once, before anything else here.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import relay_host as host
from sseload import DirectCall

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench-relay-{index:04d}"
PROMPT_PREFIX = "Once upon a time"


@dataclass(frozen=True)
class Member:
    """A benchmark user: the Cookie header of a live session, and one credential per column."""

    user: Any
    cookie: str
    credentials: tuple[Any, ...]


@dataclass(frozen=True)
class PreparedRun:
    """A run waiting to be streamed, who streams it, and its upstream requests."""

    code: str
    cookie: str
    calls: tuple[DirectCall, ...]
    marker: str
    # "?t=<token>": the stream token the run's page puts in its stream and Stop URLs, so the
    # site answers them as it answers a browser (playground/runs/stream_endpoint.py); "" sends
    # them through Django's full request cycle instead (--no-token).
    query: str = ""


def configure(env: dict[str, str]) -> None:
    """Set up Django in this process with the site's environment."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database `url` names when missing; refuse non-benchmark names."""
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"Refusing database {name!r}: the benchmark only uses *bench* databases.")
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate(env: dict[str, str]) -> None:
    """Run the migrations against the benchmark database, in a child process."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def _session_cookie(user: Any) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def make_members(count: int, providers: list[str], sim_origin: str) -> list[Member]:
    """Return `count` users, each with a fresh session and a credential per provider."""
    from playground.accounts.models import User
    from playground.keys.models import Credential
    from playground.providers import simulator_base_url
    from playground.runs.models import Run

    members = []
    for index in range(count):
        user, created = User.objects.get_or_create(username=USERNAME.format(index=index))
        if created:
            user.set_unusable_password()
            user.save()
        Run.objects.filter(user=user).delete()  # earlier benchmark runs
        credentials = []
        for provider in providers:
            credential, _ = Credential.objects.get_or_create(
                user=user, provider=provider, defaults={"label": f"{provider} bench"}
            )
            # The simulator's port and the encryption key change between invocations.
            credential.base_url = simulator_base_url(provider, sim_origin)
            # Random like a real key: the provider layer scrubs any piece of the key from what
            # it records, so a key made of words from the response would cost a slow scrub.
            credential.set_key(f"sim-{secrets.token_hex(16)}")
            credential.save()
            credentials.append(credential)
        members.append(Member(user, _session_cookie(user), tuple(credentials)))
    return members


def _direct_call(run: Any, column: Any, segment: Any) -> DirectCall:
    from playground.providers import Target, prepare
    from playground.runs.streaming import completion_request

    credential = column.credential
    target = Target(
        provider=credential.provider,
        base_url=credential.effective_base_url,
        api_key=credential.reveal_key(),
        dialect=credential.effective_dialect,
    )
    call = prepare(target, completion_request(run, column, segment))
    return DirectCall(call.url, dict(call.headers), dict(call.body))


def make_runs(
    members: list[Member], models: list[str], tokens: int, *, token: bool = True
) -> list[PreparedRun]:
    """Return one waiting run per member, one column per model, `tokens` long each."""
    from playground.providers.base import Turn
    from playground.providers.prompt import Parameters, Prompt
    from playground.runs import stream_tokens
    from playground.runs.models import Run

    prepared = []
    for member in members:
        marker = f"bench-{uuid.uuid4().hex[:12]}"
        run = Run.objects.start(
            user=member.user,
            prompt=Prompt(
                turns=(Turn("user", f"Tell a story ({marker})."),),
                prefix=PROMPT_PREFIX,
                parameters=Parameters(max_tokens=tokens),
            ),
            targets=[
                {"credential": credential, "model": model, "overrides": {}}
                for credential, model in zip(member.credentials, models, strict=True)
            ],
        )
        calls = []
        for column in run.columns.select_related("credential").order_by("position"):
            calls.append(_direct_call(run, column, column.segments.get(index=0)))
        query = ""
        if token:
            session_key = member.cookie.partition("=")[2]
            query = "?t=" + stream_tokens.mint(run.pk, str(run.code), member.user.pk, session_key)
        prepared.append(PreparedRun(str(run.code), member.cookie, tuple(calls), marker, query))
    return prepared


def close_connections() -> None:
    """Close this process's database connections before the measured part."""
    from django.db import connections

    connections.close_all()


def prepare_site(args: Any, pg_url: str, tmp: str) -> dict[str, str]:
    """Return the site's environment with its database ready: PostgreSQL at `pg_url`, or a
    throwaway SQLite file in `tmp` with `--db sqlite`; created, migrated and configured."""
    database_url = pg_url if args.db == "postgres" else f"sqlite:///{tmp}/bench.sqlite3"
    env = host.site_env(args, database_url)
    if args.db == "postgres":
        ensure_database(database_url)
    migrate(env)
    configure(env)
    return env
