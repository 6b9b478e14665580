"""Contract: every documented stream (and response) example parses into the expected events.

Bodies are the providers' documented examples (linked from docs/providers.md), verbatim where
the example is complete JSON;
where the document elides values with "…", the elided numbers are filled in and said so.
"""

from __future__ import annotations

import pytest

from playground.providers import (
    CompletionRequest,
    ErrorKind,
    Finish,
    ProviderError,
    Target,
    TextDelta,
    Turn,
    Usage,
)
from tests.providers.helpers import KEY, answer, collect

pytestmark = pytest.mark.anyio

DEEPSEEK = Target("deepseek", "https://api.deepseek.com", KEY)
QUICK_SORT = CompletionRequest(
    model="deepseek-chat",
    prefix="```python\n",
    turns=(Turn("user", "Please write quick sort code"),),
    stop=("```",),
)

# docs/providers.md, DeepSeek, verbatim
DEEPSEEK_STREAM = """: keep-alive

data: {"id":"1f633d8b","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-chat","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"1f633d8b","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-chat","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"content":"def"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"1f633d8b","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-chat","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"1f633d8b","object":"chat.completion.chunk","created":1718345013,"model":"deepseek-chat","system_fingerprint":"fp_a49d71b8a1","choices":[],"usage":{"prompt_tokens":16,"completion_tokens":120,"total_tokens":136,"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":16}}

data: [DONE]
"""  # noqa: E501 (verbatim from the documented example)

# docs/providers.md, Anthropic, verbatim
ANTHROPIC_STREAM = """event: message_start
data: {"type":"message_start","message":{"id":"msg_01…","type":"message","role":"assistant","content":[],"model":"claude-haiku-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":42,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\"name\\": \\"SmartHome Mini\\""}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":37}}

event: message_stop
data: {"type":"message_stop"}
"""  # noqa: E501 (verbatim from the documented example)


async def test_it_reads_deepseeks_documented_stream() -> None:
    events = await collect(answer(DEEPSEEK_STREAM.encode()), DEEPSEEK, QUICK_SORT)
    assert events == [
        TextDelta("def"),
        Usage(input_tokens=16, output_tokens=120, cached_input_tokens=0),
        Finish("stop", "stop"),
    ]


async def test_it_reads_deepseeks_documented_response_when_not_streaming() -> None:
    # docs/providers.md, DeepSeek, verbatim
    body = """{
  "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
  "object": "chat.completion",
  "created": 1705651092,
  "model": "deepseek-chat",
  "system_fingerprint": "fp_xxxxxxxx",
  "choices": [{
    "index": 0,
    "finish_reason": "stop",
    "message": {"role": "assistant", "content": "def quick_sort(arr):\\n    ..."},
    "logprobs": null
  }],
  "usage": {
    "prompt_tokens": 16, "completion_tokens": 120, "total_tokens": 136,
    "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 16
  }
}"""
    # DeepSeek may send blank keep-alive lines before a non-streamed body
    # (docs/providers.md, DeepSeek).
    client = answer(b"\n\n" + body.encode(), content_type="application/json")
    request = CompletionRequest(**{**QUICK_SORT.__dict__, "stream": False})
    events = await collect(client, DEEPSEEK, request)
    assert events == [
        TextDelta("def quick_sort(arr):\n    ..."),
        Usage(16, 120, 0),
        Finish("stop", "stop"),
    ]


async def test_it_reads_anthropics_documented_stream() -> None:
    target = Target("anthropic", "https://api.anthropic.com", KEY)
    request = CompletionRequest(
        model="claude-haiku-4-5", prefix="{", turns=(Turn("user", "Extract."),)
    )
    events = await collect(answer(ANTHROPIC_STREAM.encode()), target, request)
    assert events == [
        TextDelta('"name": "SmartHome Mini"'),
        Usage(input_tokens=42, output_tokens=37),
        Finish("stop", "end_turn", None),
    ]


async def test_it_reads_anthropics_documented_response_when_not_streaming() -> None:
    # docs/providers.md, Anthropic; the documented example elides usage ("{…}"), filled in.
    body = (
        '{"type":"message","role":"assistant","content":[{"type":"text","text":'
        '"\\"name\\": \\"SmartHome Mini\\", …}"}],"stop_reason":"end_turn",'
        '"stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":12}}'
    )
    target = Target("anthropic", "https://api.anthropic.com", KEY)
    request = CompletionRequest(
        model="claude-haiku-4-5", prefix="{", turns=(Turn("user", "Extract."),), stream=False
    )
    events = await collect(answer(body.encode(), content_type="application/json"), target, request)
    assert events == [
        TextDelta('"name": "SmartHome Mini", …}'),
        Usage(30, 12),
        Finish("stop", "end_turn", None),
    ]


async def test_it_turns_anthropics_documented_error_event_into_a_provider_error() -> None:
    # docs/providers.md, Anthropic: an error after the stream has begun
    body = (
        ANTHROPIC_STREAM.split("event: content_block_stop")[0]
        + "event: error\n"
        + 'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    target = Target("anthropic", "https://api.anthropic.com", KEY)
    request = CompletionRequest(model="claude-haiku-4-5", prefix="{", turns=(Turn("user", "x"),))
    events = await collect(answer(body.encode()), target, request)
    assert events[0] == TextDelta('"name": "SmartHome Mini"')
    assert events[1] == Usage(42, 1)
    error = events[-1]
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.OVERLOADED
    assert error.retryable
    assert error.provider_message == "Overloaded"


async def test_it_reads_dashscopes_documented_chunks_and_usage() -> None:
    # docs/providers.md, DashScope: the first chunk is verbatim; the usage chunk's elided counts are
    # filled in.
    body = (
        'data: {"id":"chatcmpl-d8aa…","object":"chat.completion.chunk","created":1762504029,'
        '"model":"qwen-mt-flash","choices":[{"index":0,"delta":{"content":"I","role":null},'
        '"finish_reason":null,"logprobs":null}],"usage":null}\n'
        'data: {"id":"chatcmpl-d8aa…","object":"chat.completion.chunk","created":1762504029,'
        '"model":"…","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],'
        '"usage":null}\n'
        'data: {"id":"chatcmpl-d8aa…","object":"chat.completion.chunk","created":1762504029,'
        '"model":"…","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,'
        '"total_tokens":10}}\n'
        "data: [DONE]\n"
    )
    target = Target("dashscope", "https://dashscope.aliyuncs.com/compatible-mode/v1", KEY)
    request = CompletionRequest(model="qwen-plus", prefix="Translate: ")
    events = await collect(answer(body.encode()), target, request)
    assert events == [TextDelta("I"), Usage(9, 1), Finish("stop", "stop")]


async def test_it_reads_coreshubs_documented_response_with_matched_stop() -> None:
    # docs/providers.md, CoresHub, verbatim ("matched_stop": 1 is a token id, not a stop string)
    body = """{"id":"902d63b5f10940e08f50dde32224b15d","object":"chat.completion","created":1740987764,"model":"DeepSeek-V3",
 "choices":[{"index":0,
   "message":{"role":"assistant","content":",原本安静的校园瞬间沸腾起来,…","tool_calls":null},
   "logprobs":null,"finish_reason":"stop","matched_stop":1}],
 "usage":{"prompt_tokens":37,"total_tokens":67,"completion_tokens":30,"prompt_tokens_details":null}}"""  # noqa: E501 (verbatim from the documented example)
    target = Target("coreshub", "https://openapi.coreshub.cn/v1", KEY)
    request = CompletionRequest(model="DeepSeek-V3", prefix="叮铃铃,下课铃响了", stream=False)
    events = await collect(answer(body.encode(), content_type="application/json"), target, request)
    assert events == [
        TextDelta(",原本安静的校园瞬间沸腾起来,…"),
        Usage(37, 30),
        Finish("stop", "stop", None),
    ]


async def test_it_ignores_openrouters_processing_comments() -> None:
    # docs/providers.md, OpenRouter: ": OPENROUTER PROCESSING" comment payloads must be ignored
    body = (
        ": OPENROUTER PROCESSING\n\n"
        'data: {"choices":[{"delta":{"content":" that it is 42."},"finish_reason":null}]}\n\n'
        ": OPENROUTER PROCESSING\n\n"
        'data: {"choices":[{"delta":{},"finish_reason":"stop"}],'
        '"usage":{"prompt_tokens":20,"completion_tokens":8}}\n\n'
        "data: [DONE]\n\n"
    )
    target = Target("openrouter", "https://openrouter.ai/api/v1", KEY)
    request = CompletionRequest(
        model="anthropic/claude-haiku-4.5", prefix="I'm not sure, but my best guess is"
    )
    events = await collect(answer(body.encode()), target, request)
    assert events == [TextDelta(" that it is 42."), Usage(20, 8), Finish("stop", "stop")]


async def test_it_turns_openrouters_midstream_error_chunk_into_a_provider_error() -> None:
    # docs/providers.md, OpenRouter: HTTP 200, then a chunk with "error" and finish_reason "error"
    body = (
        'data: {"choices":[{"delta":{"content":"Once"},"finish_reason":null}]}\n\n'
        'data: {"error":{"code":502,"message":"Provider returned error"},'
        '"choices":[{"delta":{"content":""},"finish_reason":"error"}]}\n\n'
    )
    target = Target("openrouter", "https://openrouter.ai/api/v1", KEY)
    events = await collect(answer(body.encode()), target, CompletionRequest("m/x", "Tale:"))
    assert events[0] == TextDelta("Once")
    error = events[-1]
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.SERVER
    assert error.status == 502
    assert error.provider_message == "Provider returned error"


async def test_it_reads_kimis_usage_inside_the_choice() -> None:
    # docs/providers.md, Moonshot: Kimi documents the final chunk's usage at choices[0].usage
    body = (
        'data: {"choices":[{"index":0,"delta":{"content":"\\"name\\": \\"DaMi\\"}"}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop",'
        '"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59}}]}\n\n'
        "data: [DONE]\n\n"
    )
    target = Target("moonshot", "https://api.moonshot.ai/v1", KEY)
    events = await collect(answer(body.encode()), target, CompletionRequest("kimi-k2.5", "{"))
    assert events == [TextDelta('"name": "DaMi"}'), Usage(50, 9), Finish("stop", "stop")]


async def test_it_strips_mistrals_documented_echo_of_the_prefix() -> None:
    # docs/providers.md, Mistral: the reply's content starts with the prefix
    body = (
        '{"choices":[{"index":0,"message":{"role":"assistant","content":'
        '"Shakespeare: Good morrow, friend!"},"finish_reason":"stop"}],'
        '"usage":{"prompt_tokens":30,"completion_tokens":9}}'
    )
    target = Target("mistral", "https://api.mistral.ai/v1", KEY)
    request = CompletionRequest("mistral-small-latest", "Shakespeare: ", stream=False)
    events = await collect(answer(body.encode(), content_type="application/json"), target, request)
    assert events == [TextDelta("Good morrow, friend!"), Usage(30, 9), Finish("stop", "stop")]


async def test_it_turns_vllms_streamed_error_line_into_a_provider_error() -> None:
    # docs/providers.md, vLLM: streaming errors are emitted as a data: {"error": {...}} line
    body = (
        'data: {"error":{"message":"Cannot set both `continue_final_message` and '
        '`add_generation_prompt` to True.","type":"BadRequestError","param":null,"code":400}}\n\n'
    )
    target = Target("vllm", "http://localhost:8000/v1", KEY)
    events = await collect(answer(body.encode()), target, CompletionRequest("m", "An apple"))
    assert len(events) == 1
    error = events[0]
    assert isinstance(error, ProviderError)
    assert error.kind == ErrorKind.BAD_REQUEST
    assert "continue_final_message" in error.message


async def test_it_reads_ollamas_ndjson_stream() -> None:
    # docs/providers.md, Ollama: prefix "Thanks for asking! I am " → "100% digital, so I don't …"
    body = (
        '{"model":"llama3.2","message":{"role":"assistant","content":"100% digital,"},'
        '"done":false}\n'
        '{"model":"llama3.2","message":{"role":"assistant","content":" so I don\'t …"},'
        '"done":false}\n'
        '{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,'
        '"done_reason":"stop","prompt_eval_count":26,"eval_count":12}\n'
    )
    target = Target("ollama", "http://localhost:11434", "")
    request = CompletionRequest("llama3.2", "Thanks for asking! I am ")
    events = await collect(
        answer(body.encode(), content_type="application/x-ndjson"), target, request
    )
    assert events == [
        TextDelta("100% digital,"),
        TextDelta(" so I don't …"),
        Usage(26, 12),
        Finish("stop", "stop"),
    ]


async def test_it_reads_deepseeks_fim_text_completion_chunks() -> None:
    # docs/providers.md, DeepSeek, fill in the middle: text_completion chunks carry choices[].text
    body = (
        'data: {"object":"text_completion","choices":[{"index":0,"text":"\\n    if a < 2:",'
        '"finish_reason":null}]}\n\n'
        'data: {"object":"text_completion","choices":[{"index":0,"text":"\\n        return a\\n",'
        '"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    request = CompletionRequest(
        "deepseek-chat", "def fib(a):", suffix="    return fib(a-1) + fib(a-2)"
    )
    events = await collect(answer(body.encode()), DEEPSEEK, request)
    assert events == [
        TextDelta("\n    if a < 2:"),
        TextDelta("\n        return a\n"),
        Finish("stop", "stop"),
    ]
