"""Integration: tool calls through the provider layer against the simulator over loopback HTTP.

A two-function request with tool_choice auto yields a call on DeepSeek (strict, /beta),
DashScope, Mistral and Anthropic; sending the call and a canned result back yields a final text
that uses the result; the simulator's records show the results in each dialect's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from playground.providers import (
    CompletionRequest,
    Target,
    Turn,
    complete,
    simulator_base_url,
    stream_completion,
)
from playground.providers.schema_check import check_arguments
from playground.providers.tools import (
    ToolCallAssembler,
    ToolCallDelta,
    ToolChoice,
    ToolDef,
    ToolResult,
    ToolRound,
)
from playground.simulator import SimulatorApp, create_app
from tests.servers import serving

pytestmark = pytest.mark.anyio

WEATHER = ToolDef(
    "get_weather",
    "Get the current weather for a city",
    {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    strict=True,
)
CONVERT = ToolDef(
    "convert_units",
    "Convert a value from one unit to another",
    {
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string"},
            "to_unit": {"type": "string"},
        },
        "required": ["value", "from_unit", "to_unit"],
        "additionalProperties": False,
    },
    strict=True,
)
ASK = (Turn("user", "What's the weather in Paris today, in celsius?"),)
RESULT = "18 degrees, light rain"
MODELS = {
    "deepseek": "deepseek-chat",
    "dashscope": "qwen-plus",
    "mistral": "mistral-small-latest",
    "anthropic": "claude-haiku-4-5",
    "moonshot": "kimi-k2.5",
    "ollama": "llama3.2",
}


@dataclass
class Sim:
    origin: str
    app: SimulatorApp

    def target(self, provider: str) -> Target:
        return Target(provider, simulator_base_url(provider, self.origin), "sim-ok-key")

    def last_body(self) -> dict[str, Any]:
        body = self.app.requests[-1].body
        assert isinstance(body, dict)
        return body


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    app = create_app(tokens_per_second=5000, first_token_delay=0.01)
    with serving(app, name="tools-simulator") as url:
        yield Sim(url, app)


def ask(
    model: str, *, rounds: tuple[ToolRound, ...] = (), stream: bool = True
) -> CompletionRequest:
    return CompletionRequest(
        model=model,
        prefix="",
        turns=ASK,
        tools=(WEATHER, CONVERT),
        tool_choice=ToolChoice("auto"),
        tool_rounds=rounds,
        thinking=False,
        stream=stream,
    )


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("provider", ["deepseek", "dashscope", "mistral", "anthropic"])
async def test_a_call_and_its_result_continue_to_a_final_text(
    sim: Sim, provider: str, stream: bool
) -> None:
    target, model = sim.target(provider), MODELS[provider]
    async with httpx.AsyncClient(timeout=60) as client:
        first = await complete(client, target, ask(model, stream=stream), allow_private=True)
        assert first.error is None, first.error
        assert first.finish is not None and first.finish.reason == "tool_calls"
        assert [call.name for call in first.tool_calls] == ["get_weather"]
        call = first.tool_calls[0]
        assert check_arguments(call.arguments, WEATHER.schema()) is None
        assert json.loads(call.arguments) == {"location": "Paris", "unit": "celsius"}

        answered = ToolRound(first.tool_calls, (ToolResult(call.id, RESULT),))
        second = await complete(
            client, target, ask(model, rounds=(answered,), stream=stream), allow_private=True
        )
    assert second.error is None, second.error
    assert second.finish is not None and second.finish.reason == "stop"
    assert f"get_weather returned {RESULT}" in second.text
    assert second.tool_calls == ()
    body = sim.last_body()
    sent_id = call.id
    if provider == "anthropic":
        assert body["messages"][-2]["content"] == [
            {
                "type": "tool_use",
                "id": sent_id,
                "name": "get_weather",
                "input": json.loads(call.arguments),
            }
        ]
        assert body["messages"][-1] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": sent_id, "content": RESULT}],
        }
        return
    assistant, result = body["messages"][-2], body["messages"][-1]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"] == [
        {
            "id": sent_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": call.arguments},
        }
    ]
    expected = {"role": "tool", "tool_call_id": sent_id, "content": RESULT}
    if provider == "mistral":
        assert len(sent_id) == 9 and sent_id.isalnum()
        expected["name"] = "get_weather"
    assert result == expected


async def test_deepseek_strict_goes_to_beta_with_strict_functions(sim: Sim) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        done = await complete(
            client, sim.target("deepseek"), ask("deepseek-chat"), allow_private=True
        )
    assert done.tool_calls, done.error
    record = sim.app.requests[-1]
    assert record.path == "/deepseek/beta/chat/completions"
    assert [tool["function"]["strict"] for tool in record.body["tools"]] == [True, True]


async def test_streamed_arguments_arrive_in_pieces_with_the_name_first(sim: Sim) -> None:
    pieces: list[ToolCallDelta] = []
    async with httpx.AsyncClient(timeout=60) as client:
        events = stream_completion(
            client, sim.target("dashscope"), ask("qwen-plus"), allow_private=True
        )
        async for event in events:
            if isinstance(event, ToolCallDelta):
                pieces.append(event)
    assert pieces[0].name == "get_weather" and pieces[0].id
    fragments = [piece.arguments for piece in pieces if piece.arguments]
    assert len(fragments) > 3
    assert all(not piece.name for piece in pieces[1:])
    # At least one piece ends inside a word: "Par" + "is", "cel" + "sius"...
    assert any(
        f[-1:].isalpha() and n[:1].isalpha() for f, n in zip(fragments, fragments[1:], strict=False)
    )
    assembler = ToolCallAssembler()
    for piece in pieces:
        assembler.feed(piece)
    assert json.loads(assembler.calls()[0].arguments) == {"location": "Paris", "unit": "celsius"}


@pytest.mark.parametrize("provider", ["deepseek", "mistral", "anthropic", "ollama"])
async def test_parallel_calls_each_keep_their_own_index(sim: Sim, provider: str) -> None:
    request = CompletionRequest(
        model=MODELS[provider] + "-parallel",
        prefix="",
        turns=(Turn("user", "Weather in Paris, and convert 20 celsius to fahrenheit"),),
        tools=(WEATHER, CONVERT),
        thinking=False,
    )
    async with httpx.AsyncClient(timeout=60) as client:
        done = await complete(client, sim.target(provider), request, allow_private=True)
    assert done.error is None, done.error
    assert [call.name for call in done.tool_calls] == ["get_weather", "convert_units"]
    assert len({call.id for call in done.tool_calls}) == 2
    for call, tool in zip(done.tool_calls, (WEATHER, CONVERT), strict=True):
        assert check_arguments(call.arguments, tool.schema()) is None


@pytest.mark.parametrize("provider", ["deepseek", "anthropic", "ollama"])
async def test_the_badargs_fault_gives_arguments_that_break_the_schema(
    sim: Sim, provider: str
) -> None:
    request = CompletionRequest(
        model=MODELS[provider] + "-fault-badargs",
        prefix="",
        turns=ASK,
        tools=(WEATHER, CONVERT),
        thinking=False,
    )
    async with httpx.AsyncClient(timeout=60) as client:
        done = await complete(client, sim.target(provider), request, allow_private=True)
    problem = check_arguments(done.tool_calls[0].arguments, WEATHER.schema())
    assert problem is not None
    assert problem.path == "location"
    assert "does not match the schema: location: must be string" in str(problem)


async def test_a_named_choice_calls_that_function(sim: Sim) -> None:
    request = CompletionRequest(
        model="mistral-small-latest",
        prefix="",
        turns=ASK,
        tools=(WEATHER, CONVERT),
        tool_choice=ToolChoice("function", "convert_units"),
    )
    async with httpx.AsyncClient(timeout=60) as client:
        done = await complete(client, sim.target("mistral"), request, allow_private=True)
    assert [call.name for call in done.tool_calls] == ["convert_units"]
    assert sim.last_body()["tool_choice"] == {
        "type": "function",
        "function": {"name": "convert_units"},
    }


async def test_tool_choice_none_answers_in_text(sim: Sim) -> None:
    request = CompletionRequest(
        model="claude-haiku-4-5",
        prefix="",
        turns=ASK,
        tools=(WEATHER, CONVERT),
        tool_choice=ToolChoice("none"),
    )
    async with httpx.AsyncClient(timeout=60) as client:
        done = await complete(client, sim.target("anthropic"), request, allow_private=True)
    assert done.tool_calls == () and done.text
    assert sim.last_body()["tool_choice"] == {"type": "none"}


async def test_ollama_whole_calls_and_their_results(sim: Sim) -> None:
    target = sim.target("ollama")
    async with httpx.AsyncClient(timeout=60) as client:
        first = await complete(client, target, ask("llama3.2"), allow_private=True)
        call = first.tool_calls[0]
        answered = ToolRound(first.tool_calls, (ToolResult(call.id, RESULT),))
        second = await complete(
            client, target, ask("llama3.2", rounds=(answered,)), allow_private=True
        )
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "celsius"}
    assert RESULT in second.text
    body = sim.last_body()
    assert body["messages"][-2]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}}
    ]
    assert body["messages"][-1] == {"role": "tool", "content": RESULT, "tool_name": "get_weather"}
