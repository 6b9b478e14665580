"""The OpenAI-shaped wire format: `chat.completion(.chunk)` and `text_completion` objects over SSE.

Per-provider differences live here: DeepSeek's `usage: null` on every chunk and cache fields,
Moonshot's usage in `choices[0].usage`, Mistral's usage on the final chunk, SGLang/CoresHub
`matched_stop`, OpenRouter's `: OPENROUTER PROCESSING` comments and its mid-stream error chunk
(docs/providers.md).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from playground.simulator.errors import error_body
from playground.simulator.exchange import encode_json
from playground.simulator.generate import Delta, Generation
from playground.simulator.tools import SimCall, ToolDelta

FINISH = {"end": "stop", "stop": "stop", "length": "length", "tool_calls": "tool_calls"}
# SGLang reports a natural end as the EOS token id (CoresHub's documented sample shows 1).
EOS_TOKEN_ID = 1
MIDSTREAM_MESSAGE = "The upstream model failed while generating. Please retry."


def sse(payload: Any) -> bytes:
    """Return one `data:` event."""
    return b"data: " + encode_json(payload) + b"\n\n"


@dataclass
class OpenAIWire:
    """Frames for one OpenAI-shaped response (chat, or DeepSeek FIM when `fim`)."""

    provider: str
    model: str
    include_usage: bool = False
    fim: bool = False
    echo: str = ""  # prepended to the non-streaming text (Mistral, vLLM `echo`)
    calls: tuple[SimCall, ...] = ()  # the tool calls this answer makes (tools.py)
    content_type: str = "text/event-stream; charset=utf-8"
    ident: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def _envelope(self, choices: list[dict[str, Any]], chunk: bool) -> dict[str, Any]:
        kind = "text_completion" if self.fim else "chat.completion"
        obj: dict[str, Any] = {
            "id": self.ident,
            "object": kind + (".chunk" if chunk and not self.fim else ""),
            "created": self.created,
            "model": self.model,
        }
        if self.provider == "deepseek":
            obj["system_fingerprint"] = "fp_simulator"
        obj["choices"] = choices
        if chunk and self.provider in ("deepseek", "dashscope"):
            obj["usage"] = None
        return obj

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if self.fim:
            text = delta.get("content", "")
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def opening(self) -> list[bytes]:
        """Return the frames before the first token: the role chunk (and OpenRouter's comment)."""
        frames = [b": OPENROUTER PROCESSING\n\n"] if self.provider == "openrouter" else []
        if not self.fim:
            role = self._choice({"role": "assistant", "content": ""})
            frames.append(sse(self._envelope([role], chunk=True)))
        return frames

    def delta(self, delta: Delta) -> bytes:
        """Return one content, reasoning or tool-call chunk."""
        if isinstance(delta, ToolDelta):
            return sse(self._envelope([self._choice({"tool_calls": [_tool_piece(delta)]})], True))
        key = "reasoning_content" if delta.kind == "reasoning" else "content"
        return sse(self._envelope([self._choice({key: delta.text})], chunk=True))

    def closing(self, gen: Generation) -> list[bytes]:
        """Return the finish chunk, the usage chunk where the provider sends one, and [DONE]."""
        choice = self._choice({} if not self.fim else {"content": ""}, FINISH[gen.finish])
        if self.provider in ("sglang", "coreshub"):
            choice["matched_stop"] = _matched_stop(gen)
        if self.provider == "moonshot":
            choice["usage"] = self.usage(gen)
        final = self._envelope([choice], chunk=True)
        if self.provider == "mistral":
            final["usage"] = self.usage(gen)
        frames = [sse(final)]
        if self.include_usage or self.provider == "openrouter":
            usage_chunk = self._envelope([], chunk=True)
            usage_chunk["usage"] = self.usage(gen)
            frames.append(sse(usage_chunk))
        frames.append(b"data: [DONE]\n\n")
        return frames

    def keepalive(self) -> bytes:
        """Return the SSE comment the provider sends while it has nothing else to say."""
        if self.provider == "openrouter":
            return b": OPENROUTER PROCESSING\n\n"
        return b": keep-alive\n\n"

    def stream_error(self) -> bytes:
        """Return the error event sent inside a 200 stream."""
        if self.provider == "openrouter":
            chunk = self._envelope([self._choice({"content": ""}, "error")], chunk=True)
            chunk["error"] = {"code": 502, "message": MIDSTREAM_MESSAGE}
            return sse(chunk)
        return sse(error_body(self.provider, "server", MIDSTREAM_MESSAGE, 500))

    def garbage(self) -> bytes:
        """Return a data line that is not valid JSON."""
        return b'data: {"choices": [\n\n'

    def body(self, gen: Generation) -> dict[str, Any]:
        """Return the non-streaming response object."""
        text = self.echo + gen.text
        if self.fim:
            choice = {"text": text, "index": 0, "logprobs": None}
        else:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if self.calls:
                message["tool_calls"] = [_whole_call(call) for call in self.calls]
            if gen.reasoning:
                message["reasoning_content"] = gen.reasoning
            choice = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = FINISH[gen.finish]
        if self.provider in ("sglang", "coreshub"):
            choice["matched_stop"] = _matched_stop(gen)
        if self.provider == "moonshot":
            choice["usage"] = self.usage(gen)
        obj = self._envelope([choice], chunk=False)
        obj["usage"] = self.usage(gen)
        return obj

    def body_keepalive(self) -> bytes | None:
        """Return DeepSeek's blank line sent before a queued non-streaming body."""
        return b"\n" if self.provider == "deepseek" else None

    def usage(self, gen: Generation) -> dict[str, Any]:
        """Return the usage object: prompt and completion tokens, DeepSeek's extra fields."""
        usage: dict[str, Any] = {
            "prompt_tokens": gen.input_tokens,
            "completion_tokens": gen.output_tokens,
            "total_tokens": gen.input_tokens + gen.output_tokens,
        }
        if self.provider == "deepseek":
            usage["prompt_cache_hit_tokens"] = 0
            usage["prompt_cache_miss_tokens"] = gen.input_tokens
            if gen.reasoning_tokens:
                details = {"reasoning_tokens": gen.reasoning_tokens}
                usage["completion_tokens_details"] = details
        return usage


def _tool_piece(delta: ToolDelta) -> dict[str, Any]:
    """Return a streamed tool_calls entry: id, type and name only on a call's first piece."""
    if delta.first:
        function = {"name": delta.name, "arguments": delta.text}
        return {"index": delta.index, "id": delta.call_id, "type": "function", "function": function}
    return {"index": delta.index, "function": {"arguments": delta.text}}


def _whole_call(call: SimCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def _matched_stop(gen: Generation) -> str | int | None:
    if gen.finish == "stop":
        return gen.stop_sequence
    return EOS_TOKEN_ID if gen.finish == "end" else None
