"""Anthropic's Messages API: prefill as a trailing assistant message, typed SSE events.

Rules the builder follows (platform.claude.com, "Prefill Claude's response"):
- `system` is a top-level field; `max_tokens` is required; stop strings go in `stop_sequences`.
- Roles must alternate, so consecutive turns of one role are merged.
- The prefill may not end in whitespace: the sent prefix is right-trimmed and the trimmed part
  is handed to the normaliser, so the user's own prefix keeps every character.
- Prefill does not work with extended thinking, and Claude 4.6+ models refuse it (catalog).
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
    ignored_extras,
    join_url,
    make_plan,
    resolve_thinking,
    split_data_url,
)
from playground.providers.sse import SSEEvent
from playground.providers.tool_request import (
    anthropic_fields,
    anthropic_rounds,
    check_tools,
    choice_of,
    uses_tools,
)
from playground.providers.tool_stream import anthropic_block_delta, anthropic_block_start

DEFAULT_MAX_TOKENS = 1024
THINKING_BUDGET = 1024  # Anthropic's minimum budget_tokens


def build(ctx: Context) -> Plan:
    """Return the plan for a Messages API request."""
    req = ctx.request
    if req.suffix is not None:
        raise unsupported("Anthropic has no fill-in-the-middle endpoint.")
    if req.json_mode:
        raise unsupported('Anthropic has no JSON mode. Start the prefix with "{" instead.')
    check_images(ctx)
    sent = req.prefix.rstrip()
    trimmed = req.prefix[len(sent) :]
    check_prefix_support(ctx, sends_prefix=bool(sent))
    notes = ignored_extras(ctx, reasoning=False, speaker=False)
    if trimmed:
        notes.append(
            "Trailing whitespace was trimmed from the prefix for Anthropic "
            "and is kept in the result."
        )
    forbidden = "Anthropic prefill does not work with extended thinking."
    thinking, more = resolve_thinking(ctx, has_prefix=bool(sent), forbidden=forbidden)
    notes += more
    notes += check_tools(ctx, has_prefix=bool(sent))
    thinking = _thinking_with_tools(ctx, thinking, notes)
    max_tokens = req.max_tokens or ctx.provider.default_max_tokens or DEFAULT_MAX_TOKENS
    body: JSON = {"model": req.model, "max_tokens": max_tokens}
    if req.system:
        body["system"] = req.system
    body["messages"] = _messages(ctx, sent)
    body.update(anthropic_fields(ctx, notes))
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGET}
        if max_tokens <= THINKING_BUDGET:
            body["max_tokens"] = max_tokens + THINKING_BUDGET
            notes.append(
                f"max_tokens was raised to {max_tokens + THINKING_BUDGET}: Anthropic counts "
                f"the thinking budget ({THINKING_BUDGET} tokens) in it."
            )
    if req.stream:
        body["stream"] = True
    url = join_url(ctx.base_url, "/v1/messages", drop=("/v1/messages", "/v1"))
    return make_plan(ctx, url, body, notes, "anthropic", trimmed=trimmed)


def _messages(ctx: Context, sent_prefix: str) -> list[JSON]:
    messages: list[JSON] = []
    for turn in ctx.request.turns:
        content: object = turn.content
        if turn.images:
            blocks: list[JSON] = [_image_block(url) for url in turn.images]
            if turn.content:
                blocks.append({"type": "text", "text": turn.content})
            content = blocks
        _append(messages, turn.role, content)
    for role, content in anthropic_rounds(ctx):
        _append(messages, role, content)
    if sent_prefix:
        _append(messages, "assistant", sent_prefix)
    return messages


def _thinking_with_tools(ctx: Context, thinking: bool | None, notes: list[str]) -> bool | None:
    """Switch thinking off where Anthropic cannot think with these tools (or refuse)."""
    if not uses_tools(ctx):
        return thinking
    if ctx.request.tool_rounds:
        # Anthropic wants each earlier tool_use turn's signed thinking block sent back, which
        # the playground does not keep.
        reason = "Anthropic needs the signed thinking of earlier tool calls, which is not kept."
    elif choice_of(ctx).forces_call:
        reason = "Anthropic cannot think when tool_choice forces a tool call."
    else:
        return thinking
    if ctx.model.thinking == "always":
        raise unsupported(f"{ctx.model.id} always thinks, and {reason}")
    if thinking:
        notes.append(f"Thinking was switched off: {reason}")
    return False if thinking is not None else None


def _append(messages: list[JSON], role: str, content: object) -> None:
    # The API wants alternating roles: fold a turn into the previous one of the same role.
    if messages and messages[-1]["role"] == role:
        previous = messages[-1]["content"]
        if isinstance(previous, str) and isinstance(content, str):
            messages[-1]["content"] = f"{previous}\n\n{content}"
        else:
            messages[-1]["content"] = _blocks(previous) + _blocks(content)
        return
    messages.append({"role": role, "content": content})


def _blocks(content: object) -> list[object]:
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": content}] if content else []


def _image_block(url: str) -> JSON:
    if url.startswith("data:"):
        media_type, data = split_data_url(url)
        source: JSON = {"type": "base64", "media_type": media_type, "data": data}
    else:
        source = {"type": "url", "url": url}
    return {"type": "image", "source": source}


def parse_event(event: SSEEvent, provider: str, api_key: str) -> list[Item]:
    """Return the items in one typed SSE event."""
    data = event.data.strip()
    if not data:
        return []
    payload = load_object(data)
    if payload is None:
        return [Marker.MALFORMED]
    match as_text(payload.get("type")) or event.event:
        case "message_start":
            found = usage(as_dict(payload.get("message")).get("usage"))
            return [found] if found else []
        case "content_block_start":
            block = as_dict(payload.get("content_block"))
            return _block_items(block) + anthropic_block_start(block, payload.get("index"))
        case "content_block_delta":
            delta = as_dict(payload.get("delta"))
            return _block_items(delta) + anthropic_block_delta(delta, payload.get("index"))
        case "message_delta":
            items: list[Item] = []
            found = usage(payload.get("usage"))
            if found:
                items.append(found)
            delta = as_dict(payload.get("delta"))
            raw = as_text(delta.get("stop_reason"))
            if raw:
                items.append(finish(raw, delta.get("stop_sequence")))
            return items
        case "message_stop":
            return [Marker.DONE]
        case "error":
            return [from_payload(provider, payload, api_key)]
    return []


def _block_items(block: dict[str, object]) -> list[Item]:
    # Content blocks and their deltas: text / text_delta, thinking / thinking_delta.
    text = as_text(block.get("text"))
    thinking = as_text(block.get("thinking"))
    if text:
        return [TextDelta(text)]
    return [ReasoningDelta(thinking)] if thinking else []


def parse_body(payload: dict[str, object], provider: str, api_key: str) -> list[Item]:
    """Return the items in a whole (non-streamed) Messages API response."""
    if payload.get("type") == "error" or payload.get("error"):
        return [from_payload(provider, payload, api_key)]
    blocks = payload.get("content")
    items: list[Item] = []
    for position, block in enumerate(blocks if isinstance(blocks, list) else []):
        items.extend(_block_items(as_dict(block)))
        items.extend(anthropic_block_start(as_dict(block), position))
    found = usage(payload.get("usage"))
    if found:
        items.append(found)
    raw = as_text(payload.get("stop_reason"))
    if raw:
        items.append(finish(raw, payload.get("stop_sequence")))
    return items
