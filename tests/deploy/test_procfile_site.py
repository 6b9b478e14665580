"""The site as the Procfile runs it: uvicorn, two worker processes, DEBUG off, no Redis.

The server is a separate process group started with the Procfile's own `web` command, on the
test database (PostgreSQL when DATABASE_URL is set, else the SQLite file). Each request goes
on a new connection, so either worker may answer it; the access log (one line per request,
with the worker's pid) tells which did. It shows that the login lockout holds across the two
workers, that a forged left-most X-Forwarded-For does not change the client address, and that
invite and share tokens never reach the access log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from playground.accounts.logfilters import redact
from tests.factories import PASSWORD, make_user
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
FAILURE_LIMIT = 4
ACCESS = re.compile(r'\[(\d+)\] uvicorn\.access: (\S+) - "(\w+) (\S+) HTTP/[\d.]+" (\d+)')


@dataclass
class Site:
    url: str
    lines: list[str] = field(default_factory=list)

    def access(self) -> list[tuple[str, str, str, str, int]]:
        """Return (pid, client, method, path, status) of every access-log line so far."""
        found = (ACCESS.search(line) for line in list(self.lines))
        return [(m[1], m[2], m[3], m[4], int(m[5])) for m in found if m]


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web process")


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any) -> Iterator[Site]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DEBUG": "0",
        "SECRET_KEY": "procfile-test-secret-" + "k3y" * 20,
        "ALLOWED_HOSTS": "127.0.0.1",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": _database_url(),
        "LOGIN_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "LOG_LEVEL": "INFO",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # As the platform's build does: the hashed static files the pages link to.
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=ROOT, env=env, check=True, timeout=300)
    process = subprocess.Popen(
        ["bash", "-c", f"exec {_web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    site = Site(f"http://127.0.0.1:{port}")
    assert process.stdout is not None
    stream = process.stdout
    reader = threading.Thread(target=lambda: site.lines.extend(stream), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while sum("Application startup complete" in line for line in site.lines) < 2:
            assert process.poll() is None, "".join(site.lines)
            assert time.monotonic() < deadline, "".join(site.lines)
            time.sleep(0.1)
        yield site
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        stream.close()


def _user(username: str) -> None:
    """Save a user whose password the server can check (the tests' fast hasher is not in its
    settings)."""
    user = make_user(username)
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])


class Browser:
    """Requests as a browser behind the platform's router would send them, one connection each."""

    def __init__(self, site: Site) -> None:
        self.site = site
        origin = "https://" + site.url.removeprefix("http://")
        # The router ends TLS and says so; the CSRF check compares the Origin with the host.
        self.headers = {"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"}
        page = self.get("/accounts/login/", forwarded="192.0.2.1")
        assert page.status_code == 200, page.text
        # A Secure cookie, which httpx keeps for HTTPS: read and sent back by hand.
        found = re.search(r"csrftoken=([^;]+)", page.headers.get("set-cookie", ""))
        assert found, page.headers
        token = found[1]
        self.headers |= {"Cookie": f"csrftoken={token}", "X-CSRFToken": token}

    def _served_by(self, count: int, method: str, path: str) -> tuple[str, str, str, str, int]:
        """Return the first access-log entry after the first `count` for `method` `path`."""
        deadline = time.monotonic() + 15
        while True:
            for entry in self.site.access()[count:]:
                if entry[2] == method and entry[3] == path:
                    return entry
            assert time.monotonic() < deadline, "no access-log line for the request"
            time.sleep(0.02)

    def get(self, path: str, *, forwarded: str) -> httpx.Response:
        """GET `path`; return once its access-log line is in, so the next request's is next."""
        before = len(self.site.access())
        headers = self.headers | {"X-Forwarded-For": forwarded}
        response = httpx.get(self.site.url + path, headers=headers, timeout=30)
        self._served_by(before, "GET", redact(path))  # the log shows tokens as [token]
        return response

    def login(self, username: str, password: str, *, forwarded: str) -> tuple[int, str, str]:
        """Return the status, the worker's pid and the logged client address of one login."""
        before = len(self.site.access())
        headers = self.headers | {"X-Forwarded-For": forwarded}
        response = httpx.post(
            self.site.url + "/accounts/login/",
            data={"username": username, "password": password},
            headers=headers,
            timeout=30,
        )
        pid, client, _, _, status = self._served_by(before, "POST", "/accounts/login/")
        assert status == response.status_code
        if response.status_code == 429:
            assert "Login locked for 15 minutes" in response.text
            assert response.headers["Retry-After"] == "900"
        return response.status_code, pid, client.rsplit(":", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_the_lockout_holds_across_both_worker_processes(site: Site) -> None:
    _user("alice")
    browser = Browser(site)
    failures: dict[str, int] = {}
    for attempt in range(FAILURE_LIMIT - 1):
        status, pid, _ = browser.login("alice", "wrong", forwarded=f"198.51.100.{attempt}")
        assert status == 200
        failures[pid] = failures.get(pid, 0) + 1
    status, pid, _ = browser.login("alice", "wrong", forwarded="198.51.100.99")
    assert status == 429  # the limit-th failure, wherever the others were counted
    failures[pid] = failures.get(pid, 0) + 1

    # The right password, from new addresses, until both workers have refused it.
    refused_by: set[str] = set()
    for attempt in range(60):
        status, pid, _ = browser.login("alice", PASSWORD, forwarded=f"203.0.113.{attempt}")
        assert status == 429, "a worker let a locked account in"
        refused_by.add(pid)
        if len(refused_by) == 2:
            break
    assert len(refused_by) == 2, "one worker answered every request; no proof either way"
    # Each worker refused, and at least one of them had seen fewer failures than the limit
    # itself (4 failures, 2 workers): only the shared count can have locked it.
    assert any(failures.get(pid, 0) < FAILURE_LIMIT for pid in refused_by)


@pytest.mark.django_db(transaction=True)
def test_a_forged_left_most_forwarded_for_does_not_escape_the_address_lockout(
    site: Site,
) -> None:
    _user("bob")
    browser = Browser(site)
    for attempt in range(FAILURE_LIMIT):
        # Each try claims another address on the left; the router's entry is the right-most.
        forged = f"10.{attempt}.0.1, 172.16.{attempt}.9, 192.0.2.77"
        _, _, client = browser.login(f"ghost{attempt}", "guess", forwarded=forged)
        assert client == "192.0.2.77"

    locked, _, _ = browser.login("bob", PASSWORD, forwarded="8.8.8.8, 192.0.2.77")
    elsewhere, _, _ = browser.login("bob", PASSWORD, forwarded="192.0.2.78")

    assert locked == 429
    assert elsewhere == 302


@pytest.mark.django_db(transaction=True)
def test_invite_and_share_tokens_never_reach_the_access_log(site: Site) -> None:
    browser = Browser(site)
    secrets = ["InviteTokenZ9y8X7w6", "ShareTokenQ1r2S3t4"]
    browser.get(f"/accounts/invites/{secrets[0]}/", forwarded="192.0.2.5")
    browser.get(f"/runs/shared/{secrets[1]}/", forwarded="192.0.2.5")
    browser.get(
        f"/accounts/login/?next=%2Faccounts%2Finvites%2F{secrets[0]}%2F", forwarded="192.0.2.5"
    )
    deadline = time.monotonic() + 15
    while sum("[token]" in line for line in site.lines) < 3:
        assert time.monotonic() < deadline, "".join(site.lines[-20:])
        time.sleep(0.05)

    log = "".join(site.lines)
    assert "/accounts/invites/[token]/" in log
    assert "/runs/shared/[token]/" in log
    for secret in secrets:
        assert secret not in log
