"""The `flood` fault: a stream of any size, made as it is sent, in every dialect.

Its pieces are generated lazily (tracemalloc shows the simulator never holds the text), a small
flood arrives whole and well-framed streaming or not, and a client that leaves a 200 MB flood
stops it: the simulator notices, and has sent only a small part of it.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from playground.simulator.anthropic import AnthropicWire
from playground.simulator.faults import model_options
from playground.simulator.flood import (
    DEFAULT_MB,
    LINE,
    PLACEHOLDER,
    body_pieces,
    flood_chars,
    flood_deltas,
    flood_generation,
)
from playground.simulator.generate import Generation
from playground.simulator.ollama import OllamaWire
from playground.simulator.openai_wire import OpenAIWire
from tests.simulator.conftest import Sim, socket_buffer_bytes
from tests.simulator.test_faults import DIALECTS, request, wait_for_disconnect

SMALL_MB = 0.05  # 50,000 characters
GEN = Generation("", "unused", "end", None, input_tokens=7, output_tokens=1)


def _peak_while(work: Callable[[], int]) -> tuple[int, int]:
    """Return (work's result, the peak of memory traced while it ran), in bytes."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _flood_text(chars: int) -> str:
    return (LINE * (chars // len(LINE) + 1))[:chars]


def test_the_model_id_names_the_fault_and_its_size() -> None:
    assert len(LINE) == 64  # so the 4,096-character pieces join into whole lines
    assert model_options("deepseek-chat-fault-flood").fault == "flood"
    assert model_options("deepseek-chat-fault-flood").flood_mb is None
    assert model_options("m-fault-flood-mb0.5").flood_mb == 0.5
    assert flood_chars(None) == 200_000_000 == DEFAULT_MB * 1_000_000
    assert flood_chars(0.5) == 500_000


def test_a_200_mb_flood_is_never_held_in_memory() -> None:
    chars = flood_chars(None)
    total, peak = _peak_while(lambda: sum(len(delta.text) for delta in flood_deltas(chars)))
    assert total == chars
    assert peak < 256 * 1024, f"{peak:,} bytes held while making the flood"


@pytest.mark.parametrize(
    "wire",
    [OpenAIWire("deepseek", "m"), AnthropicWire("m", input_tokens=7), OllamaWire("m")],
    ids=["openai", "anthropic", "ollama"],
)
def test_a_whole_body_flood_is_written_in_pieces(wire: Any) -> None:
    chars = 20_000_003  # not a multiple of any piece
    ended = flood_generation(GEN, chars)
    body = wire.body(replace(ended, text=PLACEHOLDER))
    total, peak = _peak_while(lambda: sum(len(piece) for piece in body_pieces(body, chars)))
    assert total > chars and peak < 512 * 1024, f"{peak:,} bytes held while writing the body"
    small = json.loads(b"".join(body_pieces(body, 1_000)))
    assert _flood_text(1_000) in json.dumps(small)
    assert ended.finish == "length" and ended.output_tokens > chars // 10


def _stream_text(dialect: str, lines: list[str]) -> tuple[str, bool]:
    """Return the text a streamed response carried and whether it ended as the dialect ends."""
    if dialect == "ollama":
        records = [json.loads(line) for line in lines]
        text = "".join(record["message"]["content"] for record in records)
        return text, records[-1]["done"] is True and records[-1]["done_reason"] == "length"
    payloads = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    if dialect == "anthropic":
        text = "".join(p["delta"].get("text", "") for p in payloads if p["type"].endswith("delta"))
        return text, payloads[-1]["type"] == "message_stop" and any(
            p["type"] == "message_delta" and p["delta"]["stop_reason"] == "max_tokens"
            for p in payloads
        )
    text = "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads if p["choices"])
    finishes = [p["choices"][0]["finish_reason"] for p in payloads if p["choices"]]
    return text, lines[-1] == "data: [DONE]" and finishes[-1] == "length"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_small_flood_streams_whole_in_every_dialect(
    client: httpx.Client, sim: Sim, dialect: str
) -> None:
    path, _, headers = DIALECTS[dialect]
    body = request(dialect, f"m-fault-flood-mb{SMALL_MB}")
    with client.stream("POST", path, json=body, headers=headers) as response:
        lines = [line for line in response.iter_lines() if line]
    text, ended = _stream_text(dialect, lines)
    assert response.status_code == 200 and ended
    assert text == _flood_text(flood_chars(SMALL_MB))
    record = sim.last()
    assert record.completed and record.bytes_sent > flood_chars(SMALL_MB)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_small_flood_arrives_as_one_body_when_not_streaming(
    client: httpx.Client, dialect: str
) -> None:
    path, _, headers = DIALECTS[dialect]
    body = request(dialect, f"m-fault-flood-mb{SMALL_MB}", stream=False)
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == 200
    payload = answer.json()
    if dialect == "anthropic":
        text = payload["content"][0]["text"]
    elif dialect == "ollama":
        text = payload["message"]["content"]
    else:
        text = payload["choices"][0]["message"]["content"]
    assert text.endswith(_flood_text(flood_chars(SMALL_MB)))


def test_a_client_that_leaves_stops_a_200_mb_flood(client: httpx.Client, sim: Sim) -> None:
    path, _, headers = DIALECTS["deepseek"]
    body = request("deepseek", "deepseek-chat-fault-flood")
    received = 0
    with client.stream("POST", path, json=body, headers=headers) as response:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received >= 1_000_000:
                break
    wait_for_disconnect(sim)
    record = sim.last()
    assert not record.completed
    # What was read, plus what the buffers of a loopback connection can hold: not 200 MB.
    in_flight = socket_buffer_bytes()
    assert in_flight < 100_000_000  # else this check would not tell a stopped flood apart
    assert received <= record.bytes_sent < received + in_flight, record.bytes_sent
