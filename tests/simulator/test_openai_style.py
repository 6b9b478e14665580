"""The OpenAI-shaped dialects over real loopback HTTP: prefix flags, validation, streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.simulator.conftest import bearer, data_chunks, openai_text, stream_sse

USER = {"role": "user", "content": "Please write quick sort code"}
FENCE = "```python\n"

# provider -> (path, flags on the prefix message, flags on the request)
CONTINUING: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "deepseek": ("/deepseek/beta/chat/completions", {"prefix": True}, {}),
    "dashscope": ("/dashscope/compatible-mode/v1/chat/completions", {"partial": True}, {}),
    "coreshub": ("/coreshub/v1/chat/completions", {}, {}),
    "moonshot": ("/moonshot/v1/chat/completions", {"partial": True}, {}),
    "mistral": ("/mistral/v1/chat/completions", {"prefix": True}, {}),
    "openrouter": ("/openrouter/api/v1/chat/completions", {}, {}),
    "vllm": (
        "/vllm/v1/chat/completions",
        {},
        {"continue_final_message": True, "add_generation_prompt": False},
    ),
    "sglang": ("/sglang/v1/chat/completions", {}, {"continue_final_message": True}),
    "llamacpp": ("/llamacpp/v1/chat/completions", {}, {}),
    "openai_compatible": ("/openai_compatible/v1/chat/completions", {}, {}),
}


def prefix_body(provider: str, prefix: str = FENCE, **extra: Any) -> dict[str, Any]:
    """Return a request that asks `provider` to continue `prefix` in its own dialect."""
    _, message_flags, request_flags = CONTINUING[provider]
    assistant = {"role": "assistant", "content": prefix, **message_flags}
    return {"model": "sim-model", "messages": [USER, assistant], **request_flags, **extra}


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST a JSON body with a valid key."""
    return client.post(path, json=body, headers=bearer())


@pytest.mark.parametrize("provider", sorted(CONTINUING))
def test_it_continues_a_code_fence_prefix_without_streaming(
    client: httpx.Client, provider: str
) -> None:
    response = post(client, CONTINUING[provider][0], prefix_body(provider, stop=["```"]))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    content = body["choices"][0]["message"]["content"]
    if provider == "mistral":  # Mistral's content starts with the prefix
        assert content.startswith(FENCE)
        content = content[len(FENCE) :]
    assert content.startswith("def quick_sort(arr):") and "```" not in content
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] > 20
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


@pytest.mark.parametrize("provider", sorted(CONTINUING))
def test_it_streams_the_same_text_in_small_deltas(client: httpx.Client, provider: str) -> None:
    path = CONTINUING[provider][0]
    whole = post(client, path, prefix_body(provider)).json()["choices"][0]["message"]["content"]
    response, events = stream_sse(client, path, prefix_body(provider), bearer())
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == (None, "[DONE]")
    chunks = data_chunks(events)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert openai_text(events) == whole
    assert len(chunks) > 20  # small deltas, not one burst
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}


def test_it_refuses_a_deepseek_prefix_off_the_beta_base_url(client: httpx.Client) -> None:
    for path in ("/deepseek/chat/completions", "/deepseek/v1/chat/completions"):
        response = post(client, path, prefix_body("deepseek"))
        assert response.status_code == 400
        assert response.json() == {
            "error": {
                "message": "prefix is only available when using beta api "
                '(set base_url="https://api.deepseek.com/beta")',
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_request_error",
            }
        }


def test_it_answers_a_plain_deepseek_chat_on_the_normal_base(client: httpx.Client) -> None:
    response = post(
        client, "/deepseek/chat/completions", {"model": "deepseek-chat", "messages": [USER]}
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("Sure! Here is")


def test_it_streams_deepseek_reasoning_before_content(client: httpx.Client) -> None:
    body = prefix_body("deepseek", model="deepseek-reasoner")
    body["stream_options"] = {"include_usage": True}
    _, events = stream_sse(client, "/deepseek/beta/chat/completions", body, bearer())
    kinds = [
        "reasoning" if "reasoning_content" in c["choices"][0]["delta"] else "content"
        for c in data_chunks(events)[1:]
        if c["choices"] and c["choices"][0]["delta"]
    ]
    assert kinds[0] == "reasoning" and kinds[-1] == "content"
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")  # never interleaved
    usage = data_chunks(events)[-1]
    assert (
        usage["choices"] == []
        and usage["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    )
    assert openai_text(events).startswith("def ")


def test_it_continues_a_deepseek_reasoning_prefix(client: httpx.Client) -> None:
    assistant = {
        "role": "assistant",
        "content": "",
        "reasoning_content": "Compare the tenths digit",
        "prefix": True,
    }
    body = {"model": "deepseek-reasoner", "messages": [USER, assistant]}
    message = post(client, "/deepseek/beta/chat/completions", body).json()["choices"][0]["message"]
    assert (
        message["reasoning_content"].startswith(" ") and message["reasoning_content"][1].islower()
    )


@pytest.mark.parametrize(
    ("model", "extra", "thinks"),
    [
        ("deepseek-chat", {}, False),
        ("deepseek-chat", {"thinking": {"type": "enabled"}}, True),
        ("deepseek-v4-flash", {}, True),
        ("deepseek-v4-flash", {"thinking": {"type": "disabled"}}, False),
    ],
)
def test_it_thinks_on_deepseek_when_the_model_or_flag_says_so(
    client: httpx.Client, model: str, extra: dict[str, Any], thinks: bool
) -> None:
    body = prefix_body("deepseek", model=model, **extra)
    message = post(client, "/deepseek/beta/chat/completions", body).json()["choices"][0]["message"]
    assert bool(message.get("reasoning_content")) is thinks


def test_it_refuses_a_trailing_assistant_without_prefix_on_the_reasoner(
    client: httpx.Client,
) -> None:
    body = {
        "model": "deepseek-reasoner",
        "messages": [USER, {"role": "assistant", "content": "Hi"}],
    }
    response = post(client, "/deepseek/beta/chat/completions", body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "The last message of deepseek-reasoner must be a user message"
    )


def test_it_refuses_more_than_sixteen_deepseek_stops(client: httpx.Client) -> None:
    body = prefix_body("deepseek", stop=[f"s{i}" for i in range(17)])
    response = post(client, "/deepseek/beta/chat/completions", body)
    assert response.status_code == 400 and "16" in response.json()["error"]["message"]
    assert (
        post(
            client, "/deepseek/beta/chat/completions", prefix_body("deepseek", stop=["x"] * 16)
        ).status_code
        == 200
    )


def test_it_refuses_dashscope_partial_mode_with_thinking(client: httpx.Client) -> None:
    for extra in ({"enable_thinking": True}, {"model": "qwq-plus"}):
        response = post(client, CONTINUING["dashscope"][0], prefix_body("dashscope", **extra))
        assert response.status_code == 400
        body = response.json()
        assert (
            body["error"]["message"] == "Partial mode is not supported when enable_thinking is true"
        )
        assert body["error"]["code"] == "invalid_parameter_error" and body["request_id"]


def test_it_thinks_on_dashscope_only_when_asked(client: httpx.Client) -> None:
    path = CONTINUING["dashscope"][0]
    body = {"model": "qwen-plus", "messages": [USER], "enable_thinking": True}
    assert post(client, path, body).json()["choices"][0]["message"]["reasoning_content"]
    body["enable_thinking"] = False
    assert "reasoning_content" not in post(client, path, body).json()["choices"][0]["message"]


def test_it_refuses_images_on_a_dashscope_text_model(client: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    user = {"role": "user", "content": [image, {"type": "text", "text": "写一句文案"}]}
    assistant = {"role": "assistant", "content": "今天发现了一家宝藏咖啡馆", "partial": True}
    path = CONTINUING["dashscope"][0]
    refused = post(client, path, {"model": "qwen-plus", "messages": [user, assistant]})
    assert refused.status_code == 400 and "image" in refused.json()["error"]["message"]
    accepted = post(client, path, {"model": "qwen3-vl-plus", "messages": [user, assistant]})
    assert accepted.status_code == 200
    assert "，" in accepted.json()["choices"][0]["message"]["content"][:2]


def test_it_puts_moonshot_usage_in_the_final_choice(client: httpx.Client) -> None:
    _, events = stream_sse(client, CONTINUING["moonshot"][0], prefix_body("moonshot"), bearer())
    final = data_chunks(events)[-1]["choices"][0]
    assert final["finish_reason"] == "stop" and final["usage"]["completion_tokens"] > 0


def test_it_role_plays_the_moonshot_name(client: httpx.Client) -> None:
    assistant = {"role": "assistant", "name": "Kelsier", "content": "", "partial": True}
    body = {"model": "kimi-k2", "messages": [USER, assistant]}
    content = post(client, CONTINUING["moonshot"][0], body).json()["choices"][0]["message"][
        "content"
    ]
    assert content.endswith("\n") and content.count("\n") == 1


def test_it_refuses_moonshot_partial_mode_with_thinking(client: httpx.Client) -> None:
    body = prefix_body("moonshot", thinking={"type": "enabled"})
    response = post(client, CONTINUING["moonshot"][0], body)
    assert response.status_code == 400 and set(response.json()["error"]) == {"message", "type"}


def test_it_refuses_a_mistral_trailing_assistant_without_prefix(client: httpx.Client) -> None:
    body = {
        "model": "mistral-small-latest",
        "messages": [USER, {"role": "assistant", "content": "Hi"}],
    }
    response = post(client, CONTINUING["mistral"][0], body)
    assert response.status_code == 400
    assert response.json() == {
        "object": "error",
        "message": "Expected last role User or Tool (or Assistant with prefix True) "
        "for serving but got assistant",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_it_replays_the_mistral_prefix_over_several_stream_chunks(client: httpx.Client) -> None:
    prefix = "Shakespeare: Good morrow"
    _, events = stream_sse(
        client, CONTINUING["mistral"][0], prefix_body("mistral", prefix), bearer()
    )
    deltas = [
        c["choices"][0]["delta"].get("content", "") for c in data_chunks(events)[1:] if c["choices"]
    ]
    assert deltas[0] != prefix and prefix.startswith(deltas[0] + deltas[1])
    assert "".join(deltas).startswith(prefix + " ")


def test_it_refuses_both_vllm_flags(client: httpx.Client) -> None:
    for provider in ("vllm", "openai_compatible", "llamacpp"):
        body = prefix_body("coreshub", continue_final_message=True, add_generation_prompt=True)
        response = post(client, f"/{provider}/v1/chat/completions", body)
        assert response.status_code == 400, provider
        assert (
            "Cannot set both `continue_final_message` and `add_generation_prompt`" in response.text
        )


def test_it_echoes_the_vllm_prefix_when_asked(client: httpx.Client) -> None:
    body = prefix_body("vllm", "An apple a day, keeps", echo=True)
    content = post(client, "/vllm/v1/chat/completions", body).json()["choices"][0]["message"][
        "content"
    ]
    assert content.startswith("An apple a day, keeps ")
    body["echo"] = False
    content = post(client, "/vllm/v1/chat/completions", body).json()["choices"][0]["message"][
        "content"
    ]
    assert content.startswith(" ")


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/vllm/v1/chat/completions", "meta-llama/Llama-3.2-3B-Instruct"),
        ("/sglang/v1/chat/completions", "qwen"),
        ("/openai/v1/chat/completions", "gpt-4o-mini"),
        ("/openrouter/api/v1/chat/completions", "openai/gpt-4o-mini"),
    ],
)
def test_it_answers_afresh_without_the_continuation_flag(
    client: httpx.Client, path: str, model: str
) -> None:
    body = {"model": model, "messages": [USER, {"role": "assistant", "content": FENCE}]}
    content = post(client, path, body).json()["choices"][0]["message"]["content"]
    assert content.startswith("Sure! Here is") and not content.startswith("def ")
    _, events = stream_sse(client, path, body, bearer())
    assert openai_text(events) == content and events[-1] == (None, "[DONE]")


def test_it_reports_matched_stop_on_sglang_and_coreshub(client: httpx.Client) -> None:
    for provider in ("sglang", "coreshub"):
        path = CONTINUING[provider][0]
        stopped = post(client, path, prefix_body(provider, stop=["```"])).json()["choices"][0]
        assert stopped["matched_stop"] == "```"
        natural = post(client, path, prefix_body(provider)).json()["choices"][0]
        assert natural["matched_stop"] == 1  # the EOS token id, as in CoresHub's sample
        _, events = stream_sse(client, path, prefix_body(provider, stop=["```"]), bearer())
        assert data_chunks(events)[-1]["choices"][0]["matched_stop"] == "```"


def test_it_limits_coreshub_max_tokens(client: httpx.Client) -> None:
    response = post(client, CONTINUING["coreshub"][0], prefix_body("coreshub", max_tokens=9000))
    assert response.status_code == 400


def test_it_refuses_llamacpp_prefill_with_thinking(client: httpx.Client) -> None:
    for extra in ({"enable_thinking": True}, {"chat_template_kwargs": {"enable_thinking": True}}):
        response = post(client, CONTINUING["llamacpp"][0], prefix_body("llamacpp", **extra))
        assert response.status_code == 400
        assert response.json() == {
            "error": {
                "code": 400,
                "message": "Assistant response prefill is incompatible with enable_thinking.",
                "type": "invalid_request_error",
            }
        }


def test_it_sends_openrouter_processing_comments(client: httpx.Client) -> None:
    _, events = stream_sse(client, CONTINUING["openrouter"][0], prefix_body("openrouter"), bearer())
    assert events[0] == ("comment", "OPENROUTER PROCESSING")
    assert data_chunks(events)[-1]["usage"]["completion_tokens"] > 0


def test_it_passes_on_the_upstream_prefill_refusal_through_openrouter(client: httpx.Client) -> None:
    body = prefix_body("openrouter", model="anthropic/claude-sonnet-4.6")
    response = post(client, CONTINUING["openrouter"][0], body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400
    assert "does not support assistant message prefill" in response.json()["error"]["message"]
    body["model"] = "anthropic/claude-haiku-4.5"
    assert post(client, CONTINUING["openrouter"][0], body).status_code == 200


def test_it_honours_max_tokens_with_finish_length(client: httpx.Client) -> None:
    body = prefix_body("deepseek", "Once upon a time", max_tokens=7)
    choice_and_usage = post(client, "/deepseek/beta/chat/completions", body).json()
    assert choice_and_usage["choices"][0]["finish_reason"] == "length"
    assert choice_and_usage["usage"]["completion_tokens"] == 7
    _, events = stream_sse(client, "/deepseek/beta/chat/completions", body, bearer())
    assert openai_text(events) == choice_and_usage["choices"][0]["message"]["content"]


def test_it_applies_stop_sequences_to_generated_text_only(client: httpx.Client) -> None:
    path = CONTINUING["dashscope"][0]
    prefix = "The end. Once upon a time"
    natural = post(client, path, prefix_body("dashscope", prefix)).json()["choices"][0]["message"][
        "content"
    ]
    in_prefix = post(client, path, prefix_body("dashscope", prefix, stop=["The end", "Once"]))
    assert in_prefix.json()["choices"][0]["message"]["content"] == natural
    word = natural.split()[5]
    stopped = post(client, path, prefix_body("dashscope", prefix, stop=[word])).json()
    assert stopped["choices"][0]["message"]["content"] == natural[: natural.index(word)]
    assert stopped["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("prefix", "topic", "check"),
    [
        ("{", "Extract the name, size, price, and color.", "json"),
        ('{\n  "name": "SmartHome Mini",\n  "pri', "Extract the name and price.", "json"),
        ("叮铃铃,下课铃响了", "请续写", "cjk"),
        ("Hamlet: To be or not to be.\nHoratio:", "Role-play", "dialogue"),
        ("I'm not sure, but my best guess is", "What is the meaning of life?", "prose"),
    ],
)
def test_it_continues_each_kind_of_prefix(
    client: httpx.Client, prefix: str, topic: str, check: str
) -> None:
    messages = [{"role": "user", "content": topic}, {"role": "assistant", "content": prefix}]
    body = {"model": "DeepSeek-V3", "messages": messages}
    content = post(client, "/coreshub/v1/chat/completions", body).json()["choices"][0]["message"][
        "content"
    ]
    if check == "json":
        assert isinstance(json.loads(prefix + content), dict)
    elif check == "cjk":
        assert content.startswith("，") and "。" in content
    elif check == "dialogue":
        assert content.startswith(" ") and content.endswith("\n") and content.count("\n") == 1
    else:
        assert content.startswith(" ") and not content.startswith(" I'm not sure")


def test_it_honours_json_object_response_format(client: httpx.Client) -> None:
    body = {
        "model": "deepseek-chat",
        "messages": [{"role": "user", "content": "Give the name, price and color as JSON."}],
        "response_format": {"type": "json_object"},
    }
    content = post(client, "/deepseek/chat/completions", body).json()["choices"][0]["message"][
        "content"
    ]
    assert json.loads(content).keys() == {"name", "price", "color"}


def test_it_completes_deepseek_fim(client: httpx.Client) -> None:
    prompt, suffix = "def fib(a):", "    return fib(a-1) + fib(a-2)"
    body = {"model": "deepseek-chat", "prompt": prompt, "suffix": suffix, "max_tokens": 128}
    response = post(client, "/deepseek/beta/completions", body)
    assert response.status_code == 200 and response.json()["object"] == "text_completion"
    middle = response.json()["choices"][0]["text"]
    compile(prompt + middle + suffix, "<fim>", "exec")
    _, events = stream_sse(client, "/deepseek/beta/completions", body, bearer())
    chunks = data_chunks(events)
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert "".join(c["choices"][0]["text"] for c in chunks) == middle


@pytest.mark.parametrize(
    "extra", [{"model": "deepseek-reasoner"}, {"max_tokens": 5000}, {"prompt": None}]
)
def test_it_refuses_invalid_fim_requests(client: httpx.Client, extra: dict[str, Any]) -> None:
    body = {"model": "deepseek-chat", "prompt": "def f(", "suffix": ")", **extra}
    response = post(client, "/deepseek/beta/completions", body)
    assert (
        response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    )


def test_it_sends_a_usage_chunk_only_when_asked(client: httpx.Client) -> None:
    path = CONTINUING["vllm"][0]
    _, without = stream_sse(client, path, prefix_body("vllm"), bearer())
    assert all(c["choices"] for c in data_chunks(without))
    body = prefix_body("vllm", stream_options={"include_usage": True})
    _, with_usage = stream_sse(client, path, body, bearer())
    last = data_chunks(with_usage)[-1]
    assert last["choices"] == [] and last["usage"]["prompt_tokens"] > 0
