"""Ollama's native /api/chat over loopback HTTP: NDJSON by default, options, no auth."""

from __future__ import annotations

import json
from typing import Any

import httpx

PATH = "/ollama/api/chat"
PREFIX = "Thanks for asking! I am"


def body(**extra: Any) -> dict[str, Any]:
    """Return a chat request whose trailing assistant message is the prefix."""
    messages = [
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": PREFIX},
    ]
    return {"model": "llama3.2", "messages": messages, **extra}


def lines(client: httpx.Client, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Stream `payload` and return the parsed NDJSON lines."""
    with client.stream("POST", PATH, json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.iter_lines() if line]


def test_it_streams_ndjson_by_default_without_a_key(client: httpx.Client) -> None:
    rows = lines(client, body())
    assert len(rows) > 10
    assert all(row["done"] is False and row["message"]["role"] == "assistant" for row in rows[:-1])
    final = rows[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["message"]["content"] == ""
    text = "".join(row["message"]["content"] for row in rows)
    assert text.startswith(" ") and not text.startswith(" " + PREFIX)
    assert final["eval_count"] > 10 and final["prompt_eval_count"] > 5
    assert final["total_duration"] >= final["eval_duration"] > 0


def test_it_answers_in_one_object_when_stream_is_false(client: httpx.Client) -> None:
    streamed = "".join(row["message"]["content"] for row in lines(client, body()))
    response = client.post(PATH, json=body(stream=False))
    assert response.status_code == 200 and response.json()["done"] is True
    assert response.json()["message"]["content"] == streamed


def test_it_honours_num_predict_and_stop_options(client: httpx.Client) -> None:
    full = client.post(PATH, json=body(stream=False)).json()["message"]["content"]
    limited = client.post(PATH, json=body(stream=False, options={"num_predict": 6})).json()
    assert limited["done_reason"] == "length" and limited["eval_count"] == 6
    word = full.split()[4]
    stopped = client.post(PATH, json=body(stream=False, options={"stop": [word]})).json()
    assert stopped["message"]["content"] == full[: full.index(word)]
    assert stopped["done_reason"] == "stop"


def test_it_answers_json_for_format_json(client: httpx.Client) -> None:
    payload = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "format": "json",
    }
    content = client.post(PATH, json={**payload, "stream": False}).json()["message"]["content"]
    assert isinstance(json.loads(content), dict)


def test_it_reports_errors_as_a_plain_string(client: httpx.Client) -> None:
    response = client.post(PATH, json={"messages": []})
    assert response.status_code == 400 and response.json() == {"error": "model is required"}
