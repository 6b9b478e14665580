"""prepare(): URLs, thinking switches, JSON mode, images, FIM, and refusals before sending."""

from __future__ import annotations

import pytest

from playground.providers import (
    CompletionRequest,
    ErrorKind,
    PreparedCall,
    ProviderError,
    Target,
    Turn,
    prepare,
)
from tests.providers.helpers import KEY

PNG = "data:image/png;base64,iVBORw0KGgo="
DEEPSEEK = Target("deepseek", "https://api.deepseek.com", KEY)
DASHSCOPE = Target("dashscope", "https://dashscope.aliyuncs.com/compatible-mode/v1", KEY)
MOONSHOT = Target("moonshot", "https://api.moonshot.ai/v1", KEY)
ANTHROPIC = Target("anthropic", "https://api.anthropic.com", KEY)
ASK = (Turn("user", "Go on."),)


def refusal(target: Target, request: CompletionRequest) -> str:
    with pytest.raises(ProviderError) as caught:
        prepare(target, request)
    assert caught.value.kind == ErrorKind.UNSUPPORTED
    assert not caught.value.retryable
    return caught.value.message


def last_message(call: PreparedCall) -> object:
    messages = call.body["messages"]
    assert isinstance(messages, list)
    return messages[-1]


@pytest.mark.parametrize(
    "base",
    [
        "https://api.deepseek.com",
        "https://api.deepseek.com/",
        "https://api.deepseek.com/beta",
        "https://api.deepseek.com/v1/",
    ],
)
def test_it_builds_deepseeks_beta_urls_without_doubling(base: str) -> None:
    target = Target("deepseek", base, KEY)
    assert prepare(target, CompletionRequest("deepseek-chat", "x")).url == (
        "https://api.deepseek.com/beta/chat/completions"
    )
    fim = CompletionRequest("deepseek-chat", "def f(", suffix=")")
    assert prepare(target, fim).url == "https://api.deepseek.com/beta/completions"


def test_it_falls_back_to_the_catalogs_base_url() -> None:
    call = prepare(Target("mistral", "", KEY), CompletionRequest("mistral-small-latest", "x"))
    assert call.url == "https://api.mistral.ai/v1/chat/completions"


def test_it_refuses_openai_with_a_prefix_and_says_why() -> None:
    target = Target("openai", "https://api.openai.com/v1", KEY)
    message = refusal(target, CompletionRequest("gpt-4o-mini", "{"))
    assert "no prefix or prefill parameter" in message


def test_it_sends_openai_an_ordinary_chat_when_the_prefix_is_empty() -> None:
    target = Target("openai", "https://api.openai.com/v1", KEY)
    call = prepare(target, CompletionRequest("gpt-4o-mini", "", turns=ASK, max_tokens=10))
    assert call.body["messages"] == [{"role": "user", "content": "Go on."}]
    assert call.body["max_completion_tokens"] == 10


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-opus-4-7-20260601",
        "claude-sonnet-5",
        "claude-opus-5-5",
        "claude-haiku-6",
    ],
)
def test_it_refuses_anthropic_models_that_reject_prefill(model: str) -> None:
    message = refusal(ANTHROPIC, CompletionRequest(model, "{", turns=ASK))
    assert "prefill" in message


def test_it_lets_a_prefill_refusing_model_answer_without_a_prefix() -> None:
    call = prepare(ANTHROPIC, CompletionRequest("claude-sonnet-4-6", "", turns=ASK))
    assert call.body["messages"] == [{"role": "user", "content": "Go on."}]


def test_it_accepts_prefill_on_older_dated_claude_ids() -> None:
    call = prepare(ANTHROPIC, CompletionRequest("claude-haiku-4-5-20251001", "{", turns=ASK))
    assert last_message(call) == {"role": "assistant", "content": "{"}


def test_it_trims_anthropics_trailing_whitespace_and_says_so() -> None:
    call = prepare(ANTHROPIC, CompletionRequest("claude-haiku-4-5", "Dear Sir, \n", turns=ASK))
    assert last_message(call) == {"role": "assistant", "content": "Dear Sir,"}
    assert call.notes == (
        "Trailing whitespace was trimmed from the prefix for Anthropic and is kept in the result.",
    )


def test_it_merges_consecutive_turns_of_one_role_for_anthropic() -> None:
    turns = (
        Turn("user", "One."),
        Turn("user", "Two.", images=("https://example.com/a.png", PNG)),
        Turn("assistant", "Sure."),
    )
    call = prepare(ANTHROPIC, CompletionRequest("claude-haiku-4-5", "And", turns=turns))
    assert call.body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "One."},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "text", "text": "Two."},
            ],
        },
        {"role": "assistant", "content": "Sure.\n\nAnd"},
    ]


def test_it_switches_thinking_off_for_anthropic_prefill_with_a_note() -> None:
    call = prepare(ANTHROPIC, CompletionRequest("claude-haiku-4-5", "{", turns=ASK, thinking=True))
    assert "thinking" not in call.body
    assert call.notes == (
        "Thinking was switched off: Anthropic prefill does not work with extended thinking.",
    )


def test_it_enables_anthropic_thinking_without_a_prefix() -> None:
    request = CompletionRequest("claude-haiku-4-5", "", turns=ASK, thinking=True, max_tokens=500)
    call = prepare(ANTHROPIC, request)
    assert call.body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert call.body["max_tokens"] == 1524


def test_it_refuses_json_mode_and_fim_on_anthropic() -> None:
    assert "no JSON mode" in refusal(
        ANTHROPIC, CompletionRequest("claude-haiku-4-5", "", json_mode=True)
    )
    assert "fill-in-the-middle" in refusal(
        ANTHROPIC, CompletionRequest("claude-haiku-4-5", "a", suffix="b")
    )


def test_it_forces_dashscope_thinking_off_with_a_note() -> None:
    call = prepare(DASHSCOPE, CompletionRequest("qwen-plus", "Once", turns=ASK, thinking=True))
    assert call.body["enable_thinking"] is False
    assert call.notes == ("Thinking was switched off: DashScope partial mode cannot think.",)


def test_it_switches_thinking_off_for_an_unknown_dashscope_model() -> None:
    call = prepare(DASHSCOPE, CompletionRequest("qwen3-32b", "Once", turns=ASK))
    assert call.body["enable_thinking"] is False
    assert len(call.notes) == 1


def test_it_refuses_a_dashscope_model_that_always_thinks() -> None:
    assert "always thinks" in refusal(DASHSCOPE, CompletionRequest("qwq-plus", "Once"))


def test_it_refuses_images_for_a_model_without_vision() -> None:
    turns = (Turn("user", "Describe.", images=("https://example.com/a.png",)),)
    assert "does not accept images" in refusal(
        DASHSCOPE, CompletionRequest("qwen3-coder-plus", "It", turns=turns)
    )


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        (Turn("assistant", "x", images=("https://example.com/a.png",)), "user turns"),
        (Turn("user", "x", images=("http://example.com/a.png",)), "https URLs or data: URLs"),
        (Turn("user", "x", images=("ftp://example.com/a.png",)), "https URLs or data: URLs"),
    ],
)
def test_it_refuses_misplaced_or_unusable_images(turn: Turn, reason: str) -> None:
    assert reason in refusal(DASHSCOPE, CompletionRequest("qwen3-vl-plus", "It", turns=(turn,)))


@pytest.mark.parametrize(
    "url", ["data:image/png,rawbytes", "data:text/plain;base64,aGk=", "data:image/png;base64,%%"]
)
def test_it_refuses_a_data_url_that_is_not_a_base64_image(url: str) -> None:
    turns = (Turn("user", "x", images=(url,)),)
    assert "data: URL" in refusal(
        ANTHROPIC, CompletionRequest("claude-haiku-4-5", "It", turns=turns)
    )
    assert "data: URL" in refusal(DASHSCOPE, CompletionRequest("qwen3-vl-plus", "It", turns=turns))


def test_it_passes_a_data_url_image_through_to_openai_style_dialects() -> None:
    turns = (Turn("user", "What is it?", images=(PNG,)),)
    call = prepare(DASHSCOPE, CompletionRequest("qwen3-vl-plus", "It is", turns=turns))
    messages = call.body["messages"]
    assert isinstance(messages, list)
    assert messages[0]["content"][0] == {"type": "image_url", "image_url": {"url": PNG}}


def test_it_asks_dashscope_for_json_mode() -> None:
    call = prepare(DASHSCOPE, CompletionRequest("qwen-plus", "{", json_mode=True))
    assert call.body["response_format"] == {"type": "json_object"}


def test_it_refuses_moonshot_partial_with_json_mode() -> None:
    message = refusal(MOONSHOT, CompletionRequest("kimi-k2.5", "{", turns=ASK, json_mode=True))
    assert 'Start the prefix with "{" instead' in message


def test_it_allows_moonshot_json_mode_without_a_prefix() -> None:
    call = prepare(MOONSHOT, CompletionRequest("kimi-k2.5", "", turns=ASK, json_mode=True))
    assert call.body["response_format"] == {"type": "json_object"}
    assert call.body["messages"] == [{"role": "user", "content": "Go on."}]


@pytest.mark.parametrize(
    ("target", "model", "field", "value"),
    [
        (DEEPSEEK, "deepseek-v4-flash", "thinking", {"type": "disabled"}),
        (MOONSHOT, "kimi-k2.6", "thinking", {"type": "disabled"}),
        (DASHSCOPE, "qwen-plus", "enable_thinking", False),
        (
            Target("vllm", "http://localhost:8000/v1", KEY),
            "Qwen/Qwen3-8B",
            "chat_template_kwargs",
            {"enable_thinking": False},
        ),
        (
            Target("sglang", "http://localhost:30000/v1", KEY),
            "Qwen/Qwen3-8B",
            "chat_template_kwargs",
            {"enable_thinking": False},
        ),
        (Target("ollama", "http://localhost:11434", ""), "qwen3:8b", "think", False),
    ],
)
def test_it_maps_the_thinking_switch_to_each_dialects_control(
    target: Target, model: str, field: str, value: object
) -> None:
    call = prepare(target, CompletionRequest(model, "Once", turns=ASK, thinking=False))
    assert call.body[field] == value


def test_it_turns_deepseek_thinking_on() -> None:
    call = prepare(DEEPSEEK, CompletionRequest("deepseek-v4-pro", "x", thinking=True))
    assert call.body["thinking"] == {"type": "enabled"}


def test_it_notes_that_a_model_without_thinking_ignores_the_switch() -> None:
    call = prepare(DEEPSEEK, CompletionRequest("deepseek-chat", "x", thinking=True))
    assert "thinking" not in call.body
    assert call.notes == ("deepseek-chat does not think; the thinking switch was ignored.",)


def test_it_drops_the_reasoning_prefix_when_thinking_is_off() -> None:
    request = CompletionRequest("deepseek-v4-flash", "", reasoning_prefix="Hmm,", thinking=False)
    call = prepare(DEEPSEEK, request)
    assert "reasoning_content" not in str(call.body)
    assert call.notes == ("The reasoning prefix was not sent: thinking is off for this request.",)


def test_it_switches_thinking_on_for_a_reasoning_prefix_on_an_optional_model() -> None:
    call = prepare(DEEPSEEK, CompletionRequest("deepseek-v9", "", reasoning_prefix="Hmm,"))
    assert last_message(call) == {
        "role": "assistant",
        "content": "",
        "reasoning_content": "Hmm,",
        "prefix": True,
    }
    assert call.body["thinking"] == {"type": "enabled"}


def test_it_notes_features_other_dialects_have_no_place_for() -> None:
    request = CompletionRequest("mistral-small-latest", "x", reasoning_prefix="r", speaker_name="S")
    call = prepare(Target("mistral", "", KEY), request)
    assert call.notes == (
        "The reasoning prefix is a DeepSeek feature; it was not sent to Mistral.",
        "The speaker name is a Moonshot feature; it was not sent to Mistral.",
    )


def test_it_refuses_fim_where_it_is_not_available() -> None:
    assert "does not support fill-in-the-middle" in refusal(
        DEEPSEEK, CompletionRequest("deepseek-reasoner", "a", suffix="b")
    )
    assert "Fill-in-the-middle needs DeepSeek" in refusal(
        Target("mistral", "", KEY), CompletionRequest("codestral-latest", "a", suffix="b")
    )


def test_it_notes_what_a_fim_request_leaves_out() -> None:
    request = CompletionRequest("deepseek-chat", "a", suffix="b", system="s", turns=ASK)
    call = prepare(DEEPSEEK, request)
    assert set(call.body) == {"model", "prompt", "suffix", "echo", "stream", "stream_options"}
    assert "were not sent" in call.notes[0]


def test_it_sends_the_generic_endpoints_chosen_dialect() -> None:
    target = Target("openai_compatible", "http://gpu-box:8000/v1", KEY, dialect="mistral")
    call = prepare(target, CompletionRequest("my-model", "Hi"))
    assert call.url == "http://gpu-box:8000/v1/chat/completions"
    assert last_message(call) == {"role": "assistant", "content": "Hi", "prefix": True}
    deepseek_style = Target("openai_compatible", "http://gpu-box:8000/v1", KEY, "deepseek")
    fim = prepare(deepseek_style, CompletionRequest("my-model", "a", suffix="b"))
    assert fim.url == "http://gpu-box:8000/v1/completions"


def test_it_refuses_a_dialect_the_provider_does_not_speak() -> None:
    assert "dialect" in refusal(
        Target("deepseek", "", KEY, dialect="vllm"), CompletionRequest("deepseek-chat", "x")
    )


def test_it_refuses_a_missing_base_url_model_or_provider() -> None:
    assert "No base URL" in refusal(
        Target("openai_compatible", "", KEY), CompletionRequest("m", "x")
    )
    assert "Choose a model" in refusal(DEEPSEEK, CompletionRequest(" ", "x"))
    assert "Unknown provider" in refusal(Target("nope", "", KEY), CompletionRequest("m", "x"))


def test_it_sends_no_prefix_flags_when_the_prefix_is_empty() -> None:
    target = Target("vllm", "http://localhost:8000/v1", KEY)
    call = prepare(target, CompletionRequest("meta-llama/Llama-3.2-3B-Instruct", "", turns=ASK))
    assert "continue_final_message" not in call.body
    assert call.body["messages"] == [{"role": "user", "content": "Go on."}]


def test_it_refuses_prefill_on_openai_models_through_openrouter() -> None:
    target = Target("openrouter", "", KEY)
    assert "answer afresh" in refusal(target, CompletionRequest("openai/gpt-4.1", "x"))
    assert "prefill" in refusal(target, CompletionRequest("anthropic/claude-sonnet-4.6", "x"))


def test_it_sends_ollama_images_as_base64_and_refuses_urls() -> None:
    target = Target("ollama", "http://localhost:11434", "")
    turns = (Turn("user", "What is it?", images=(PNG,)),)
    call = prepare(target, CompletionRequest("gemma3", "It is", turns=turns))
    messages = call.body["messages"]
    assert isinstance(messages, list)
    assert messages[0] == {"role": "user", "content": "What is it?", "images": ["iVBORw0KGgo="]}
    url_turns = (Turn("user", "x", images=("https://example.com/a.png",)),)
    assert "data: URLs" in refusal(target, CompletionRequest("gemma3", "It", turns=url_turns))


def test_it_redacts_the_key_in_every_header() -> None:
    for target in (DEEPSEEK, ANTHROPIC):
        call = prepare(target, CompletionRequest("claude-haiku-4-5", "x"))
        redacted = call.redacted()
        assert KEY not in str(redacted.headers)
        assert KEY not in repr(call)
        assert redacted.body == call.body
    assert (
        prepare(ANTHROPIC, CompletionRequest("claude-haiku-4-5", "x"))
        .redacted()
        .headers["x-api-key"]
        == "[redacted]"
    )
