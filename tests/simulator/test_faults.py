"""Faults chosen by model name, in each wire family: status errors, slow and silent streams,
errors and cuts mid-stream, malformed chunks, benchmark stamps and per-request token rates.
The session simulator waits 1 s for `slow` and sends a keep-alive every 0.2 s.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from playground.simulator.faults import model_options
from tests.simulator.conftest import Sim, anthropic_headers, bearer, sse_events
from tests.waiting import wait_until

USER = {"role": "user", "content": "Tell me a story."}
DIALECTS = {
    "deepseek": ("/deepseek/beta/chat/completions", {"prefix": True}, bearer()),
    "openrouter": ("/openrouter/api/v1/chat/completions", {}, bearer()),
    "anthropic": ("/anthropic/v1/messages", {}, anthropic_headers()),
    "ollama": ("/ollama/api/chat", {}, {}),
}


def request(dialect: str, model: str, stream: bool = True, **extra: Any) -> dict[str, Any]:
    """Return a prefix request for `dialect` with `model`."""
    flags = DIALECTS[dialect][1]
    messages = [USER, {"role": "assistant", "content": "Once upon a time", **flags}]
    return {"model": model, "messages": messages, "stream": stream, "max_tokens": 60, **extra}


def read(
    client: httpx.Client,
    dialect: str,
    body: dict[str, Any],
    limit: int = 10_000,
    read_timeout: float = 5.0,
) -> tuple[httpx.Response, list[str], Exception | None]:
    """Stream `body` and return the response, up to `limit` non-blank lines, and any error."""
    path, _, headers = DIALECTS[dialect]
    lines: list[str] = []
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with client.stream("POST", path, json=body, headers=headers, timeout=timeout) as response:
        try:
            for line in response.iter_lines():
                if line:
                    lines.append(line)
                if len(lines) >= limit:
                    break
        except httpx.HTTPError as exc:
            return response, lines, exc
    return response, lines, None


def wait_for_disconnect(sim: Sim) -> float:
    """Return the newest record's disconnect time, once the simulator has noticed it."""
    record = sim.last()
    return wait_until(lambda: record.disconnected_at, "the simulator to notice the disconnect")


@pytest.mark.parametrize(
    ("dialect", "fault", "status", "kind"),
    [
        ("deepseek", "429", 429, "rate_limit_error"),
        ("deepseek", "500", 500, "server_error"),
        ("deepseek", "503", 503, "server_error"),
        ("anthropic", "429", 429, "rate_limit_error"),
        ("anthropic", "500", 500, "api_error"),
        ("anthropic", "503", 529, "overloaded_error"),
        ("openrouter", "429", 429, None),
        ("ollama", "503", 503, None),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_it_answers_status_faults_in_the_provider_shape(
    client: httpx.Client, dialect: str, fault: str, status: int, kind: str | None, stream: bool
) -> None:
    path, _, headers = DIALECTS[dialect]
    response = client.post(path, json=request(dialect, f"m-fault-{fault}", stream), headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    if kind:
        assert error["type"] == kind
    elif dialect == "openrouter":
        assert error["code"] == status
    else:
        assert isinstance(error, str)


def test_it_keeps_a_slow_stream_alive_before_the_first_token(
    client: httpx.Client, sim: Sim
) -> None:
    started = time.monotonic()
    _, lines, error = read(client, "deepseek", request("deepseek", "deepseek-chat-fault-slow"))
    assert error is None
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    # 1 s of waiting with a keep-alive every 0.2 s: five, however late each sleep wakes.
    assert first_data == 5 and set(lines[:first_data]) == {": keep-alive"}
    assert lines[-1] == "data: [DONE]"
    record = sim.last()
    assert record.first_byte_at is not None and record.chunks_sent > first_data
    assert time.monotonic() - started >= 1.0  # the slow fault waited before the first token


def test_it_pings_a_slow_anthropic_stream(client: httpx.Client) -> None:
    _, lines, _ = read(client, "anthropic", request("anthropic", "claude-haiku-4-5-fault-slow"))
    events = [line for line in lines if line.startswith("event:")]
    assert events[:4] == ["event: ping"] * 4 and "event: message_start" in events


def test_it_sends_blank_lines_before_a_slow_deepseek_body(client: httpx.Client) -> None:
    body = request("deepseek", "deepseek-chat-fault-slow", stream=False)
    response = client.post(DIALECTS["deepseek"][0], json=body, headers=bearer())
    assert response.status_code == 200 and response.text.startswith("\n\n\n")
    assert json.loads(response.text.strip())["choices"][0]["message"]["content"]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_it_fails_mid_stream_in_the_provider_shape(client: httpx.Client, dialect: str) -> None:
    response, lines, error = read(client, dialect, request(dialect, "m-fault-midstream"))
    assert response.status_code == 200 and error is None
    if dialect == "anthropic":
        assert lines[-2:] == [
            "event: error",
            'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
        ]
        assert sum(line == "event: content_block_delta" for line in lines) == 3
        return
    payloads = [json.loads(line.removeprefix("data: ")) for line in lines if line[:1] in "d{"]
    assert "error" in payloads[-1] and all("error" not in p for p in payloads[:-1])
    assert "data: [DONE]" not in lines
    if dialect == "openrouter":
        assert payloads[-1]["choices"][0]["finish_reason"] == "error"


def test_it_answers_a_midstream_fault_with_a_500_when_not_streaming(client: httpx.Client) -> None:
    body = request("deepseek", "m-fault-midstream", stream=False)
    response = client.post(DIALECTS["deepseek"][0], json=body, headers=bearer())
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_it_cuts_the_connection_mid_stream(client: httpx.Client, sim: Sim, dialect: str) -> None:
    _, lines, error = read(client, dialect, request(dialect, "m-fault-cut"))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert lines and "data: [DONE]" not in lines and "event: message_stop" not in lines
    assert not sim.last().completed and sim.last().disconnected_at is None


def test_it_cuts_a_non_streaming_body_in_half(client: httpx.Client) -> None:
    body = request("deepseek", "m-fault-cut", stream=False)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(DIALECTS["deepseek"][0], json=body, headers=bearer())


@pytest.mark.parametrize("dialect", ["deepseek", "openrouter", "anthropic"])
def test_it_stays_silent_with_keep_alives_only(
    client: httpx.Client, sim: Sim, dialect: str
) -> None:
    response, lines, _ = read(client, dialect, request(dialect, "m-fault-silent"), limit=4)
    assert response.status_code == 200 and len(lines) == 4
    assert all(line.startswith((":", "event: ping", 'data: {"type":"ping"}')) for line in lines)
    # Silence lasts two minutes: the record ends now only because the client left.
    assert wait_for_disconnect(sim)
    assert not sim.last().completed


def test_it_stays_silent_on_ollama_until_the_client_gives_up(
    client: httpx.Client, sim: Sim
) -> None:
    response, lines, error = read(
        client, "ollama", request("ollama", "m-fault-silent"), read_timeout=0.5
    )
    assert response.status_code == 200 and lines == []
    assert isinstance(error, httpx.ReadTimeout)
    assert wait_for_disconnect(sim) is not None


def test_it_stalls_after_a_few_deltas(client: httpx.Client, sim: Sim) -> None:
    _, lines, _ = read(client, "deepseek", request("deepseek", "m-fault-stall"), limit=8)
    data = [line for line in lines if line.startswith("data:")]
    assert len(data) == 4  # the role chunk and three deltas
    assert lines[len(data) :] == [": keep-alive"] * (8 - len(data))
    assert wait_for_disconnect(sim) is not None


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_it_slips_one_malformed_chunk_into_a_valid_stream(
    client: httpx.Client, dialect: str
) -> None:
    _, lines, error = read(client, dialect, request(dialect, "m-fault-malformed"))
    assert error is None
    payloads = [line.removeprefix("data: ") for line in lines if line[:1] in "d{"]
    bad = []
    for payload in payloads:
        if payload != "[DONE]":
            try:
                json.loads(payload)
            except json.JSONDecodeError:
                bad.append(payload)
    assert len(bad) == 1
    assert payloads.index(bad[0]) > 1  # among valid chunks, not first
    last = json.loads(payloads[-1]) if dialect in ("anthropic", "ollama") else payloads[-1]
    assert last in ("[DONE]", {"type": "message_stop"}) or last["done"] is True


def test_it_sends_a_truncated_body_for_a_malformed_non_streaming_answer(
    client: httpx.Client,
) -> None:
    body = request("deepseek", "m-fault-malformed", stream=False)
    response = client.post(DIALECTS["deepseek"][0], json=body, headers=bearer())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_it_stamps_bench_deltas_with_the_sender_clock(client: httpx.Client) -> None:
    _, lines, _ = read(client, "deepseek", request("deepseek", "deepseek-chat-bench"))
    stamps = []
    for _, data in sse_events(iter(lines)):
        chunk = json.loads(data) if data.startswith("{") else {}
        content = (chunk.get("choices") or [{}])[0].get("delta", {}).get("content")
        if content:
            assert content.startswith("⟨t=")
            stamps.append(int(content[3 : content.index("⟩")]))
    assert len(stamps) > 5 and stamps == sorted(stamps)
    assert stamps[-1] <= time.monotonic_ns()


def test_it_paces_at_the_model_token_rate(client: httpx.Client) -> None:
    started = time.monotonic()
    _, lines, _ = read(
        client, "deepseek", request("deepseek", "deepseek-chat-tps20", max_tokens=10)
    )
    # ≥ 7 tokens after the first delta at 20/s: the model's rate, not the session's 5,000/s.
    # (Only a lower bound: how fast it goes is for bench/, not for a test on a busy machine.)
    assert time.monotonic() - started >= 0.3
    assert model_options("deepseek-chat-tps20").tps == 20
    assert model_options("deepseek-chat").tps is None  # the app's own rate applies
