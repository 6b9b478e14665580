"""The app around the dialects: request records, introspection, lifespan, mounting under a
prefix, disconnect detection, no Django, and `python -m playground.simulator`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.simulator import create_app
from tests.simulator.conftest import KEY, Sim, anthropic_headers, bearer, free_port
from tests.waiting import HANG_GUARD, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "Hello there"}]}


def test_it_answers_health(client: httpx.Client) -> None:
    assert client.get("/_sim/health").json() == {"ok": True}


def test_it_lists_recent_requests_with_bodies_but_no_headers(client: httpx.Client) -> None:
    body = {**CHAT, "stream": True, "temperature": 0.25}
    with client.stream("POST", "/deepseek/chat/completions", json=body, headers=bearer()) as r:
        r.read()
    records = client.get("/_sim/requests").json()
    record = records[-1]
    assert record["body"] == body
    assert (record["provider"], record["path"], record["model"]) == (
        "deepseek",
        "/deepseek/chat/completions",
        "deepseek-chat",
    )
    assert record["stream"] is True and record["auth_ok"] is True and record["status"] == 200
    assert record["completed"] is True and record["disconnected_at"] is None
    assert record["chunks_sent"] > 10
    assert record["started_at"] <= record["first_byte_at"] <= record["ended_at"]
    assert abs(record["started_at_wall"] - time.time()) < 60
    # The wall-clock twins measure the same span. Each pair is read back to back, but a busy
    # machine may pause a thread between the two reads, hence the loose tolerance.
    assert record["ended_at_wall"] - record["started_at_wall"] == pytest.approx(
        record["ended_at"] - record["started_at"], abs=5
    )
    assert "headers" not in record and KEY not in json.dumps(records)
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)  # newest last


def test_it_records_a_refused_key(client: httpx.Client, sim: Sim) -> None:
    client.post("/mistral/v1/chat/completions", json=CHAT, headers=bearer("sim-invalid"))
    record = sim.last()
    assert record.auth_ok is False and record.status == 401 and record.body is None


def test_it_clears_the_records(client: httpx.Client) -> None:
    client.post("/openai/v1/chat/completions", json=CHAT, headers=bearer())
    assert client.delete("/_sim/requests").json()["cleared"] >= 1
    assert client.get("/_sim/requests").json() == []


def test_it_lists_its_endpoints_at_the_root(client: httpx.Client) -> None:
    endpoints = client.get("/").json()["endpoints"]
    assert "/deepseek/beta/chat/completions" in endpoints["deepseek"]
    assert endpoints["anthropic"] == ["/anthropic/v1/messages"]
    assert client.get("/_sim/nothing").status_code == 404


@pytest.mark.anyio
async def test_it_keeps_only_the_newest_records() -> None:
    app = create_app(tokens_per_second=10_000, first_token_delay=0, max_records=3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        for _ in range(5):
            await http.post("/openai/v1/chat/completions", json=CHAT, headers=bearer())
    assert [record.id for record in app.requests] == [3, 4, 5]


@pytest.mark.anyio
async def test_it_answers_when_mounted_under_a_root_path() -> None:
    # The site strips /sim from the path and sets root_path, as playground/asgi.py does.
    app = create_app(tokens_per_second=10_000, first_token_delay=0)
    transport = httpx.ASGITransport(app=app, root_path="/sim")
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        response = await http.post("/deepseek/chat/completions", json=CHAT, headers=bearer())
    assert response.status_code == 200
    assert app.requests[-1].path == "/deepseek/chat/completions"


@pytest.mark.anyio
async def test_it_answers_the_lifespan_protocol() -> None:
    app = create_app()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for message in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": message})
    await asyncio.wait_for(app({"type": "lifespan"}, inbox.get, send), timeout=HANG_GUARD)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_it_refuses_a_non_positive_token_rate() -> None:
    with pytest.raises(ValueError, match="tokens_per_second"):
        create_app(tokens_per_second=0)


STREAMS = {
    "openai-style": ("/vllm/v1/chat/completions", bearer(), {}),
    "anthropic": ("/anthropic/v1/messages", anthropic_headers(), {"max_tokens": 4000}),
    "ollama": ("/ollama/api/chat", {}, {}),
}


@pytest.mark.parametrize("dialect", sorted(STREAMS))
def test_it_records_a_client_disconnect_and_stops_generating(
    client: httpx.Client, sim: Sim, dialect: str
) -> None:
    path, headers, extra = STREAMS[dialect]
    body = {**CHAT, "model": "m-long-tps200", "stream": True, **extra}
    with client.stream("POST", path, json=body, headers=headers) as response:
        for count, _ in enumerate(response.iter_lines()):
            if count == 6:
                # Leaving the line iterator already closes the connection.
                closing = time.monotonic()
                break
    record = sim.last()
    # `ended_at` is set once the generation has been cancelled: nothing is sent after it.
    wait_until(lambda: record.ended_at is not None, "the simulator to end the request")
    assert record.disconnected_at is not None and closing <= record.disconnected_at
    assert not record.completed
    assert record.chunks_sent < 1000  # a whole long answer is some 2,000 tokens


def test_it_records_a_disconnect_while_a_whole_answer_is_pending(
    client: httpx.Client, sim: Sim
) -> None:
    body = {**CHAT, "model": "deepseek-chat-long-tps100"}  # about 20 s of generation
    with pytest.raises(httpx.ReadTimeout):
        client.post("/deepseek/chat/completions", json=body, headers=bearer(), timeout=0.3)
    record = sim.last()
    wait_until(lambda: record.disconnected_at is not None, "the disconnect to be recorded")
    assert record.status is None and not record.completed


def test_it_imports_without_loading_django() -> None:
    code = (
        "import playground.simulator, sys; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=30)


def test_it_runs_standalone_with_python_dash_m() -> None:
    port = free_port()
    command = [sys.executable, "-m", "playground.simulator", "--port", str(port), "--tps", "5000"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                assert httpx.get(f"{url}/_sim/health", timeout=1).json() == {"ok": True}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        response = httpx.post(f"{url}/openai/v1/chat/completions", json=CHAT, headers=bearer())
        assert response.json()["choices"][0]["message"]["content"].startswith("Sure!")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=HANG_GUARD)
    assert f"http://127.0.0.1:{port}/" in output
