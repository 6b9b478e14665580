"""Requests to the OpenAI-shaped providers, validated the way each real service does.

Each provider has one rule function that reads the trailing assistant message and the
provider's own flags, refuses what the real service refuses (with its documented message), and
says how the model answers: continue the prefix, or answer afresh (docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.simulator import tools as sim_tools
from playground.simulator.anthropic import NO_PREFILL, refuses_prefill
from playground.simulator.errors import Rejected
from playground.simulator.exchange import Exchange
from playground.simulator.faults import Call, ModelOptions, model_options, respond
from playground.simulator.generate import Ask, generate, plan
from playground.simulator.openai_wire import OpenAIWire

ROLES = ("system", "developer", "user", "assistant", "tool", "function")

DEEPSEEK_BETA_ONLY = (
    'prefix is only available when using beta api (set base_url="https://api.deepseek.com/beta")'
)
DEEPSEEK_REASONER_LAST = (
    "The last message of deepseek-reasoner must be a user message, or an assistant message "
    "with prefix mode on (refer to https://api-docs.deepseek.com/guides/chat_prefix_completion)."
)
DASHSCOPE_PARTIAL_THINKING = "Partial mode is not supported when enable_thinking is true"
MOONSHOT_PARTIAL_THINKING = "Partial mode is not supported when thinking is enabled"
MISTRAL_LAST_ROLE = (
    "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant"
)
VLLM_BOTH_FLAGS = "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
LLAMACPP_THINKING = "Assistant response prefill is incompatible with enable_thinking."


@dataclass(frozen=True)
class Chat:
    """The parts of a chat request every rule needs."""

    model: str
    messages: list[dict[str, Any]]
    last: dict[str, Any] | None  # the trailing assistant message, if the request ends with one
    stop: tuple[str, ...]
    body: dict[str, Any]

    @property
    def prefix(self) -> str:
        """Return the trailing assistant message's text."""
        return text_of(self.last.get("content")) if self.last else ""


@dataclass(frozen=True)
class Decision:
    """How the model answers: continue the prefix or start afresh, and what else it does."""

    fresh: bool
    reasoning: bool = False
    reasoning_prefix: str = ""
    echo: bool = False
    split_echo: bool = False
    speaker: str | None = None


def text_of(content: Any) -> str:
    """Return the text of a message content (a string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def stops_of(value: Any) -> tuple[str, ...]:
    """Return the stop sequences of a `stop` field (a string, a list of strings, or null)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise Rejected("stop must be a string or a list of strings")


def max_tokens_of(value: Any, field: str = "max_tokens") -> int | None:
    """Return a validated token limit (null means none)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Rejected(f"{field} must be a positive integer")
    return value


def read_chat(body: dict[str, Any]) -> Chat:
    """Return the chat request in `body`, or refuse a malformed one."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Rejected("you must provide a model parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejected("messages must be a non-empty list")
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise Rejected(f"each message needs a role, one of: {', '.join(ROLES)}")
    last = messages[-1] if messages[-1]["role"] == "assistant" else None
    return Chat(model, messages, last, stops_of(body.get("stop")), body)


def _thinking_type(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    return thinking.get("type") if isinstance(thinking, dict) else None


def deepseek_thinks(model: str, body: dict[str, Any]) -> bool:
    """Return whether DeepSeek thinks: the reasoner, `thinking: enabled`, V4 unless disabled."""
    kind = _thinking_type(body)
    if model.startswith("deepseek-reasoner") or kind == "enabled":
        return True
    return model.startswith("deepseek-v4") and kind != "disabled"


def _deepseek(chat: Chat, endpoint: str) -> Decision:
    if len(chat.stop) > 16:
        raise Rejected("stop: the number of stop sequences must not exceed 16")
    thinks = deepseek_thinks(chat.model, chat.body)
    if chat.last is not None and chat.last.get("prefix") is True:
        if endpoint != "beta_chat":
            raise Rejected(DEEPSEEK_BETA_ONLY)
        reasoning_prefix = chat.last.get("reasoning_content") or ""
        return Decision(fresh=False, reasoning=thinks, reasoning_prefix=str(reasoning_prefix))
    if chat.last is not None and thinks:
        raise Rejected(DEEPSEEK_REASONER_LAST)
    # deepseek-chat without `prefix` reads the trailing assistant turn as finished.
    return Decision(fresh=True, reasoning=thinks)


def _dashscope(chat: Chat, endpoint: str) -> Decision:
    model = chat.model.lower()
    images = any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in chat.messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )
    if images and "-vl" not in model and not model.startswith("qvq"):
        raise Rejected(f"The model `{chat.model}` does not support image input.")
    thinking_only = "qwq" in model or "qvq" in model or "thinking" in model
    thinks = chat.body.get("enable_thinking") is True or thinking_only
    if chat.last is not None and chat.last.get("partial") is True:
        if thinks:
            raise Rejected(DASHSCOPE_PARTIAL_THINKING)
        return Decision(fresh=False)
    return Decision(fresh=True, reasoning=thinks)


def _moonshot(chat: Chat, endpoint: str) -> Decision:
    thinks = _thinking_type(chat.body) == "enabled" or "thinking" in chat.model
    if chat.last is not None and chat.last.get("partial") is True:
        if thinks:
            raise Rejected(MOONSHOT_PARTIAL_THINKING)
        name = chat.last.get("name")
        return Decision(fresh=False, speaker=name if isinstance(name, str) else None)
    return Decision(fresh=True, reasoning=thinks)


def _mistral(chat: Chat, endpoint: str) -> Decision:
    if chat.last is None:
        return Decision(fresh=True)
    if chat.last.get("prefix") is not True:
        raise Rejected(MISTRAL_LAST_ROLE)
    # Mistral's content starts with the prefix; streams replay it over several chunks.
    return Decision(fresh=False, echo=True, split_echo=True)


def _coreshub(chat: Chat, endpoint: str) -> Decision:
    if len(chat.stop) > 16:
        raise Rejected("stop: at most 16 stop sequences are allowed")
    limit = max_tokens_of(chat.body.get("max_tokens"))
    if limit is not None and limit > 8192:
        raise Rejected("max_tokens must be between 1 and 8192")
    return Decision(fresh=chat.last is None)


def _openrouter(chat: Chat, endpoint: str) -> Decision:
    # OpenRouter passes the trailing assistant message on; the upstream model decides.
    upstream = chat.model.split("/", 1)
    if chat.last is not None and upstream[0] == "anthropic" and refuses_prefill(upstream[-1]):
        raise Rejected(NO_PREFILL)
    return Decision(fresh=chat.last is None or upstream[0] == "openai")


def _vllm_flags(chat: Chat) -> bool:
    """Return `continue_final_message`, refusing it together with `add_generation_prompt`."""
    keep_going = chat.body.get("continue_final_message") is True
    if keep_going and chat.body.get("add_generation_prompt") is True:
        raise Rejected(VLLM_BOTH_FLAGS)
    return keep_going


def _vllm(chat: Chat, endpoint: str) -> Decision:
    # Without the flag the prefix is rendered as a finished turn plus a new generation prompt.
    keep_going = _vllm_flags(chat) and chat.last is not None
    return Decision(fresh=not keep_going, echo=keep_going and chat.body.get("echo") is True)


def _openai_compatible(chat: Chat, endpoint: str) -> Decision:
    _vllm_flags(chat)
    return Decision(fresh=chat.last is None, echo=chat.body.get("echo") is True)


def _sglang(chat: Chat, endpoint: str) -> Decision:
    # Without the flag SGLang turns the trailing assistant message into a user message;
    # list (multimodal) content is never treated as a prefix.
    keep_going = chat.body.get("continue_final_message") is True
    is_text = chat.last is not None and isinstance(chat.last.get("content"), str)
    return Decision(fresh=not (keep_going and is_text))


def _llamacpp(chat: Chat, endpoint: str) -> Decision:
    _vllm_flags(chat)
    kwargs = chat.body.get("chat_template_kwargs")
    thinks = chat.body.get("enable_thinking") is True or (
        isinstance(kwargs, dict) and kwargs.get("enable_thinking") is True
    )
    if chat.last is not None and thinks:
        raise Rejected(LLAMACPP_THINKING)
    return Decision(fresh=chat.last is None, echo=chat.body.get("echo") is True)


def _openai(chat: Chat, endpoint: str) -> Decision:
    # No prefill: a trailing assistant message is a finished turn (docs/providers.md, OpenAI).
    return Decision(fresh=True)


RULES: dict[str, Callable[[Chat, str], Decision]] = {
    "deepseek": _deepseek,
    "dashscope": _dashscope,
    "coreshub": _coreshub,
    "moonshot": _moonshot,
    "mistral": _mistral,
    "openrouter": _openrouter,
    "vllm": _vllm,
    "sglang": _sglang,
    "llamacpp": _llamacpp,
    "openai": _openai,
    "openai_compatible": _openai_compatible,
}


def _input_text(chat: Chat) -> str:
    parts = [text_of(m.get("content")) for m in chat.messages]
    if chat.last is not None:
        parts.append(str(chat.last.get("reasoning_content") or ""))
    return "\n".join(parts)


def _topic(messages: list[dict[str, Any]]) -> str:
    users = [text_of(m.get("content")) for m in messages if m["role"] == "user"]
    return users[-1] if users else ""


async def handle_chat(ex: Exchange, call: Call) -> None:
    """Answer a chat completion request."""
    chat = read_chat(call.body)
    decision = RULES[call.provider](chat, call.endpoint)
    options = model_options(chat.model)
    offered = sim_tools.read_function_tools(call.body)
    choice = sim_tools.openai_choice(call.body, offered)
    if call.provider == "deepseek":
        sim_tools.check_deepseek_strict(offered, call.endpoint)
    if call.provider == "mistral":
        sim_tools.check_mistral_ids(chat.messages)
    results = sim_tools.openai_results(chat.messages)
    limit = call.body.get("max_tokens", call.body.get("max_completion_tokens"))
    format_ = call.body.get("response_format")
    stream = call.body.get("stream") is True
    ex.record.stream = stream
    seed = call.text_seed()
    ask = Ask(
        prefix="" if decision.fresh else chat.prefix,
        topic=_topic(chat.messages),
        input_text=_input_text(chat),
        fresh=decision.fresh,
        reasoning=decision.reasoning,
        reasoning_prefix=decision.reasoning_prefix,
        json_mode=isinstance(format_, dict) and format_.get("type") == "json_object",
        speaker=decision.speaker,
        long=options.long,
        stop=chat.stop,
        max_tokens=max_tokens_of(limit),
        seed=seed,
        tool_results=results,
    )
    if decision.fresh:
        chosen = sim_tools.choose(
            offered,
            choice,
            ask.topic,
            after_results=bool(results),
            parallel="-parallel" in chat.model,
        )
        if chosen:
            bad = options.fault == "badargs"
            calls = sim_tools.make_calls(call.provider, chosen, ask.topic, seed, bad=bad)
            await _answer_with_calls(ex, call, chat.model, calls, ask, options, stream)
            return
    gen = generate(ask)
    echo = chat.prefix if decision.echo else ""
    deltas = plan(gen, seed, echo=echo, split_echo=decision.split_echo)
    usage = call.body.get("stream_options")
    include_usage = isinstance(usage, dict) and usage.get("include_usage") is True
    wire = OpenAIWire(call.provider, chat.model, include_usage=include_usage, echo=echo)
    await respond(ex, wire, gen, deltas, options, call.timing, stream)


async def _answer_with_calls(
    ex: Exchange,
    call: Call,
    model: str,
    calls: list[sim_tools.SimCall],
    ask: Ask,
    options: ModelOptions,
    stream: bool,
) -> None:
    gen = sim_tools.generation(calls, ask.input_text)
    usage = call.body.get("stream_options")
    include_usage = isinstance(usage, dict) and usage.get("include_usage") is True
    wire = OpenAIWire(call.provider, model, include_usage=include_usage, calls=tuple(calls))
    deltas = sim_tools.call_deltas(calls, ask.seed)
    await respond(ex, wire, gen, deltas, options, call.timing, stream)


async def handle_fim(ex: Exchange, call: Call) -> None:
    """Answer DeepSeek's FIM completion (`/beta/completions`): the middle of prompt and suffix."""
    body = call.body
    model, prompt, suffix = body.get("model"), body.get("prompt"), body.get("suffix")
    if not isinstance(model, str) or not model:
        raise Rejected("you must provide a model parameter")
    if not isinstance(prompt, str):
        raise Rejected("prompt must be a string")
    if suffix is not None and not isinstance(suffix, str):
        raise Rejected("suffix must be a string")
    if deepseek_thinks(model, body):
        raise Rejected("FIM completion is only supported in non-thinking mode")
    limit = max_tokens_of(body.get("max_tokens"))
    if limit is not None and limit > 4096:
        raise Rejected("max_tokens must be at most 4096 for FIM completion")
    stop = stops_of(body.get("stop"))
    if len(stop) > 16:
        raise Rejected("stop: the number of stop sequences must not exceed 16")
    options = model_options(model)
    stream = body.get("stream") is True
    ex.record.stream = stream
    seed = call.text_seed()
    ask = Ask(
        prefix=prompt,
        input_text=prompt + (suffix or ""),
        suffix=suffix,
        long=options.long,
        stop=stop,
        max_tokens=limit,
        seed=seed,
    )
    gen = generate(ask)
    echo = prompt if body.get("echo") is True else ""
    usage = body.get("stream_options")
    include_usage = isinstance(usage, dict) and usage.get("include_usage") is True
    wire = OpenAIWire("deepseek", model, include_usage=include_usage, fim=True, echo=echo)
    await respond(ex, wire, gen, plan(gen, seed, echo=echo), options, call.timing, stream)
