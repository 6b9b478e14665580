"""The site as deployed (a separate uvicorn process, DEBUG off) answers the audit's heaviest
requests quickly, with a clear message, and its worker's memory stays bounded.

The variable bomb (10,000 x {{x}} with a 10,000-character value: 100 MB once rendered), 10,000
stop sequences, a JSON import nested 1,000 deep, and 16,000-character diffs of two columns and
of two revisions. Then a run whose columns (one per wire family) each get a 200 MB stream from
the simulator's `flood` fault, served by a separate simulator process over loopback HTTP: each
column ends at the output limit (RUN_MAX_OUTPUT_CHARS) with its message, keeps at most that much
text, and its upstream connection is closed (the simulator's own record says how little of the
200 MB it sent). Each request has a 60 s timeout, a hang guard only: how fast they are is
measured in bench/ (BENCHMARKS.md), not asserted here. Memory is the worker's VmRSS.

The site gets a database of its own: a SQLite file, or, when the suite runs on PostgreSQL
(DATABASE_URL), a fresh database named after the suite's with `_served` appended.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet

from playground.simulator.flood import LINE
from tests.servers import free_port
from tests.simulator.conftest import socket_buffer_bytes
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
RSS_GROWTH_LIMIT_KB = 150 * 1024
OUTPUT_LIMIT = 500_000  # RUN_MAX_OUTPUT_CHARS's default, which the served site keeps
# One column per wire family, each flooded with the fault's default 200 MB.
FLOODS = {
    "deepseek": "deepseek-chat-fault-flood",
    "anthropic": "claude-haiku-4-5-fault-flood",
    "ollama": "llama3.2-fault-flood",
}

SETUP = r"""
import json, os, django
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
from playground.providers import simulator_base_url
floods = {}
for provider in ("deepseek", "anthropic", "ollama"):
    flood = Credential(user=user, provider=provider, label=f"flood {provider}",
                       base_url=simulator_base_url(provider, os.environ["SERVED_SIMULATOR"]))
    flood.set_key(f"sim-served-flood-{provider}")
    flood.save()
    floods[provider] = str(flood.code)
print(json.dumps({"session": session.session_key, "credential": str(credential.code),
                  "run": str(run.code), "template": str(template.code), "floods": floods}))
"""

SAVED = r"""
import json, sys, django
django.setup()
from playground.runs.models import Segment
segments = Segment.objects.filter(column__run__code=sys.argv[1]).order_by("column__position")
print(json.dumps([{"status": s.status, "text": s.text, "reasoning": s.reasoning,
                   "notes": s.notes} for s in segments]))
"""


def _database_url(folder: Path) -> str:
    """Return a fresh database for the site: PostgreSQL's when the suite runs on it, else SQLite."""
    suite = os.environ.get("DATABASE_URL", "")
    if not suite.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{folder / 'db.sqlite3'}"
    parts = urlsplit(suite)
    name = parts.path.lstrip("/") + "_served"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def _env(database_url: str, simulator: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    keep.pop("REDIS_URL", None)
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "tests.limits.served_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "SECURE_SSL_REDIRECT": "0",
        "SIMULATOR_ENABLED": "0",
        # The upstream is the simulator on a loopback port, a private address.
        "ALLOW_PRIVATE_BASE_URLS": "1",
        "SERVED_SIMULATOR": simulator,
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the simulator in a process of its own (fast: no pacing to wait through)."""
    port = free_port()
    log = tmp_path_factory.mktemp("simulator-log") / "simulator.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "playground.simulator", "--port", str(port)]
            + ["--tps", "5000", "--first-token-delay", "0.01"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/_sim/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, "the simulator to start")
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, simulator: str) -> Iterator[dict[str, Any]]:
    env = _env(_database_url(tmp_path_factory.mktemp("served")), simulator)
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
        yield {**world, "client": client, "pid": server.pid, "log": log, "scripts": run}
    finally:
        client.close()
        _stop(server)


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
            422,
        ),
        (
            "10,000 stops",
            lambda: client.post(
                "/runs/new/", data={**target, "prefix": "p", "stop": "s\n" * 10_000}
            ),
            "At most 16 stop sequences (MAX_STOP_SEQUENCES); this has 10,000",
            422,
        ),
        (
            "1,000-deep import",
            lambda: client.post("/templates/import/", data={"text": "[" * 1_000 + "]" * 1_000}),
            "nest 1,000 deep; an import may nest at most 20 (MAX_IMPORT_DEPTH)",
            422,
        ),
        (
            "16,000-character column diff",
            lambda: client.get(f"/runs/{site['run']}/diff/"),
            "too long or too different to compare word by word",
            200,
        ),
        (
            "16,000-character revision diff",
            lambda: client.get(f"/templates/{site['template']}/revisions/2/diff/"),
            "Assistant prefix",
            200,
        ),
    ]
    peak = start
    for name, request, message, status in checks:
        for _ in range(3):  # repeated: memory must not grow per request either
            response = request()
            assert response.status_code == status, (name, response.status_code)
            assert message in response.text, name
            peak = max(peak, _rss_kb(site["pid"]))
    growth = peak - start
    print(f"worker RSS {start / 1024:.0f} MB at start, peak {peak / 1024:.0f} MB")
    assert growth < RSS_GROWTH_LIMIT_KB, f"worker grew {growth / 1024:.0f} MB"
    log = site["log"].read_text()
    assert "Traceback" not in log and "Internal Server Error" not in log, log


def _frames(response: httpx.Response, pid: int, peak: list[int]) -> Iterator[tuple[str, str]]:
    """Yield a run stream's (event, data) frames, noting the worker's RSS as each arrives."""
    buffer = ""
    for chunk in response.iter_text():
        buffer += chunk
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            peak[0] = max(peak[0], _rss_kb(pid))
            lines = frame.split("\n")
            names = [line[7:] for line in lines if line.startswith("event: ")]
            if names:
                yield names[0], "\n".join(line[6:] for line in lines if line.startswith("data: "))


def _start_run(client: httpx.Client, targets: dict[str, str]) -> str:
    """Start a run from the compare form's fields; return its code."""
    response = client.post("/runs/new/", data={"prefix": "Once upon a time", **targets})
    assert response.status_code == 302, response.text[:2000]
    return response.headers["location"].rstrip("/").rsplit("/", 1)[-1]


def _read_run(client: httpx.Client, code: str, pid: int, peak: list[int]) -> list[tuple[str, str]]:
    """Read a run's event stream to its end (`run-done`)."""
    timeout = httpx.Timeout(TIMEOUT)
    with client.stream("GET", f"/runs/{code}/stream/", timeout=timeout) as response:
        assert response.status_code == 200
        frames = list(_frames(response, pid, peak))
    assert frames and frames[-1][0] == "run-done", frames[-3:]
    return frames


def _sim_requests(simulator: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{simulator}/_sim/requests", timeout=TIMEOUT).json())


def test_a_200_mb_upstream_stream_ends_at_the_output_limit_with_bounded_memory(
    site: dict[str, Any], simulator: str
) -> None:
    client: httpx.Client = site["client"]
    floods: dict[str, str] = site["floods"]
    pid = site["pid"]
    # Warm up: one ordinary run through every wire family, so the baseline includes the
    # streaming code, the upstream client and the run page's templates.
    ordinary = {"deepseek": "deepseek-chat", "anthropic": "claude-haiku-4-5", "ollama": "llama3.2"}
    warm = {}
    for index, (provider, model) in enumerate(ordinary.items()):
        warm |= {f"t{index}-credential": floods[provider], f"t{index}-model": model}
    _read_run(client, _start_run(client, warm), pid, [0])
    start = _rss_kb(pid)
    peak = [start]
    httpx.delete(f"{simulator}/_sim/requests", timeout=TIMEOUT)

    targets = {}
    for index, (provider, model) in enumerate(FLOODS.items()):
        targets |= {f"t{index}-credential": floods[provider], f"t{index}-model": model}
    code = _start_run(client, targets)
    frames = _read_run(client, code, pid, peak)
    ends = {name: data for name, data in frames if name.endswith("-end")}
    assert sorted(ends) == [f"col-{index}-end" for index in range(len(FLOODS))]
    for name, data in ends.items():
        shown = html.unescape(data)
        assert "Output limit reached" in shown, (name, shown[:2000])
        assert f"at most {OUTPUT_LIMIT:,} characters per column" in shown, name

    # What was saved: each column keeps its text, at most the limit, and says why it ended.
    saved = subprocess.run([sys.executable, "-c", SAVED, code], **site["scripts"])
    assert saved.returncode == 0, saved.stderr
    segments = json.loads(saved.stdout.strip().splitlines()[-1])
    assert len(segments) == len(FLOODS)
    for segment in segments:
        text = segment["text"]
        assert 0 < len(text) + len(segment["reasoning"]) <= OUTPUT_LIMIT
        assert text.startswith(LINE[:20]) and LINE in text  # the flood's own text, kept
        assert any("Output limit reached" in note for note in segment["notes"]), segment["notes"]
        assert segment["status"] == "done", segment["status"]

    # Upstream: the site closed each connection, and the simulator stopped sending.
    def flood_records() -> list[dict[str, Any]] | None:
        records = [r for r in _sim_requests(simulator) if "fault-flood" in (r["model"] or "")]
        finished = all(r["ended_at"] is not None for r in records)
        return records if len(records) == len(FLOODS) and finished else None

    records = wait_until(flood_records, "the simulator to end the flood requests")
    in_flight = socket_buffer_bytes()
    assert in_flight < 100_000_000  # else this could not tell a stopped flood from a finished one
    for record in records:
        assert record["disconnected_at"] is not None and not record["completed"], record["model"]
        assert record["bytes_sent"] < OUTPUT_LIMIT * 2 + in_flight, record

    growth = peak[0] - start
    sent = ", ".join(f"{r['provider']} {r['bytes_sent'] / 1e6:.1f} MB" for r in records)
    print(f"worker RSS {start / 1024:.0f} MB before the floods, peak {peak[0] / 1024:.0f} MB")
    print(f"the simulator sent {sent} of 200 MB each")
    assert growth < RSS_GROWTH_LIMIT_KB, f"worker grew {growth / 1024:.0f} MB"
    log = site["log"].read_text()
    assert "Traceback" not in log and "Internal Server Error" not in log, log
