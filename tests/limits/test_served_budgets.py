"""The site as deployed (a separate uvicorn process, DEBUG off) answers the audit's heaviest
requests quickly, with a clear message, and its worker's memory stays bounded.

The variable bomb (10,000 x {{x}} with a 10,000-character value: 100 MB once rendered), 10,000
stop sequences, a JSON import nested 1,000 deep, and 16,000-character diffs of two columns and
of two revisions. Each request has a 60 s timeout, a hang guard only: how fast they are is
measured in bench/ (BENCHMARKS.md), not asserted here. Memory is the worker's VmRSS.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
RSS_GROWTH_LIMIT_KB = 150 * 1024

SETUP = r"""
import json, django
django.setup()
from django.contrib.sessions.backends.db import SessionStore
from playground.accounts.models import User
from playground.keys.models import Credential
from playground.prompts.models import PrefixTemplate
from playground.providers.prompt import Prompt
from playground.runs.models import Run, Segment

user = User.objects.create_user("mallory", password="x-unused-password-1")
credential = Credential(user=user, provider="deepseek", label="k")
credential.set_key("sk-served-test-0000000000")
credential.save()
prompt = Prompt()
targets = [{"credential": credential, "model": "m1"}, {"credential": credential, "model": "m2"}]
run = Run.objects.start(user=user, prompt=prompt, targets=targets)
for position, text in ((0, "a " * 8_000), (1, "b " * 8_000)):
    Segment.objects.filter(column__run=run, column__position=position).update(
        text=text, status="done")
run.refresh_status()
template = PrefixTemplate(owner=user, name="T", prefix="x " * 8_000)
template.save(author=user)
template.prefix = "y " * 8_000
template.save(author=user)
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(json.dumps({"session": session.session_key, "credential": str(credential.code),
                  "run": str(run.code), "template": str(template.code)}))
"""


def _env(database: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    keep.pop("REDIS_URL", None)
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "tests.limits.served_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECURE_SSL_REDIRECT": "0",
        "SIMULATOR_ENABLED": "0",
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    env = _env(tmp_path_factory.mktemp("served") / "db.sqlite3")
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 300}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
    assert migrated.returncode == 0, migrated.stderr
    made = subprocess.run([sys.executable, "-c", SETUP], **run)
    assert made.returncode == 0, made.stderr
    world = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    log = tmp_path_factory.mktemp("served-log") / "uvicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "playground.asgi:application"]
            + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    csrf = secrets.token_hex(16)
    client = httpx.Client(
        base_url=base,
        timeout=TIMEOUT,
        headers={"Cookie": f"sessionid={world['session']}; csrftoken={csrf}", "X-CSRFToken": csrf},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/runs/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the site did not start: " + log.read_text()
            time.sleep(0.2)
        yield {**world, "client": client, "pid": server.pid, "log": log, "start_rss": 0}
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_heaviest_requests_answer_with_a_message_and_bounded_memory(
    site: dict[str, Any],
) -> None:
    client: httpx.Client = site["client"]
    # Warm up every page involved, so the baseline includes their code and templates.
    for url in ("/runs/", "/templates/import/", f"/runs/{site['run']}/"):
        assert client.get(url).status_code == 200
    start = _rss_kb(site["pid"])
    target = {"t0-credential": site["credential"], "t0-model": "deepseek-chat"}
    checks = [
        (
            "variable bomb",
            lambda: client.post(
                "/runs/new/", data={**target, "prefix": "{{x}}" * 10_000, "var-x": "y" * 10_000}
            ),
            "the limit is 200,000 (MAX_PROMPT_CHARS)",
        ),
        (
            "10,000 stops",
            lambda: client.post(
                "/runs/new/", data={**target, "prefix": "p", "stop": "s\n" * 10_000}
            ),
            "At most 16 stop sequences (MAX_STOP_SEQUENCES); this has 10,000",
        ),
        (
            "1,000-deep import",
            lambda: client.post("/templates/import/", data={"text": "[" * 1_000 + "]" * 1_000}),
            "nest 1,000 deep; an import may nest at most 20 (MAX_IMPORT_DEPTH)",
        ),
        (
            "16,000-character column diff",
            lambda: client.get(f"/runs/{site['run']}/diff/"),
            "too long or too different to compare word by word",
        ),
        (
            "16,000-character revision diff",
            lambda: client.get(f"/templates/{site['template']}/revisions/2/diff/"),
            "Assistant prefix",
        ),
    ]
    peak = start
    for name, request, message in checks:
        for _ in range(3):  # repeated: memory must not grow per request either
            response = request()
            assert response.status_code == 200, (name, response.status_code)
            assert message in response.text, name
            peak = max(peak, _rss_kb(site["pid"]))
    growth = peak - start
    print(f"worker RSS {start / 1024:.0f} MB at start, peak {peak / 1024:.0f} MB")
    assert growth < RSS_GROWTH_LIMIT_KB, f"worker grew {growth / 1024:.0f} MB"
    log = site["log"].read_text()
    assert "Traceback" not in log and "Internal Server Error" not in log, log
