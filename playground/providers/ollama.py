"""Ollama's native chat API: a trailing assistant message is continued; NDJSON stream.

`POST {base}/api/chat` with `messages`, `stream` (Ollama streams unless told otherwise, so it is
always sent), `options` (temperature, top_p, num_predict, stop), `think` and `format: "json"`.
Each streamed line is `{"message": {"content", "thinking"}, "done": false}`; the last has
`done: true`, `done_reason` and the token counts. Images go on the message as base64 strings.
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
from playground.providers.tool_request import check_tools, ollama_fields, ollama_messages
from playground.providers.tool_stream import ollama_tool_items


def build(ctx: Context) -> Plan:
    """Return the plan for an Ollama /api/chat request."""
    req = ctx.request
    if req.suffix is not None:
        raise unsupported("Fill-in-the-middle is not available for Ollama here.")
    check_images(ctx)
    check_prefix_support(ctx, sends_prefix=bool(req.prefix))
    notes = ignored_extras(ctx, reasoning=False, speaker=False)
    thinking, more = resolve_thinking(ctx, has_prefix=bool(req.prefix))
    notes += more
    notes += check_tools(ctx, has_prefix=bool(req.prefix))
    messages: list[JSON] = []
    if req.system:
        messages.append({"role": "system", "content": req.system})
    for turn in req.turns:
        message: JSON = {"role": turn.role, "content": turn.content}
        if turn.images:
            message["images"] = [_base64(url) for url in turn.images]
        messages.append(message)
    messages += ollama_messages(ctx)
    if req.prefix:
        messages.append({"role": "assistant", "content": req.prefix})
    body: JSON = {"model": req.model, "messages": messages, "stream": req.stream}
    body.update(ollama_fields(ctx, notes))
    options: JSON = {}
    if req.temperature is not None:
        options["temperature"] = req.temperature
    if req.top_p is not None:
        options["top_p"] = req.top_p
    if req.max_tokens is not None:
        options["num_predict"] = req.max_tokens
    if req.stop:
        options["stop"] = list(req.stop)
    if options:
        body["options"] = options
    if thinking is not None:
        body["think"] = thinking
    if req.json_mode:
        if not ctx.model.json_mode:
            raise unsupported(
                f'{req.model} on Ollama has no JSON mode. Start the prefix with "{{".'
            )
        body["format"] = "json"
    url = join_url(ctx.base_url, "/api/chat", drop=("/api/chat", "/api", "/v1"))
    return make_plan(ctx, url, body, notes, "ollama")


def _base64(url: str) -> str:
    if not url.startswith("data:"):
        raise unsupported("Ollama takes images as data: URLs (base64); it cannot fetch https URLs.")
    return split_data_url(url)[1]


def parse_event(event: SSEEvent, provider: str, api_key: str) -> list[Item]:
    """Return the items in one NDJSON line."""
    payload = load_object(event.data)
    if payload is None:
        return [Marker.MALFORMED]
    return parse_body(payload, provider, api_key)


def parse_body(payload: dict[str, object], provider: str, api_key: str) -> list[Item]:
    """Return the items in one streamed record or a whole non-streamed response."""
    if payload.get("error"):
        return [from_payload(provider, payload, api_key)]
    message = as_dict(payload.get("message"))
    items: list[Item] = []
    thinking = as_text(message.get("thinking"))
    if thinking:
        items.append(ReasoningDelta(thinking))
    text = as_text(message.get("content"))
    if text:
        items.append(TextDelta(text))
    if "tool_calls" in message:
        items.extend(ollama_tool_items(message))
    if payload.get("done") is True:
        found = usage(payload)
        if found:
            items.append(found)
        items.append(finish(as_text(payload.get("done_reason")) or "stop"))
        items.append(Marker.DONE)
    return items
