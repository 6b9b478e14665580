"""Ollama's native `/api/chat`: NDJSON lines, streaming by default (docs/providers.md, Ollama).

A trailing assistant message is continued. `options.num_predict` caps the output (negative
means no cap) and `options.stop` holds the stop sequences. Errors are `{"error": "…"}`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playground.simulator import tools as sim_tools
from playground.simulator.errors import Rejected
from playground.simulator.exchange import Exchange, encode_json
from playground.simulator.faults import Call, model_options, respond
from playground.simulator.generate import Ask, Delta, Generation, generate, plan
from playground.simulator.tools import SimCall, ToolDelta

MIDSTREAM_MESSAGE = "an error was encountered while running the model: unexpected EOF"


def _line(payload: dict[str, Any]) -> bytes:
    return encode_json(payload) + b"\n"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class OllamaWire:
    """Lines for one `/api/chat` response."""

    model: str
    provider: str = "ollama"
    content_type: str = "application/x-ndjson"
    started_ns: int = field(default_factory=time.monotonic_ns)
    first_token_ns: int | None = None
    calls: tuple[SimCall, ...] = ()  # the tool calls this answer makes (tools.py)

    def _head(self) -> dict[str, Any]:
        return {"model": self.model, "created_at": _now_iso()}

    def opening(self) -> list[bytes]:
        """Return nothing: Ollama's first line already carries text."""
        return []

    def delta(self, delta: Delta) -> bytes:
        """Return one `done: false` line."""
        if self.first_token_ns is None:
            self.first_token_ns = time.monotonic_ns()
        message: dict[str, Any] = {"role": "assistant", "content": delta.text}
        if isinstance(delta, ToolDelta):
            # Ollama sends each call whole, its arguments as an object.
            function = {"name": delta.name, "arguments": json.loads(delta.text)}
            message = {"role": "assistant", "content": "", "tool_calls": [{"function": function}]}
        return _line({**self._head(), "message": message, "done": False})

    def _final(self, gen: Generation, content: str) -> dict[str, Any]:
        now = time.monotonic_ns()
        first = self.first_token_ns or now
        return {
            **self._head(),
            "message": {"role": "assistant", "content": content},
            "done_reason": "length" if gen.finish == "length" else "stop",
            "done": True,
            "total_duration": now - self.started_ns,
            "load_duration": 0,
            "prompt_eval_count": gen.input_tokens,
            "prompt_eval_duration": first - self.started_ns,
            "eval_count": gen.output_tokens,
            "eval_duration": now - first,
        }

    def closing(self, gen: Generation) -> list[bytes]:
        """Return the `done: true` line with the counts and durations."""
        return [_line(self._final(gen, ""))]

    def keepalive(self) -> None:
        """Return None: NDJSON has no comment lines, so Ollama just stays quiet."""
        return None

    def stream_error(self) -> bytes:
        """Return the error line Ollama sends when the runner fails mid-stream."""
        return _line({"error": MIDSTREAM_MESSAGE})

    def garbage(self) -> bytes:
        """Return a line that is not valid JSON."""
        return b'{"model": "' + self.model.encode() + b'", "message": {\n'

    def body(self, gen: Generation) -> dict[str, Any]:
        """Return the non-streaming response."""
        final = self._final(gen, gen.text)
        if self.calls:
            final["message"]["tool_calls"] = [
                {"function": {"name": c.name, "arguments": sim_tools.arguments_object(c)}}
                for c in self.calls
            ]
        return final

    def body_keepalive(self) -> None:
        """Return None: nothing is sent before a non-streaming body."""
        return None


def _text(content: Any) -> str:
    return content if isinstance(content, str) else ""


def _read_options(body: dict[str, Any]) -> tuple[int | None, tuple[str, ...]]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise Rejected("options must be an object")
    limit = options.get("num_predict")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise Rejected("num_predict must be an integer")
    stop = options.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise Rejected("stop must be a list of strings")
    return (limit if limit is not None and limit >= 0 else None), tuple(stop)


async def handle_chat(ex: Exchange, call: Call) -> None:
    """Answer `/api/chat`."""
    body = call.body
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Rejected("model is required")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and m.get("role") in ("system", "user", "assistant", "tool")
            for m in messages
        )
    ):
        raise Rejected("messages must be a non-empty list of messages with a role")
    limit, stop = _read_options(body)
    options = model_options(model)
    offered = sim_tools.read_function_tools(body)
    if offered and model.split(":")[0].startswith("gemma3"):
        raise Rejected(f"registry.ollama.ai/library/{model} does not support tools")
    results = sim_tools.ollama_results(messages)
    stream = body.get("stream", True) is not False
    ex.record.stream = stream
    prefill = messages[-1]["role"] == "assistant"
    users = [_text(m.get("content")) for m in messages if m["role"] == "user"]
    seed = call.text_seed()
    ask = Ask(
        prefix=_text(messages[-1].get("content")) if prefill else "",
        topic=users[-1] if users else "",
        input_text="\n".join(_text(m.get("content")) for m in messages),
        fresh=not prefill,
        json_mode=body.get("format") == "json" or isinstance(body.get("format"), dict),
        long=options.long,
        stop=stop,
        max_tokens=limit,
        seed=seed,
        tool_results=results,
    )
    chosen = sim_tools.choose(
        offered,
        sim_tools.Choice("auto"),  # Ollama has no tool_choice
        ask.topic,
        after_results=bool(results),
        parallel="-parallel" in model,
    )
    if chosen and not prefill:
        bad = options.fault == "badargs"
        calls = sim_tools.make_calls("ollama", chosen, ask.topic, seed, bad=bad)
        gen = sim_tools.generation(calls, ask.input_text)
        wire = OllamaWire(model, calls=tuple(calls))
        deltas = sim_tools.call_deltas(calls, seed, whole=True)
        await respond(ex, wire, gen, deltas, options, call.timing, stream)
        return
    gen = generate(ask)
    wire = OllamaWire(model)
    await respond(ex, wire, gen, plan(gen, seed), options, call.timing, stream)
