"""Anthropic's Messages API: prefill rules, typed SSE events, its error shape (docs/providers.md).

A trailing assistant message is a prefill: refused on Claude 4.6 and later, with extended
thinking, or when it ends in whitespace. Consecutive messages with the same role are accepted
and read as one turn, as the Messages API documents.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from playground.simulator import tools as sim_tools
from playground.simulator.errors import Rejected, error_body
from playground.simulator.exchange import Exchange, encode_json
from playground.simulator.faults import Call, model_options, respond
from playground.simulator.generate import Ask, Delta, Generation, generate, plan
from playground.simulator.tools import SimCall, ToolDelta

NO_PREFILL = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)
TRAILING_WHITESPACE = "final assistant content cannot end with trailing whitespace"
THINKING_PREFILL = (
    "Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, "
    "a final `assistant` message must start with a thinking block."
)
SYSTEM_ROLE = (
    'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
    'parameter, not "system" as an input message role.'
)
STOP_REASONS = {
    "end": "end_turn",
    "stop": "stop_sequence",
    "length": "max_tokens",
    "tool_calls": "tool_use",
}
# "claude-opus-4-6", "claude-3-5-sonnet-…", OpenRouter's "claude-sonnet-4.6".
_VERSION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:[-.](\d{1,2}))?(?=[-.]|$)")


def refuses_prefill(model: str) -> bool:
    """Return whether a Claude model rejects prefill (Claude 4.6 and every later model)."""
    found = _VERSION.search(model)
    if not found:
        return False
    return (int(found[1]), int(found[2] or 0)) >= (4, 6)


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\n".encode() + b"data: " + encode_json(payload) + b"\n\n"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict)]
        return "".join(t for t in texts if isinstance(t, str))
    return ""


def _final_text(content: Any) -> str:
    """Return the text the prefill ends with: the string, or the last text block."""
    if isinstance(content, list):
        blocks = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return str(blocks[-1].get("text", "")) if blocks else ""
    return _text(content)


@dataclass
class AnthropicWire:
    """Frames for one Messages API response."""

    model: str
    input_tokens: int
    provider: str = "anthropic"
    content_type: str = "text/event-stream; charset=utf-8"
    ident: str = field(default_factory=lambda: "msg_sim" + uuid.uuid4().hex[:20])
    calls: tuple[SimCall, ...] = ()  # the tool_use blocks this answer makes (tools.py)
    open_block: int | None = None  # the tool_use block being streamed

    def _message(self, content: list[dict[str, Any]], gen: Generation | None) -> dict[str, Any]:
        return {
            "id": self.ident,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": STOP_REASONS[gen.finish] if gen else None,
            "stop_sequence": gen.stop_sequence if gen else None,
            "usage": {
                "input_tokens": self.input_tokens,
                "output_tokens": gen.output_tokens if gen else 1,
            },
        }

    def opening(self) -> list[bytes]:
        """Return message_start, content_block_start and a ping (no text block before tools)."""
        block = {"type": "text", "text": ""}
        if self.calls:
            start = {"type": "message_start", "message": self._message([], None)}
            return [_event("message_start", start), self.keepalive()]
        return [
            _event("message_start", {"type": "message_start", "message": self._message([], None)}),
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
            self.keepalive(),
        ]

    def delta(self, delta: Delta) -> bytes:
        """Return one text_delta, or a tool_use block's start or input_json_delta."""
        if isinstance(delta, ToolDelta):
            return self._tool_delta(delta)
        text = {"type": "text_delta", "text": delta.text}
        return _event(
            "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": text}
        )

    def _tool_delta(self, delta: ToolDelta) -> bytes:
        frames = []
        if delta.first:
            if self.open_block is not None:
                stop = {"type": "content_block_stop", "index": self.open_block}
                frames.append(_event("content_block_stop", stop))
            self.open_block = delta.index
            block = {"type": "tool_use", "id": delta.call_id, "name": delta.name, "input": {}}
            start = {"type": "content_block_start", "index": delta.index, "content_block": block}
            frames.append(_event("content_block_start", start))
        if delta.text:
            piece = {"type": "input_json_delta", "partial_json": delta.text}
            body = {"type": "content_block_delta", "index": delta.index, "delta": piece}
            frames.append(_event("content_block_delta", body))
        return b"".join(frames)

    def closing(self, gen: Generation) -> list[bytes]:
        """Return content_block_stop, message_delta (stop reason, usage) and message_stop."""
        stop = {"stop_reason": STOP_REASONS[gen.finish], "stop_sequence": gen.stop_sequence}
        last = self.open_block if self.open_block is not None else 0
        return [
            _event("content_block_stop", {"type": "content_block_stop", "index": last}),
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": stop,
                    "usage": {"output_tokens": gen.output_tokens},
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]

    def keepalive(self) -> bytes:
        """Return a ping event."""
        return _event("ping", {"type": "ping"})

    def stream_error(self) -> bytes:
        """Return the `event: error` Anthropic sends when overloaded mid-stream."""
        return _event("error", error_body("anthropic", "overloaded", "Overloaded", 529))

    def garbage(self) -> bytes:
        """Return an event whose data is not valid JSON."""
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {\n\n'

    def body(self, gen: Generation) -> dict[str, Any]:
        """Return the non-streaming message."""
        if self.calls:
            blocks = [
                {
                    "type": "tool_use",
                    "id": c.id,
                    "name": c.name,
                    "input": sim_tools.arguments_object(c),
                }
                for c in self.calls
            ]
            return self._message(blocks, gen)
        return self._message([{"type": "text", "text": gen.text}], gen)

    def body_keepalive(self) -> None:
        """Return None: Anthropic sends nothing before a non-streaming body."""
        return None


def _validate(body: dict[str, Any], headers: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    if not headers.get("anthropic-version"):
        raise Rejected("anthropic-version: header is required")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Rejected("model: Field required")
    limit = body.get("max_tokens")
    if limit is None:
        raise Rejected("max_tokens: Field required")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise Rejected("max_tokens: Input should be a valid integer greater than or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejected("messages: at least one message is required")
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            raise Rejected(SYSTEM_ROLE)
        if role not in ("user", "assistant"):
            raise Rejected("messages: each message needs a role of user or assistant")
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise Rejected("stop_sequences: Input should be a valid list of strings")
    return model, messages


def _check_prefill(model: str, body: dict[str, Any], final: dict[str, Any]) -> str:
    if refuses_prefill(model):
        raise Rejected(NO_PREFILL)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        raise Rejected(THINKING_PREFILL)
    prefix = _final_text(final.get("content"))
    if prefix != prefix.rstrip():
        raise Rejected(TRAILING_WHITESPACE)
    return _text(final.get("content"))


async def handle_messages(ex: Exchange, call: Call) -> None:
    """Answer a Messages API request."""
    body = call.body
    model, messages = _validate(body, call.headers)
    offered = sim_tools.read_anthropic_tools(body)
    choice = sim_tools.anthropic_choice(body, offered)
    thinking = body.get("thinking")
    thinks = isinstance(thinking, dict) and thinking.get("type") == "enabled"
    if choice.mode in ("required", "function") and thinks:
        raise Rejected(sim_tools.ANTHROPIC_THINKING_FORCED)
    results = sim_tools.anthropic_results(messages, bool(offered))
    prefill = messages[-1]["role"] == "assistant"
    prefix = _check_prefill(model, body, messages[-1]) if prefill else ""
    options = model_options(model)
    stream = body.get("stream") is True
    ex.record.stream = stream
    users = [_text(m.get("content")) for m in messages if m["role"] == "user"]
    inputs = [_text(body.get("system"))] + [_text(m.get("content")) for m in messages]
    seed = call.text_seed()
    ask = Ask(
        prefix=prefix,
        topic=users[-1] if users else "",
        input_text="\n".join(inputs),
        fresh=not prefill,
        long=options.long,
        stop=tuple(body.get("stop_sequences", [])),
        max_tokens=body["max_tokens"],
        seed=seed,
        tool_results=results,
    )
    parallel = "-parallel" in model
    chosen = sim_tools.choose(
        offered, choice, ask.topic, after_results=bool(results), parallel=parallel
    )
    if chosen and not prefill:
        bad = options.fault == "badargs"
        calls = sim_tools.make_calls("anthropic", chosen, ask.topic, seed, bad=bad)
        gen = sim_tools.generation(calls, ask.input_text)
        wire = AnthropicWire(model, gen.input_tokens, calls=tuple(calls))
        deltas = sim_tools.call_deltas(calls, seed)
        await respond(ex, wire, gen, deltas, options, call.timing, stream)
        return
    gen = generate(ask)
    wire = AnthropicWire(model, gen.input_tokens)
    await respond(ex, wire, gen, plan(gen, seed), options, call.timing, stream)
