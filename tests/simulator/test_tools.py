"""The simulator's tool calling over real loopback HTTP, spoken in each wire format directly."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.simulator.conftest import anthropic_headers, bearer, data_chunks, stream_sse

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
ASK = {"role": "user", "content": "What is the weather in Lisbon?"}


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [ASK], "tools": [WEATHER], **extra}


def test_deepseek_refuses_strict_outside_beta(client: httpx.Client) -> None:
    response = client.post(
        "/deepseek/chat/completions", json=chat("deepseek-chat"), headers=bearer()
    )
    assert response.status_code == 400
    assert "beta" in response.json()["error"]["message"]


def test_deepseek_beta_refuses_a_strict_schema_it_cannot_take(client: httpx.Client) -> None:
    loose = json.loads(json.dumps(WEATHER))
    del loose["function"]["parameters"]["additionalProperties"]
    body = {"model": "deepseek-chat", "messages": [ASK], "tools": [loose]}
    response = client.post("/deepseek/beta/chat/completions", json=body, headers=bearer())
    assert response.status_code == 400
    assert "additionalProperties" in response.json()["error"]["message"]


def test_deepseek_beta_streams_a_strict_call_in_pieces(client: httpx.Client) -> None:
    response, events = stream_sse(
        client, "/deepseek/beta/chat/completions", chat("deepseek-chat"), bearer()
    )
    assert response.status_code == 200
    pieces = [
        call
        for chunk in data_chunks(events)
        for choice in chunk["choices"]
        for call in (choice["delta"].get("tool_calls") or [])
    ]
    assert pieces[0]["id"].startswith("call_0_") and pieces[0]["function"]["name"] == "get_weather"
    assert all("id" not in piece for piece in pieces[1:])
    arguments = "".join(piece["function"]["arguments"] for piece in pieces)
    assert json.loads(arguments) == {"location": "Lisbon"}
    finishes = [c["finish_reason"] for k in data_chunks(events) for c in k["choices"]]
    assert "tool_calls" in finishes


def test_mistral_refuses_tool_call_ids_that_are_not_nine_alphanumerics(
    client: httpx.Client,
) -> None:
    call = {
        "id": "call_123",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    body = chat(
        "mistral-small-latest",
        messages=[
            ASK,
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_123", "content": "sunny"},
        ],
    )
    response = client.post("/mistral/v1/chat/completions", json=body, headers=bearer())
    assert response.status_code == 400
    assert "must be a-z, A-Z, 0-9, with a length of 9" in response.json()["message"]


def test_a_tool_message_without_its_call_is_refused(client: httpx.Client) -> None:
    body = chat(
        "qwen-plus",
        messages=[ASK, {"role": "tool", "tool_call_id": "call_x", "content": "sunny"}],
    )
    response = client.post(
        "/dashscope/compatible-mode/v1/chat/completions", json=body, headers=bearer()
    )
    assert response.status_code == 400
    assert "preceeding message with 'tool_calls'" in response.text


def test_anthropic_needs_a_result_for_every_tool_use(client: httpx.Client) -> None:
    tool = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}  # type: ignore[index]
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "tools": [tool],
        "messages": [
            ASK,
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": "and?"},
        ],
    }
    response = client.post("/anthropic/v1/messages", json=body, headers=anthropic_headers())
    assert response.status_code == 400
    assert "without `tool_result` blocks" in response.text


def test_anthropic_answers_a_tool_result_with_text_that_uses_it(client: httpx.Client) -> None:
    tool = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}  # type: ignore[index]
    use = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"location": "Lisbon"},
    }
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C and windy"}
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 400,
        "tools": [tool],
        "messages": [
            ASK,
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
    }
    response = client.post("/anthropic/v1/messages", json=body, headers=anthropic_headers())
    assert response.status_code == 200
    reply = response.json()
    assert reply["stop_reason"] == "end_turn"
    assert "get_weather returned 21C and windy" in reply["content"][0]["text"]


def test_ollama_refuses_tools_on_a_model_without_them(client: httpx.Client) -> None:
    body = {"model": "gemma3", "messages": [ASK], "tools": [WEATHER], "stream": False}
    response = client.post("/ollama/api/chat", json=body)
    assert response.status_code == 400
    assert "does not support tools" in response.text
