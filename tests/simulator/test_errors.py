"""Auth, routing and body errors, each in the provider's own documented shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.simulator.conftest import bearer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
PATHS = {
    "deepseek": "/deepseek/chat/completions",
    "dashscope": "/dashscope/compatible-mode/v1/chat/completions",
    "coreshub": "/coreshub/v1/chat/completions",
    "moonshot": "/moonshot/v1/chat/completions",
    "mistral": "/mistral/v1/chat/completions",
    "anthropic": "/anthropic/v1/messages",
    "openrouter": "/openrouter/api/v1/chat/completions",
    "vllm": "/vllm/v1/chat/completions",
    "sglang": "/sglang/v1/chat/completions",
    "llamacpp": "/llamacpp/v1/chat/completions",
    "openai": "/openai/v1/chat/completions",
    "openai_compatible": "/openai_compatible/v1/chat/completions",
}


def _openai(body: dict[str, Any], status: int) -> bool:
    return set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}


def _dashscope(body: dict[str, Any], status: int) -> bool:
    codes = {
        400: "invalid_parameter_error",
        401: "InvalidApiKey",
        402: "Arrearage",
        404: "NotFound",
    }
    return set(body) == {"error", "request_id"} and body["error"]["code"] == codes[status]


def _moonshot(body: dict[str, Any], status: int) -> bool:
    return set(body["error"]) == {"message", "type"}


def _mistral(body: dict[str, Any], status: int) -> bool:
    return body["object"] == "error" and set(body) == {"object", "message", "type", "param", "code"}


def _anthropic(body: dict[str, Any], status: int) -> bool:
    types = {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        404: "not_found_error",
    }
    return body["type"] == "error" and body["error"]["type"] == types[status]


def _openrouter(body: dict[str, Any], status: int) -> bool:
    return body["error"]["code"] == status and set(body["error"]) == {"code", "message"}


def _vllm(body: dict[str, Any], status: int) -> bool:
    return body["error"]["code"] == status and set(body["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }


def _sglang(body: dict[str, Any], status: int) -> bool:
    return body["object"] == "error" and body["code"] == status


def _llamacpp(body: dict[str, Any], status: int) -> bool:
    return body["error"]["code"] == status and set(body["error"]) == {"code", "message", "type"}


SHAPES: dict[str, Callable[[dict[str, Any], int], bool]] = {
    "deepseek": _openai,
    "dashscope": _dashscope,
    "coreshub": _openai,
    "moonshot": _moonshot,
    "mistral": _mistral,
    "anthropic": _anthropic,
    "openrouter": _openrouter,
    "vllm": _vllm,
    "sglang": _sglang,
    "llamacpp": _llamacpp,
    "openai": _openai,
    "openai_compatible": _openai,
}


def headers(provider: str, key: str | None) -> dict[str, str]:
    """Return auth headers for `provider` (none when `key` is None)."""
    if provider == "anthropic":
        auth = {"x-api-key": key} if key else {}
        return {**auth, "anthropic-version": "2023-06-01"}
    return bearer(key) if key else {}


@pytest.mark.parametrize("provider", sorted(PATHS))
@pytest.mark.parametrize(
    ("key", "status"),
    [
        (None, 401),
        ("sk-not-a-simulator-key", 401),
        ("sim-invalid-secret-123", 401),
        ("sim-broke-secret-456", 402),
    ],
)
def test_it_answers_bad_keys_in_the_provider_shape(
    client: httpx.Client, provider: str, key: str | None, status: int
) -> None:
    response = client.post(PATHS[provider], json=CHAT, headers=headers(provider, key))
    assert response.status_code == status
    assert SHAPES[provider](response.json(), status)
    assert "secret" not in response.text  # the key never comes back


def test_it_names_deepseek_auth_and_balance_errors_as_documented(client: httpx.Client) -> None:
    path = PATHS["deepseek"]
    unauthorized = client.post(path, json=CHAT, headers=bearer("sim-invalid")).json()["error"]
    assert unauthorized["type"] == "authentication_error"
    broke = client.post(path, json=CHAT, headers=bearer("sim-broke")).json()["error"]
    assert broke["message"] == "Insufficient Balance"


@pytest.mark.parametrize("provider", sorted(PATHS))
def test_it_answers_an_unknown_path_with_a_404_in_the_provider_shape(
    client: httpx.Client, provider: str
) -> None:
    response = client.post(f"/{provider}/v2/nothing", json=CHAT, headers=headers(provider, "sim-k"))
    assert response.status_code == 404 and SHAPES[provider](response.json(), 404)


@pytest.mark.parametrize("provider", sorted(PATHS))
def test_it_refuses_malformed_json_in_the_provider_shape(
    client: httpx.Client, provider: str
) -> None:
    for raw in (b'{"model": "m", "messages": [', b"[1, 2]", b"\xff\xfe"):
        response = client.post(PATHS[provider], content=raw, headers=headers(provider, "sim-k"))
        assert response.status_code == 400, raw
        assert SHAPES[provider](response.json(), 400)


def test_it_refuses_other_methods_on_an_endpoint(client: httpx.Client) -> None:
    response = client.get(PATHS["deepseek"], headers=bearer())
    assert response.status_code == 405 and "GET" in response.json()["error"]["message"]


def test_it_answers_an_unknown_provider_with_a_404(client: httpx.Client) -> None:
    response = client.post("/nobody/v1/chat/completions", json=CHAT, headers=bearer())
    assert response.status_code == 404 and "error" in response.json()


def test_it_refuses_an_unknown_fault_name(client: httpx.Client) -> None:
    body = {**CHAT, "model": "deepseek-chat-fault-typo"}
    response = client.post(PATHS["deepseek"], json=body, headers=bearer())
    assert response.status_code == 400 and "typo" in response.json()["error"]["message"]


def test_it_refuses_bad_stop_and_max_tokens_fields(client: httpx.Client) -> None:
    for change in ({"stop": 3}, {"max_tokens": 0}, {"max_tokens": "ten"}, {"messages": []}):
        response = client.post(PATHS["openai"], json={**CHAT, **change}, headers=bearer())
        assert response.status_code == 400, change
