"""Anthropic's Messages API over loopback HTTP: prefill rules, typed events, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.simulator.conftest import anthropic_headers, stream_sse

PATH = "/anthropic/v1/messages"
USER = {"role": "user", "content": "Extract the name, size, price, and color as JSON."}


def body(prefix: Any = "{", **extra: Any) -> dict[str, Any]:
    """Return a Messages request, prefilled with `prefix` unless it is None."""
    messages: list[dict[str, Any]] = [USER]
    if prefix is not None:
        messages.append({"role": "assistant", "content": prefix})
    return {"model": "claude-haiku-4-5", "max_tokens": 512, "messages": messages, **extra}


def post(client: httpx.Client, payload: dict[str, Any]) -> httpx.Response:
    """POST to the Messages API with valid headers."""
    return client.post(PATH, json=payload, headers=anthropic_headers())


def test_it_continues_a_prefill_and_returns_only_the_continuation(client: httpx.Client) -> None:
    response = post(client, body())
    assert response.status_code == 200
    message = response.json()
    assert message["type"] == "message" and message["role"] == "assistant"
    text = message["content"][0]["text"]
    assert json.loads("{" + text).keys() == {"name", "size", "price", "color"}
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"]["output_tokens"] > 10 and message["usage"]["input_tokens"] > 5


def test_it_streams_the_documented_event_sequence(client: httpx.Client) -> None:
    whole = post(client, body()).json()["content"][0]["text"]
    response, events = stream_sse(client, PATH, body(), anthropic_headers())
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"} and len(names) > 15
    for name, data in events:
        assert json.loads(data)["type"] == name  # every data object names its own event
    deltas = [json.loads(d)["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert "".join(deltas) == whole
    final = json.loads(events[-2][1])
    assert final["delta"]["stop_reason"] == "end_turn" and final["usage"]["output_tokens"] > 0


def test_it_answers_afresh_without_a_prefill(client: httpx.Client) -> None:
    text = post(client, body(None)).json()["content"][0]["text"]
    assert text.startswith("Sure! Here is")


def test_it_refuses_trailing_whitespace_in_the_prefill(client: httpx.Client) -> None:
    for content in ("```python\n", [{"type": "text", "text": "As an AI assistant, I "}]):
        response = post(client, body(content))
        assert response.status_code == 400
        assert response.json() == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "final assistant content cannot end with trailing whitespace",
            },
        }


def test_it_continues_a_code_fence_stripped_of_its_newline(client: httpx.Client) -> None:
    text = post(client, body("```python")).json()["content"][0]["text"]
    assert text.startswith("\n") and "```" in text


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-opus-4-7",
        "claude-sonnet-4-8-20270101",
        "claude-opus-5",
        "claude-sonnet-5-1",
    ],
)
def test_it_refuses_prefill_on_claude_4_6_and_later(client: httpx.Client, model: str) -> None:
    response = post(client, body(model=model))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "This model does not support assistant message prefill. "
        "The conversation must end with a user message.",
    }
    assert post(client, body(None, model=model)).status_code == 200


@pytest.mark.parametrize(
    "model",
    ["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-sonnet-20241022"],
)
def test_it_accepts_prefill_on_earlier_models(client: httpx.Client, model: str) -> None:
    assert post(client, body(model=model)).status_code == 200


def test_it_refuses_prefill_with_extended_thinking(client: httpx.Client) -> None:
    response = post(client, body(thinking={"type": "enabled", "budget_tokens": 1024}))
    assert response.status_code == 400 and "thinking" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"messages": []}, "at least one message"),
        (
            {"messages": [{"role": "system", "content": "Be brief."}, USER]},
            'Unexpected role "system"',
        ),
        ({"stop_sequences": "```"}, "stop_sequences"),
    ],
)
def test_it_validates_like_the_messages_api(
    client: httpx.Client, change: dict[str, Any], fragment: str
) -> None:
    payload = {k: v for k, v in {**body(), **change}.items() if v is not None}
    response = post(client, payload)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]


def test_it_requires_the_version_header(client: httpx.Client) -> None:
    response = client.post(PATH, json=body(), headers={"x-api-key": "sim-key"})
    assert response.status_code == 400
    assert "anthropic-version" in response.json()["error"]["message"]


def test_it_accepts_consecutive_messages_with_the_same_role(client: httpx.Client) -> None:
    payload = body()
    payload["messages"] = [
        USER,
        {"role": "user", "content": "Only JSON."},
        {"role": "assistant", "content": "{"},
    ]
    assert post(client, payload).status_code == 200


def test_it_reports_the_matched_stop_sequence(client: httpx.Client) -> None:
    full = post(client, body("```python")).json()["content"][0]["text"]
    stopped = post(client, body("```python", stop_sequences=["```"])).json()
    assert stopped["stop_reason"] == "stop_sequence" and stopped["stop_sequence"] == "```"
    assert stopped["content"][0]["text"] == full[: full.index("```")]
    _, events = stream_sse(
        client, PATH, body("```python", stop_sequences=["```"]), anthropic_headers()
    )
    delta = json.loads(events[-2][1])["delta"]
    assert delta == {"stop_reason": "stop_sequence", "stop_sequence": "```"}


def test_it_stops_at_max_tokens(client: httpx.Client) -> None:
    message = post(client, body("Once upon a time", max_tokens=9)).json()
    assert message["stop_reason"] == "max_tokens" and message["usage"]["output_tokens"] == 9
