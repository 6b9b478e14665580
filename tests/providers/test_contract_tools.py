"""Contract: tool requests equal each provider's documented example, documented tool-call
streams parse into the expected calls, and what a provider or model cannot do is refused.

Sources (URLs and what was taken from each) are listed in docs/providers-tools.md.
"""

from __future__ import annotations

import json

import pytest

from playground.providers import CompletionRequest, ProviderError, Target, Turn, prepare
from playground.providers.schema_check import check_arguments, strict_problem
from playground.providers.tool_request import mistral_id
from playground.providers.tools import (
    ToolCall,
    ToolCallAssembler,
    ToolCallDelta,
    ToolChoice,
    ToolDef,
    ToolResult,
    ToolRound,
)
from tests.providers.helpers import KEY, answer, collect, sse

pytestmark = pytest.mark.anyio

# api-docs.deepseek.com/guides/tool_calls: the tools list and the tool message, verbatim.
DEEPSEEK_WEATHER = ToolDef(
    "get_weather",
    "Get weather of a location, the user should supply a location first.",
    {
        "type": "object",
        "properties": {
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            }
        },
        "required": ["location"],
    },
)
HANGZHOU = (Turn("user", "How's the weather in Hangzhou, Zhejiang?"),)


def deepseek(request: CompletionRequest) -> dict[str, object]:
    return prepare(Target("deepseek", "https://api.deepseek.com", KEY), request).body


def test_deepseeks_tool_request_is_the_documented_one() -> None:
    example = """{
  "model": "deepseek-chat",
  "messages": [{"role": "user", "content": "How's the weather in Hangzhou, Zhejiang?"}],
  "tools": [
    {
      "type": "function",
      "function": {
        "name": "get_weather",
        "description": "Get weather of a location, the user should supply a location first.",
        "parameters": {
          "type": "object",
          "properties": {
            "location": {
              "type": "string",
              "description": "The city and state, e.g. San Francisco, CA"
            }
          },
          "required": ["location"]
        }
      }
    }
  ]
}"""
    body = deepseek(
        CompletionRequest(
            model="deepseek-chat",
            prefix="",
            turns=HANGZHOU,
            tools=(DEEPSEEK_WEATHER,),
            stream=False,
        )
    )
    assert body == json.loads(example)


def test_deepseeks_continuation_carries_the_call_and_the_documented_tool_message() -> None:
    call = ToolCall("call_0_abc", "get_weather", '{"location": "Hangzhou"}')
    body = deepseek(
        CompletionRequest(
            model="deepseek-chat",
            prefix="",
            turns=HANGZHOU,
            tools=(DEEPSEEK_WEATHER,),
            tool_rounds=(ToolRound((call,), (ToolResult(call.id, "24℃"),)),),
            stream=False,
        )
    )
    messages = body["messages"]
    assert isinstance(messages, list)
    assert messages[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_0_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Hangzhou"}'},
            }
        ],
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "call_0_abc", "content": "24℃"}


def test_deepseek_strict_is_sent_to_beta_and_a_loose_schema_is_refused() -> None:
    closed = ToolDef(
        "get_weather",
        "",
        {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
            "additionalProperties": False,
        },
        strict=True,
    )
    call = prepare(
        Target("deepseek", "https://api.deepseek.com", KEY),
        CompletionRequest(model="deepseek-chat", prefix="", turns=HANGZHOU, tools=(closed,)),
    )
    assert call.url == "https://api.deepseek.com/beta/chat/completions"
    assert call.body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": closed.parameters, "strict": True},
        }
    ]
    loose = ToolDef("get_weather", "", DEEPSEEK_WEATHER.parameters, strict=True)
    with pytest.raises(ProviderError, match="additionalProperties to false"):
        deepseek(
            CompletionRequest(model="deepseek-chat", prefix="", turns=HANGZHOU, tools=(loose,))
        )


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, "false"),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "does not require b",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 2}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "minLength",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "format": "date"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "format 'date'",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "maxItems": 3}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "maxItems",
        ),
        ({"type": "object"}, "without properties"),
    ],
)
def test_strict_mode_refuses_what_deepseek_does_not_take(
    schema: dict[str, object], problem: str
) -> None:
    found = strict_problem(schema)
    assert found is not None and problem in found


def test_strict_mode_takes_nested_closed_objects_enums_anyof_and_refs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "unit": {"type": "string", "enum": ["c", "f"]},
            "where": {"$ref": "#/$defs/place"},
            "when": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]},
        },
        "required": ["unit", "where", "when"],
        "additionalProperties": False,
        "$defs": {
            "place": {
                "type": "object",
                "properties": {"city": {"type": "string", "pattern": "^[A-Z]"}},
                "required": ["city"],
                "additionalProperties": False,
            }
        },
    }
    assert strict_problem(schema) is None


def test_strict_outside_deepseek_is_dropped_with_a_note() -> None:
    closed = ToolDef("f", "", {"type": "object", "properties": {}}, strict=True)
    call = prepare(
        Target("dashscope", "", KEY),
        CompletionRequest(model="qwen-plus", prefix="", turns=HANGZHOU, tools=(closed,)),
    )
    assert "strict" not in call.body["tools"][0]["function"]
    assert any("no strict function mode" in note for note in call.notes)


# docs.mistral.ai/capabilities/function_calling: retrieve_payment_status, "any", id D681PevKs.
PAYMENT = ToolDef(
    "retrieve_payment_status",
    "Get payment status of a transaction",
    {
        "type": "object",
        "properties": {"transaction_id": {"type": "string", "description": "The transaction id."}},
        "required": ["transaction_id"],
    },
)


def test_mistrals_tool_request_and_result_are_the_documented_ones() -> None:
    call = ToolCall("D681PevKs", "retrieve_payment_status", '{"transaction_id": "T1001"}')
    body = prepare(
        Target("mistral", "", KEY),
        CompletionRequest(
            model="mistral-large-latest",
            prefix="",
            turns=(Turn("user", "What's the status of my transaction T1001?"),),
            tools=(PAYMENT,),
            tool_choice=ToolChoice("required"),
            tool_rounds=(ToolRound((call,), (ToolResult(call.id, '{"status": "Paid"}'),)),),
            stream=False,
        ),
    ).body
    assert body["tool_choice"] == "any"
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "retrieve_payment_status",
                "description": "Get payment status of a transaction",
                "parameters": PAYMENT.parameters,
            },
        }
    ]
    assert body["messages"][-1] == {
        "role": "tool",
        "name": "retrieve_payment_status",
        "content": '{"status": "Paid"}',
        "tool_call_id": "D681PevKs",
    }


def test_mistral_gets_nine_character_ids_the_same_for_a_call_and_its_result() -> None:
    call = ToolCall("call_PTLP8xhu3uwZk4l3nlnrrJha", "retrieve_payment_status", "{}")
    prepared = prepare(
        Target("mistral", "", KEY),
        CompletionRequest(
            model="mistral-small-latest",
            prefix="",
            turns=(Turn("user", "Status of T1001?"),),
            tools=(PAYMENT,),
            tool_rounds=(ToolRound((call,), (ToolResult(call.id, "Paid"),)),),
        ),
    )
    sent = prepared.body["messages"][1]["tool_calls"][0]["id"]
    assert sent == mistral_id(call.id) and len(sent) == 9 and sent.isalnum()
    assert prepared.body["messages"][2]["tool_call_id"] == sent
    assert any("nine letters or digits" in note for note in prepared.notes)


# platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use
ANTHROPIC_WEATHER = ToolDef(
    "get_weather",
    "Get the current weather in a given location",
    {
        "type": "object",
        "properties": {
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            },
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "description": 'The unit of temperature, either "celsius" or "fahrenheit"',
            },
        },
        "required": ["location"],
    },
)


def test_anthropics_tool_request_and_tool_result_are_the_documented_ones() -> None:
    call = ToolCall(
        "toolu_01A09q90qw90lq917835lq9",
        "get_weather",
        '{"location": "San Francisco, CA", "unit": "celsius"}',
    )
    body = prepare(
        Target("anthropic", "", KEY),
        CompletionRequest(
            model="claude-opus-4-6",
            prefix="",
            turns=(Turn("user", "What's the weather like in San Francisco?"),),
            tools=(ANTHROPIC_WEATHER,),
            tool_rounds=(
                ToolRound(
                    (call,),
                    (ToolResult(call.id, "15 degrees"),),
                    text="I'll check the current weather in San Francisco for you.",
                ),
            ),
            max_tokens=1024,
            stream=False,
        ),
    ).body
    expected = {
        "model": "claude-opus-4-6",
        "max_tokens": 1024,
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "input_schema": ANTHROPIC_WEATHER.parameters,
            }
        ],
        "messages": [
            {"role": "user", "content": "What's the weather like in San Francisco?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "text",
                        "text": "I'll check the current weather in San Francisco for you.",
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "get_weather",
                        "input": {"location": "San Francisco, CA", "unit": "celsius"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                        "content": "15 degrees",
                    }
                ],
            },
        ],
    }
    assert body == expected


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (ToolChoice("auto"), {"type": "auto"}),
        (ToolChoice("none"), {"type": "none"}),
        (ToolChoice("required"), {"type": "any"}),
        (ToolChoice("function", "get_weather"), {"type": "tool", "name": "get_weather"}),
    ],
)
def test_anthropics_tool_choice_forms(choice: ToolChoice, sent: dict[str, str]) -> None:
    body = prepare(
        Target("anthropic", "", KEY),
        CompletionRequest(
            model="claude-haiku-4-5",
            prefix="",
            turns=HANGZHOU,
            tools=(ANTHROPIC_WEATHER,),
            tool_choice=choice,
        ),
    ).body
    assert body["tool_choice"] == sent


# ollama.com/blog/streaming-tool: the request, verbatim.
OLLAMA_EXAMPLE = """{
  "model": "qwen3",
  "messages": [{"role": "user", "content": "What is the weather today in Toronto?"}],
  "stream": true,
  "tools": [
    {
      "type": "function",
      "function": {
        "name": "get_current_weather",
        "description": "Get the current weather for a location",
        "parameters": {
          "type": "object",
          "properties": {
            "location": {
              "type": "string",
              "description": "The location to get the weather for, e.g. San Francisco, CA"
            },
            "format": {
              "type": "string",
              "description": "The format to return the weather in, e.g. 'celsius' or 'fahrenheit'",
              "enum": ["celsius", "fahrenheit"]
            }
          },
          "required": ["location", "format"]
        }
      }
    }
  ]
}"""


def test_ollamas_tool_request_is_the_documented_one() -> None:
    example = json.loads(OLLAMA_EXAMPLE)
    function = example["tools"][0]["function"]
    body = prepare(
        Target("ollama", "", ""),
        CompletionRequest(
            model="qwen3",
            prefix="",
            turns=(Turn("user", "What is the weather today in Toronto?"),),
            tools=(ToolDef(function["name"], function["description"], function["parameters"]),),
        ),
    ).body
    assert body == example


# Refusals before sending -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "request_", "reason"),
    [
        (
            Target("ollama", "", ""),
            CompletionRequest(model="gemma3", prefix="", turns=HANGZHOU, tools=(DEEPSEEK_WEATHER,)),
            "does not support tools",
        ),
        (
            Target("coreshub", "", KEY),
            CompletionRequest(
                model="DeepSeek-R1", prefix="", turns=HANGZHOU, tools=(DEEPSEEK_WEATHER,)
            ),
            "does not support function calling",
        ),
        (
            Target("ollama", "", ""),
            CompletionRequest(
                model="llama3.2",
                prefix="",
                turns=HANGZHOU,
                tools=(DEEPSEEK_WEATHER,),
                tool_choice=ToolChoice("required"),
            ),
            "does not take tool_choice 'required'",
        ),
        (
            Target("deepseek", "", KEY),
            CompletionRequest(
                model="deepseek-chat",
                prefix="The weather",
                turns=HANGZHOU,
                tools=(DEEPSEEK_WEATHER,),
                tool_choice=ToolChoice("function", "get_weather"),
            ),
            "prefix commits the reply to text",
        ),
        (
            Target("deepseek", "", KEY),
            CompletionRequest(
                model="deepseek-chat",
                prefix="",
                turns=HANGZHOU,
                tools=(DEEPSEEK_WEATHER,),
                tool_rounds=(ToolRound((ToolCall("c1", "get_weather", "{}"),), ()),),
            ),
            "unanswered: get_weather",
        ),
        (
            Target("deepseek", "", KEY),
            CompletionRequest(
                model="deepseek-chat",
                prefix="",
                turns=HANGZHOU,
                tools=(ToolDef("get weather!"),),
            ),
            "is not allowed",
        ),
        (
            Target("anthropic", "", KEY),
            CompletionRequest(
                model="claude-haiku-4-5",
                prefix="",
                turns=HANGZHOU,
                tools=(ANTHROPIC_WEATHER,),
                tool_rounds=(
                    ToolRound((ToolCall("t1", "get_weather", "[1, 2]"),), (ToolResult("t1", "x"),)),
                ),
            ),
            "not a JSON object",
        ),
        (
            Target("deepseek", "", KEY),
            CompletionRequest(
                model="deepseek-chat", prefix="", suffix="x", tools=(DEEPSEEK_WEATHER,)
            ),
            "cannot carry tools",
        ),
    ],
)
def test_what_cannot_be_done_is_refused_before_sending(
    target: Target, request_: CompletionRequest, reason: str
) -> None:
    with pytest.raises(ProviderError, match=reason):
        prepare(target, request_)


def test_dashscope_required_with_one_tool_is_sent_as_that_function() -> None:
    call = prepare(
        Target("dashscope", "", KEY),
        CompletionRequest(
            model="qwen-plus",
            prefix="",
            turns=HANGZHOU,
            tools=(DEEPSEEK_WEATHER,),
            tool_choice=ToolChoice("required"),
        ),
    )
    assert call.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert any('no tool_choice "required"' in note for note in call.notes)


def test_a_prefix_after_tool_results_continues_the_final_answer() -> None:
    call = ToolCall("call_1", "get_weather", '{"location": "Hangzhou"}')
    body = deepseek(
        CompletionRequest(
            model="deepseek-chat",
            prefix="In Hangzhou it is",
            turns=HANGZHOU,
            tools=(DEEPSEEK_WEATHER,),
            tool_rounds=(ToolRound((call,), (ToolResult(call.id, "24℃"),)),),
        )
    )
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert body["messages"][-1] == {
        "role": "assistant",
        "content": "In Hangzhou it is",
        "prefix": True,
    }


def test_anthropic_thinking_is_switched_off_when_a_call_is_forced() -> None:
    call = prepare(
        Target("anthropic", "", KEY),
        CompletionRequest(
            model="claude-haiku-4-5",
            prefix="",
            turns=HANGZHOU,
            tools=(ANTHROPIC_WEATHER,),
            tool_choice=ToolChoice("required"),
            thinking=True,
        ),
    )
    assert "thinking" not in call.body
    assert any("forces a tool call" in note for note in call.notes)


# Streams ---------------------------------------------------------------------------------------


async def events_of(target: Target, body: bytes, request: CompletionRequest) -> list[object]:
    return list(await collect(answer(body), target, request))


def calls_in(events: list[object]) -> tuple[ToolCall, ...]:
    assembler = ToolCallAssembler()
    for event in events:
        if isinstance(event, ToolCallDelta):
            assembler.feed(event)
    return assembler.calls()


# platform.openai.com/docs/guides/function-calling ("Streaming"): the delta.tool_calls pieces
# the guide prints, each wrapped in a chat.completion.chunk.
OPENAI_PIECES = [
    '{"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "function": {"arguments": "", "name": "get_weather"}, "type": "function"}',  # noqa: E501
    '{"index": 0, "id": null, "function": {"arguments": "{\\"", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": "location", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": "\\":\\"", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": "Paris", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": ",", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": " France", "name": null}, "type": null}',
    '{"index": 0, "id": null, "function": {"arguments": "\\"}", "name": null}, "type": null}',
]


def chunk(tool_calls: str, finish: str | None = None) -> str:
    reason = json.dumps(finish)
    return (
        '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
        f'{{"tool_calls":[{tool_calls}]}},"finish_reason":{reason}}}]}}'
    )


async def test_the_documented_openai_style_stream_parses_into_one_call() -> None:
    body = sse(
        *[chunk(piece) for piece in OPENAI_PIECES],
        '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
        "[DONE]",
    )
    request = CompletionRequest(model="gpt-4o-mini", prefix="", turns=HANGZHOU)
    events = await events_of(Target("openai", "", KEY), body, request)
    assert calls_in(events) == (
        ToolCall("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", '{"location":"Paris, France"}'),
    )
    assert events[-1].reason == "tool_calls"  # type: ignore[attr-defined]


async def test_parallel_calls_split_mid_token_are_kept_apart() -> None:
    # Constructed in the documented shape: two calls, each argument split inside words and a
    # number, the second call's pieces interleaved with the first's.
    pieces = [
        '{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}',
        '{"index":0,"function":{"arguments":"{\\"location\\":\\"Pa"}}',
        '{"index":1,"id":"call_b","type":"function","function":{"name":"convert_units","arguments":"{\\"val"}}',
        '{"index":0,"function":{"arguments":"ris\\"}"}}',
        '{"index":1,"function":{"arguments":"ue\\":2"}}',
        '{"index":1,"function":{"arguments":"0.5}"}}',
    ]
    body = sse(*[chunk(piece) for piece in pieces], "[DONE]")
    request = CompletionRequest(model="deepseek-chat", prefix="", turns=HANGZHOU)
    events = await events_of(Target("deepseek", "", KEY), body, request)
    assert calls_in(events) == (
        ToolCall("call_a", "get_weather", '{"location":"Paris"}'),
        ToolCall("call_b", "convert_units", '{"value":20.5}'),
    )


# platform.claude.com/docs/en/build-with-claude/streaming ("Streaming request with tool use").
ANTHROPIC_TOOL_STREAM = """event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-6","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather for San Francisco, CA:"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \\"San"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisc"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"o,"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" CA\\""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":", "}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"unit\\": \\"fah"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"renheit\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"""  # noqa: E501 (verbatim)


async def test_the_documented_anthropic_tool_stream_parses_into_text_and_one_call() -> None:
    request = CompletionRequest(model="claude-haiku-4-5", prefix="", turns=HANGZHOU)
    events = await events_of(Target("anthropic", "", KEY), ANTHROPIC_TOOL_STREAM.encode(), request)
    (call,) = calls_in(events)
    assert call.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    text = "".join(e.text for e in events if type(e).__name__ == "TextDelta")  # type: ignore[attr-defined]
    assert text == "Okay, let's check the weather for San Francisco, CA:"
    assert events[-1].reason == "tool_calls"  # type: ignore[attr-defined]
    assert check_arguments(call.arguments, ANTHROPIC_WEATHER.schema()) is None


# ollama.com/blog/streaming-tool: the tool-call line of the output (created_at as printed).
OLLAMA_TOOL_LINE = '{"model":"qwen3","created_at":"2025-05-27T22:54:57.641643Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather","arguments":{"format":"celsius","location":"Toronto"}}}]},"done":false}'  # noqa: E501


async def test_ollamas_whole_calls_are_numbered_one_after_another() -> None:
    done = '{"model":"qwen3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}'  # noqa: E501
    second = OLLAMA_TOOL_LINE.replace("Toronto", "Ottawa")
    body = "\n".join([OLLAMA_TOOL_LINE, second, done]).encode() + b"\n"
    request = CompletionRequest(model="qwen3", prefix="", turns=HANGZHOU)
    events = await events_of(Target("ollama", "", ""), body, request)
    calls = calls_in(events)
    assert [json.loads(c.arguments)["location"] for c in calls] == ["Toronto", "Ottawa"]
    assert [c.id for c in calls] == ["call_0", "call_1"]


# The argument checker -----------------------------------------------------------------------

NESTED = {
    "type": "object",
    "properties": {
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "stops": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["unit"],
}


@pytest.mark.parametrize(
    ("arguments", "path", "words"),
    [
        ('{"unit": "kelvin"}', "unit", "must be one of"),
        ("{}", "unit", "required but missing"),
        (
            '{"unit": "celsius", "stops": [{"city": "Rome"}, {"city": 3}]}',
            "stops[1].city",
            "string",
        ),
        (
            '{"unit": "celsius", "stops": [{"city": "Rome", "days": 1.5}]}',
            "stops[0].days",
            "integer",
        ),
        (
            '{"unit": "celsius", "stops": [{"city": "Rome", "x": 1}]}',
            "stops[0].x",
            "not an allowed",
        ),
        ('{"unit": "celsi', "", "not valid JSON"),
    ],
)
def test_the_checker_names_the_offending_field(arguments: str, path: str, words: str) -> None:
    problem = check_arguments(arguments, NESTED)
    assert problem is not None
    assert problem.path == path and words in problem.message


def test_the_checker_accepts_fitting_arguments_and_stays_bounded() -> None:
    fitting = '{"unit": "celsius", "stops": [{"city": "Rome", "days": 2}, {"city": "Oslo"}]}'
    assert check_arguments(fitting, NESTED) is None
    deep: dict[str, object] = {"type": "object"}
    node = deep
    for _ in range(500):
        child: dict[str, object] = {"type": "object"}
        node["properties"] = {"a": child}
        node = child
    value: dict[str, object] = {}
    cursor = value
    for _ in range(500):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    assert check_arguments(json.dumps(value), deep) is None  # past the depth bound: no error
