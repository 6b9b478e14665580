"""Start the site the way the Procfile does, in child processes, against the test database.

uvicorn with `--workers N`, DEBUG off, production settings, no Redis; the built-in simulator
under /sim/ is the upstream (SIMULATOR_ENABLED=1, ALLOW_PRIVATE_BASE_URLS=1). The children use
this test process's SECRET_KEY and ENCRYPTION_KEYS, so sessions and credentials made here work
there, and the test database (PostgreSQL, or SQLite's file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """Return a URL of the database the tests use right now (the test database)."""
    database = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        user = quote(database.get("USER") or "")
        password = quote(database.get("PASSWORD") or "")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = database.get("HOST") or "127.0.0.1"
        port = database.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{database['NAME']}"
    return f"sqlite:///{database['NAME']}"


def site_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        ENCRYPTION_KEYS=",".join(settings.ENCRYPTION_KEYS),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SIMULATOR_ENABLED="1",
        ALLOW_PRIVATE_BASE_URLS="1",
        MAX_CONCURRENT_RUNS_PER_USER="1000",
        LOG_LEVEL="WARNING",
        DATABASE_URL=database_url(),
        **extra,
    )
    return env


@dataclass
class Site:
    url: str
    process: subprocess.Popen[bytes]

    def workers(self) -> set[int]:
        """Return the pids of the worker processes (the server itself with one worker)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = {int(pid) for pid in path.read_text().split()} if path.exists() else set()
        return children or {self.process.pid}


@contextmanager
def production_site(workers: int, **extra: str) -> Iterator[Site]:
    """Serve the site like the Procfile's `web` line; yield it; stop it (SIGTERM) on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "playground.asgi:application"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "25"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    process = subprocess.Popen(argv, cwd=ROOT, env=site_env(**extra))
    site = Site(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_serving(site, workers)
        yield site
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(site: Site, workers: int) -> None:
    deadline = time.monotonic() + 120  # a hang guard: startup takes a few seconds
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            raise RuntimeError(f"The site exited with code {site.process.returncode}.")
        try:
            answer = httpx.get(f"{site.url}/sim/_sim/requests", timeout=2)
            if answer.status_code == 200 and len(site.workers()) >= workers:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("The site did not start within 120 s.")


def session_cookie(user: object) -> str:
    """Return a Cookie header value that signs `user` in (and carries a CSRF secret)."""
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={CSRF_SECRET}"


# A browser holds the CSRF secret in its cookie; Django accepts it unmasked in the header.
CSRF_SECRET = "x" * 32


def post_headers(cookie: str) -> dict[str, str]:
    return {"Cookie": cookie, "X-CSRFToken": CSRF_SECRET, "HX-Request": "true"}
