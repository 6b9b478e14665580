"""Export: curl and Python that reproduce the exact request, with the key as a placeholder."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from playground.providers import (
    CompletionRequest,
    Target,
    Turn,
    prepare,
    providers,
    to_curl,
    to_python,
)
from tests.providers.helpers import KEY

TRICKY = 'It\'s "quoted", $HOME, `ticks` and a \\ backslash\n'
REQUESTS = {
    "deepseek": CompletionRequest(
        "deepseek-chat", "```python\n", turns=(Turn("user", TRICKY),), stop=("```",)
    ),
    "vllm": CompletionRequest("Qwen/Qwen3-8B", "An apple a day,", thinking=False, stream=False),
    "dashscope": CompletionRequest("qwen-plus", "{", json_mode=True, thinking=True),
    "anthropic": CompletionRequest("claude-haiku-4-5", "Dear ", system="Be brief.", stop=("\n\n",)),
    "ollama": CompletionRequest("llama3.2", "Once", temperature=0.5),
}


def target_for(provider_id: str) -> Target:
    provider = next(p for p in providers() if p.id == provider_id)
    return Target(provider_id, provider.default_base_url or "https://example.com/v1", KEY)


@pytest.mark.parametrize("provider_id", sorted(REQUESTS))
def test_it_exports_curl_that_shlex_parses_into_the_exact_request(provider_id: str) -> None:
    target, request = target_for(provider_id), REQUESTS[provider_id]
    call = prepare(target, request)
    args = shlex.split(to_curl(target, request))
    assert args[0] == "curl"
    assert call.url in args
    assert ("-N" in args) == bool(call.body.get("stream"))
    body = json.loads(args[args.index("-d") + 1])
    assert body == call.body
    headers = [args[i + 1] for i, arg in enumerate(args) if arg == "-H"]
    env = next(p for p in providers() if p.id == provider_id).key_env
    for name, value in call.headers.items():
        expected = value.replace(KEY, f"${env}")
        assert f"{name}: {expected}" in headers


def test_it_exports_curl_that_a_real_shell_runs_with_the_key_from_the_environment() -> None:
    target, request = target_for("deepseek"), REQUESTS["deepseek"]
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + to_curl(target, request)
    env = {**os.environ, "DEEPSEEK_API_KEY": "from-the-env"}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True)
    args = out.stdout.decode().split("\0")[:-1]
    assert "Authorization: Bearer from-the-env" in args
    assert json.loads(args[args.index("-d") + 1]) == prepare(target, request).body


class Recorded:
    def __init__(self) -> None:
        self.client: dict[str, Any] = {}
        self.call: dict[str, Any] = {}


def fake_sdks(recorded: Recorded) -> dict[str, types.ModuleType]:
    """Return stand-ins for the openai, anthropic and httpx modules that record their calls."""

    def create(**kwargs: Any) -> Any:
        recorded.call = kwargs
        if kwargs.get("stream"):
            return []
        choice = types.SimpleNamespace(message=types.SimpleNamespace(content="x"), text="x")
        return types.SimpleNamespace(choices=[choice], content=[])

    @contextlib.contextmanager
    def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        recorded.call = {"args": args, **kwargs}
        yield types.SimpleNamespace(text_stream=[], iter_lines=lambda: [])

    def client(**kwargs: Any) -> Any:
        recorded.client = kwargs
        completions = types.SimpleNamespace(create=create)
        return types.SimpleNamespace(
            chat=types.SimpleNamespace(completions=completions),
            completions=completions,
            messages=types.SimpleNamespace(create=create, stream=stream),
        )

    openai = types.ModuleType("openai")
    openai.OpenAI = client  # type: ignore[attr-defined]
    anthropic = types.ModuleType("anthropic")
    anthropic.Anthropic = client  # type: ignore[attr-defined]
    httpx = types.ModuleType("httpx")
    httpx.stream = stream  # type: ignore[attr-defined]
    return {"openai": openai, "anthropic": anthropic, "httpx": httpx}


@pytest.mark.parametrize("provider_id", sorted(REQUESTS))
def test_it_exports_python_that_sends_the_exact_request(
    provider_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, request = target_for(provider_id), REQUESTS[provider_id]
    call = prepare(target, request)
    env = next(p for p in providers() if p.id == provider_id).key_env
    code = to_python(target, request)
    compile(code, f"{provider_id}.py", "exec")
    recorded = Recorded()
    for name, module in fake_sdks(recorded).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv(env, "from-the-env")
    exec(code, {})
    if provider_id == "ollama":
        assert recorded.call["args"] == ("POST", call.url)
        assert recorded.call["json"] == call.body
        return
    assert recorded.client["api_key"] == "from-the-env"
    sent = {k: v for k, v in recorded.call.items() if k not in ("extra_body", "args")}
    sent.update(recorded.call.get("extra_body", {}))
    if provider_id == "anthropic":
        assert recorded.client["base_url"] + "/v1/messages" == call.url
        assert sent == {k: v for k, v in call.body.items() if k != "stream"}
    else:
        assert recorded.client["base_url"] + "/chat/completions" == call.url
        assert sent == call.body


def test_it_puts_non_openai_fields_in_extra_body() -> None:
    code = to_python(target_for("vllm"), REQUESTS["vllm"])
    assert "extra_body={" in code
    assert "'continue_final_message': True" in code
    assert "'chat_template_kwargs'" in code
    deepseek = to_python(target_for("deepseek"), REQUESTS["deepseek"])
    assert "extra_body" not in deepseek  # "prefix" rides on the message itself
    assert "base_url='https://api.deepseek.com/beta'" in deepseek


def test_it_exports_deepseek_fim_with_the_completions_api() -> None:
    request = CompletionRequest("deepseek-chat", "def fib(a):", suffix="    return 1")
    code = to_python(target_for("deepseek"), request)
    assert "client.completions.create(" in code
    assert "suffix='    return 1'" in code
    assert "curl -sS -N https://api.deepseek.com/beta/completions" in to_curl(
        target_for("deepseek"), request
    )


def test_it_never_puts_the_key_in_any_export() -> None:
    for provider in providers():
        target = target_for(provider.id)
        model = provider.models[0].id if provider.models else "some-model"
        request = CompletionRequest(model, "" if not provider.supports_prefix else "Hi")
        for code in (to_curl(target, request), to_python(target, request)):
            assert KEY not in code
            assert KEY[:12] not in code
