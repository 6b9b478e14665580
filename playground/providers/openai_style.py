"""The OpenAI-shaped dialects: how each marks the prefix, and how their answers are read.

    deepseek   last assistant message with "prefix": true (+ "reasoning_content"), /beta path;
               FIM on /beta/completions with prompt + suffix
    dashscope  "partial": true; cannot think while partial, so enable_thinking is forced off
    moonshot   "partial": true, optional "name"; never with response_format json_object
    mistral    "prefix": true; the reply repeats the prefix, which is stripped
    vllm       request-level continue_final_message + add_generation_prompt: false (+ echo: false)
    sglang     request-level continue_final_message
    llamacpp   plain trailing assistant; cannot think while prefilling
    plain      plain trailing assistant (CoresHub, OpenRouter, generic endpoints)
    openai     no prefix at all: refused before sending (an empty prefix is an ordinary chat)

Every stream is OpenAI-style SSE; answers are read by `parse_event` / `parse_object`.
"""

from __future__ import annotations

from playground.providers.base import ReasoningDelta, TextDelta
from playground.providers.errors import from_payload, unsupported
from playground.providers.parsing import Item, Marker, as_dict, as_text, finish, load_object, usage
from playground.providers.request import (
    JSON,
    Context,
    Plan,
    check_images,
    check_prefix_support,
    common_params,
    ignored_extras,
    join_url,
    make_plan,
    resolve_thinking,
)
from playground.providers.sse import SSEEvent
from playground.providers.tool_request import check_tools, openai_fields, openai_messages
from playground.providers.tool_stream import openai_tool_items

FORBIDS_THINKING = {
    "dashscope": "DashScope partial mode cannot think.",
    "llamacpp": "llama.cpp cannot prefill an assistant message while thinking.",
}
# Dialects whose servers may repeat the prefix at the start of the reply (Mistral always,
# vLLM/llama.cpp with echo, unknown servers behind "plain"): strip it when they do.
MAY_ECHO = frozenset({"mistral", "vllm", "llamacpp", "plain"})
REQUEST_FLAGS: dict[str, JSON] = {
    "vllm": {"continue_final_message": True, "add_generation_prompt": False, "echo": False},
    "sglang": {"continue_final_message": True},
}


def build(ctx: Context) -> Plan:
    """Return the plan for an OpenAI-shaped chat (or DeepSeek FIM) request."""
    if ctx.request.suffix is not None:
        return _build_fim(ctx)
    req, dialect = ctx.request, ctx.dialect
    check_images(ctx)
    has_prefix = (
        bool(req.prefix)
        or (dialect == "deepseek" and bool(req.reasoning_prefix))
        or (dialect == "moonshot" and bool(req.speaker_name))
    )
    check_prefix_support(ctx, sends_prefix=has_prefix)
    notes = ignored_extras(ctx, reasoning=dialect == "deepseek", speaker=dialect == "moonshot")
    forbidden = FORBIDS_THINKING.get(dialect, "")
    thinking, more = resolve_thinking(ctx, has_prefix=has_prefix, forbidden=forbidden)
    notes += more
    notes += check_tools(ctx, has_prefix=has_prefix)
    messages = _messages(ctx) + openai_messages(ctx, notes)
    body: JSON = {"model": req.model, "messages": messages}
    if has_prefix:
        message, thinking = _prefix_message(ctx, thinking, notes)
        messages.append(message)
        body.update(REQUEST_FLAGS.get(dialect, {}))
    max_key = "max_completion_tokens" if dialect == "openai" else "max_tokens"
    body.update(common_params(req, max_key=max_key))
    body.update(_thinking_fields(ctx, thinking, notes))
    body.update(_json_fields(ctx, has_prefix=has_prefix))
    body.update(_stream_fields(ctx))
    if ctx.provider.id == "deepseek":
        url = join_url(ctx.base_url, "/beta/chat/completions", drop=("/beta", "/v1"))
    else:
        url = join_url(ctx.base_url, "/chat/completions", drop=("/chat/completions",))
    body.update(openai_fields(ctx, url, notes))
    echo = req.prefix if dialect in MAY_ECHO and has_prefix else ""
    return make_plan(ctx, url, body, notes, "openai", echo=echo)


def _messages(ctx: Context) -> list[JSON]:
    messages: list[JSON] = []
    if ctx.request.system:
        messages.append({"role": "system", "content": ctx.request.system})
    for turn in ctx.request.turns:
        content: object = turn.content
        if turn.images:
            parts: list[JSON] = [
                {"type": "image_url", "image_url": {"url": url}} for url in turn.images
            ]
            if turn.content:
                parts.append({"type": "text", "text": turn.content})
            content = parts
        messages.append({"role": turn.role, "content": content})
    return messages


def _prefix_message(
    ctx: Context, thinking: bool | None, notes: list[str]
) -> tuple[JSON, bool | None]:
    req = ctx.request
    message: JSON = {"role": "assistant", "content": req.prefix}
    if ctx.dialect in ("deepseek", "mistral"):
        message["prefix"] = True
    elif ctx.dialect in ("dashscope", "moonshot"):
        message["partial"] = True
    if ctx.dialect == "moonshot" and req.speaker_name:
        message["name"] = req.speaker_name
    if ctx.dialect == "deepseek" and req.reasoning_prefix:
        if thinking is False or ctx.model.thinking == "none":
            notes.append("The reasoning prefix was not sent: thinking is off for this request.")
        else:
            message["reasoning_content"] = req.reasoning_prefix
            if thinking is None and ctx.model.thinking == "optional":
                thinking = True
                notes.append("Thinking was switched on to continue the reasoning prefix.")
    return message, thinking


def _thinking_fields(ctx: Context, thinking: bool | None, notes: list[str]) -> JSON:
    if thinking is None:
        return {}
    switch = {"type": "enabled" if thinking else "disabled"}
    match ctx.dialect:
        case "deepseek" | "moonshot":
            return {"thinking": switch}
        case "dashscope":
            return {"enable_thinking": thinking}
        case "vllm" | "sglang" | "llamacpp":
            return {"chat_template_kwargs": {"enable_thinking": thinking}}
    notes.append(f"{ctx.name} has no thinking switch here; the model's default applies.")
    return {}


def _json_fields(ctx: Context, *, has_prefix: bool) -> JSON:
    if not ctx.request.json_mode:
        return {}
    if ctx.dialect == "moonshot" and has_prefix:
        raise unsupported(
            "Moonshot partial mode cannot be combined with JSON mode (response_format "
            'json_object). Start the prefix with "{" instead.'
        )
    if not ctx.model.json_mode:
        raise unsupported(
            f'{ctx.model.id} on {ctx.name} has no JSON mode. Start the prefix with "{{" instead.'
        )
    return {"response_format": {"type": "json_object"}}


def _stream_fields(ctx: Context) -> JSON:
    if not ctx.request.stream:
        return {}
    if ctx.provider.stream_usage:
        return {"stream": True, "stream_options": {"include_usage": True}}
    return {"stream": True}


def _build_fim(ctx: Context) -> Plan:
    req = ctx.request
    if ctx.dialect != "deepseek":
        raise unsupported(
            "Fill-in-the-middle needs DeepSeek's completions endpoint; "
            f"{ctx.name} does not offer it here."
        )
    if not ctx.model.fim:
        raise unsupported(f"{ctx.model.id} on {ctx.name} does not support fill-in-the-middle.")
    check_tools(ctx, has_prefix=True)  # refuses tools: FIM has no place for them
    if req.json_mode:
        raise unsupported("Fill-in-the-middle requests cannot use JSON mode.")
    notes = ignored_extras(ctx, reasoning=True, speaker=False)
    if req.system or req.turns:
        notes.append(
            "Fill-in-the-middle sends only the prefix and the suffix; "
            "the system prompt and the conversation were not sent."
        )
    if req.thinking or req.reasoning_prefix:
        notes.append(
            "Fill-in-the-middle does not think; thinking and the reasoning prefix were ignored."
        )
    body: JSON = {"model": req.model, "prompt": req.prefix, "suffix": req.suffix}
    body.update(common_params(req))
    body["echo"] = False  # the continuation must not repeat the prompt
    body.update(_stream_fields(ctx))
    if ctx.provider.id == "deepseek":
        url = join_url(ctx.base_url, "/beta/completions", drop=("/beta", "/v1"))
    else:
        url = join_url(ctx.base_url, "/completions", drop=("/completions",))
    return make_plan(ctx, url, body, notes, "openai")


def parse_event(event: SSEEvent, provider: str, api_key: str) -> list[Item]:
    """Return the items in one OpenAI-style SSE event."""
    data = event.data.strip()
    if not data:
        return []
    if data == "[DONE]":
        return [Marker.DONE]
    payload = load_object(data)
    if payload is not None:
        return parse_object(payload, provider, api_key)
    if "\n" in data:
        # Some servers send several data lines without blank lines between: read each.
        return [
            item
            for line in data.split("\n")
            for item in parse_event(SSEEvent(event.event, line), provider, api_key)
        ]
    return [Marker.MALFORMED]


def parse_object(payload: dict[str, object], provider: str, api_key: str) -> list[Item]:
    """Return the items in one chunk, or in a whole non-streamed response body."""
    if payload.get("error") or payload.get("object") == "error":
        return [from_payload(provider, payload, api_key)]
    choices = payload.get("choices")
    first = as_dict(choices[0]) if isinstance(choices, list) and choices else {}
    delta = as_dict(first.get("delta")) or as_dict(first.get("message"))
    items: list[Item] = []
    reasoning = as_text(delta.get("reasoning_content")) or as_text(delta.get("reasoning"))
    if reasoning:
        items.append(ReasoningDelta(reasoning))
    text = _content_text(delta.get("content")) or as_text(first.get("text"))
    if text:
        items.append(TextDelta(text))
    if "tool_calls" in delta:
        items.extend(openai_tool_items(delta["tool_calls"]))
    # Kimi reports usage inside the choice; everyone else at the top level.
    found = usage(first.get("usage")) or usage(payload.get("usage"))
    if found:
        items.append(found)
    raw = as_text(first.get("finish_reason"))
    if raw == "error":
        # OpenRouter ends a failed stream this way; an error object, if any, was handled above.
        detail: dict[str, object] = {"error": {"message": "The stream ended with an error."}}
        items.append(from_payload(provider, detail, api_key))
    elif raw:
        items.append(finish(raw, first.get("matched_stop") or first.get("stop_reason")))
    return items


def _content_text(content: object) -> str:
    # Mistral may send content as a list of typed chunks.
    if isinstance(content, list):
        return "".join(as_text(as_dict(part).get("text")) for part in content)
    return as_text(content)
