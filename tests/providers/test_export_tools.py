"""View code with tools: each dialect's tools and tool_choice in the code, and the calls printed.

The Python scripts are run: OpenAI-style and Anthropic ones against stand-ins for their SDKs
that answer with a tool call (the SDKs are not installed here), the Ollama one (plain httpx)
against the simulator over loopback.
"""

from __future__ import annotations

import contextlib
import json
import shlex
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
    simulator_base_url,
    to_curl,
    to_python,
)
from playground.providers.tools import ToolChoice, ToolDef
from playground.simulator import create_app
from tests.providers.helpers import KEY
from tests.servers import serving

WEATHER = ToolDef(
    "get_weather",
    "Get the current weather for a city",
    {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
        "additionalProperties": False,
    },
    strict=True,
)
ASK = (Turn("user", "What's the weather in Paris?"),)
MODELS = {
    "deepseek": "deepseek-chat",
    "dashscope": "qwen-plus",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-haiku-4-5",
    "ollama": "llama3.2",
}
ARGUMENTS = '{"location": "Paris"}'


def target_for(provider_id: str, base_url: str = "") -> Target:
    provider = next(p for p in providers() if p.id == provider_id)
    return Target(provider_id, base_url or provider.default_base_url or "https://x.test/v1", KEY)


def ask(provider_id: str, choice: ToolChoice, *, stream: bool = True) -> CompletionRequest:
    return CompletionRequest(
        MODELS[provider_id],
        "",
        turns=ASK,
        tools=(WEATHER,),
        tool_choice=choice,
        thinking=False,
        stream=stream,
    )


def _openai_tool(strict: bool) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": WEATHER.name,
        "description": WEATHER.description,
        "parameters": WEATHER.parameters,
    }
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


# Each dialect's shape for one strict tool and tool_choice "required" (docs/providers-tools.md).
SHAPES: dict[str, tuple[list[dict[str, Any]], object]] = {
    # DeepSeek keeps strict (its /beta base), and takes "required".
    "deepseek": ([_openai_tool(True)], "required"),
    # Mistral has no strict mode and spells "required" as "any".
    "mistral": ([_openai_tool(False)], "any"),
    # DashScope has no "required": with one tool it is sent as that function.
    "dashscope": ([_openai_tool(False)], {"type": "function", "function": {"name": WEATHER.name}}),
    "anthropic": (
        [
            {
                "name": WEATHER.name,
                "description": WEATHER.description,
                "input_schema": WEATHER.parameters,
            }
        ],
        {"type": "any"},
    ),
}


@pytest.mark.parametrize("provider_id", sorted(SHAPES))
def test_curl_and_python_carry_the_tools_in_the_dialects_shape(provider_id: str) -> None:
    target, request = target_for(provider_id), ask(provider_id, ToolChoice("required"))
    tools, choice = SHAPES[provider_id]
    assert prepare(target, request).body["tools"] == tools
    words = shlex.split(to_curl(target, request))
    body = json.loads(words[words.index("-d") + 1])
    assert body["tools"] == tools and body["tool_choice"] == choice
    sent = _run_with_fake_sdk(provider_id, to_python(target, request), stream=True)[0]
    assert sent["tools"] == tools and sent["tool_choice"] == choice


def test_ollama_code_carries_tools_without_tool_choice() -> None:
    target = target_for("ollama")
    code = to_python(target, ask("ollama", ToolChoice("auto")))
    assert "'tools': [" in code and "tool_choice" not in code
    assert "'strict'" not in code  # Ollama never gets strict


class Recorded:
    def __init__(self) -> None:
        self.call: dict[str, Any] = {}


def _ns(**values: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**values)


def _openai_chunks() -> list[Any]:
    """A streamed reply: some text, then one call whose name and arguments come in pieces."""

    def chunk(content: str | None = None, calls: list[Any] | None = None) -> Any:
        return _ns(choices=[_ns(delta=_ns(content=content, tool_calls=calls))])

    def piece(name: str | None, arguments: str) -> Any:
        return _ns(index=0, function=_ns(name=name, arguments=arguments))

    return [
        chunk("Let me check."),
        chunk(calls=[piece("get_weather", "")]),
        chunk(calls=[piece(None, ARGUMENTS[:9])]),
        chunk(calls=[piece(None, ARGUMENTS[9:])]),
        _ns(choices=[]),  # the usage chunk
    ]


def _fake_sdks(recorded: Recorded) -> dict[str, types.ModuleType]:
    def create(**kwargs: Any) -> Any:
        recorded.call = kwargs
        if kwargs.get("stream"):
            return _openai_chunks()
        call = _ns(function=_ns(name="get_weather", arguments=ARGUMENTS))
        message = _ns(content="Let me check.", tool_calls=[call])
        return _ns(choices=[_ns(message=message)], content=_anthropic_blocks())

    @contextlib.contextmanager
    def stream(**kwargs: Any) -> Iterator[Any]:
        recorded.call = kwargs
        final = _ns(content=_anthropic_blocks())
        yield _ns(text_stream=["Let me ", "check."], get_final_message=lambda: final)

    def client(**kwargs: Any) -> Any:
        completions = _ns(create=create)
        return _ns(chat=_ns(completions=completions), messages=_ns(create=create, stream=stream))

    openai = types.ModuleType("openai")
    openai.OpenAI = client  # type: ignore[attr-defined]
    anthropic = types.ModuleType("anthropic")
    anthropic.Anthropic = client  # type: ignore[attr-defined]
    return {"openai": openai, "anthropic": anthropic}


def _anthropic_blocks() -> list[Any]:
    return [
        _ns(type="text", text="Let me check."),
        _ns(type="tool_use", name="get_weather", input={"location": "Paris"}),
    ]


def _run_with_fake_sdk(provider_id: str, code: str, *, stream: bool) -> tuple[dict[str, Any], str]:
    """Run the generated script against the stand-in SDK; return what it sent and printed."""
    recorded = Recorded()
    printed: list[str] = []
    env = next(p for p in providers() if p.id == provider_id).key_env
    with pytest.MonkeyPatch.context() as patch:
        for name, module in _fake_sdks(recorded).items():
            patch.setitem(sys.modules, name, module)
        patch.setenv(env, "from-the-env")

        def capture(*args: Any, sep: str = " ", end: str = "\n", **_: Any) -> None:
            printed.append(sep.join(str(arg) for arg in args) + end)

        exec(code, {"print": capture})
    sent = {k: v for k, v in recorded.call.items() if k != "extra_body"}
    sent.update(recorded.call.get("extra_body", {}))
    return sent, "".join(printed)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("provider_id", ["deepseek", "mistral", "anthropic"])
def test_the_python_script_prints_the_tool_calls(provider_id: str, stream: bool) -> None:
    request = ask(provider_id, ToolChoice("auto"), stream=stream)
    code = to_python(target_for(provider_id), request)
    _, printed = _run_with_fake_sdk(provider_id, code, stream=stream)
    assert "Let me check." in printed
    assert printed.rstrip().endswith('tool call: get_weather({"location": "Paris"})'), printed


def test_a_script_without_tools_prints_only_text() -> None:
    request = CompletionRequest("deepseek-chat", "Once", turns=ASK)
    code = to_python(target_for("deepseek"), request)
    assert "tool call" not in code and "tool_calls" not in code


@pytest.mark.parametrize("stream", [True, False])
def test_the_ollama_script_runs_against_the_simulator_and_prints_the_call(
    stream: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(tokens_per_second=5000, first_token_delay=0.01)
    with serving(app, name="export-tools-simulator") as origin:
        target = target_for("ollama", simulator_base_url("ollama", origin))
        request = ask("ollama", ToolChoice("auto"), stream=stream)
        exec(to_python(target, request), {})
    printed = capsys.readouterr().out
    call = printed.strip().splitlines()[-1]
    assert call.startswith("tool call: get_weather(")
    assert json.loads(call.removeprefix("tool call: get_weather(").removesuffix(")")) == {
        "location": "Paris"
    }
    body = app.requests[-1].body
    assert isinstance(body, dict) and body["tools"][0]["function"]["name"] == "get_weather"
