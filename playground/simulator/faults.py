"""Model-name options and the response runner that paces deltas and injects faults.

A model id carries simulator options after the real name: `-fault-<name>` (see FAULTS;
`echokey` streams the request's own API key back, plain and escaped; `flood` sends `-mb<N>`
megabytes of text, 200 by default, as fast as the client reads: see flood.py; `bigline` sends
as much as one stream event that never ends: no line break, ever), `-tps<N>`
(tokens per second for this request), `-long` (~2000 tokens) and `-bench` (each delta starts
with the sender's `time.monotonic_ns()`). Every dialect describes its wire format with a
`Wire`; `respond()` drives it the same way for all of them, so a fault means the same thing in
every dialect.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from playground.simulator.errors import Rejected, error_response
from playground.simulator.exchange import Exchange, encode_json
from playground.simulator.flood import (
    PLACEHOLDER,
    body_pieces,
    flood_chars,
    flood_deltas,
    flood_generation,
    flood_pieces,
)
from playground.simulator.generate import Delta, Generation, seed_for

# Where a frame's text starts, found again in its encoded bytes (plain ASCII: JSON keeps it).
MARK = "MARK-7f3a"
FAULTS = (
    "slow",
    "429",
    "500",
    "503",
    "midstream",
    "cut",
    "silent",
    "malformed",
    "stall",
    "echokey",
    "flood",
    "bigline",
    "badargs",  # tools.py: a call's arguments that do not match the function's schema
)
_STATUS_FAULTS = {"429": "rate_limit", "500": "server", "503": "overloaded"}
_FAULT = re.compile(r"-fault-([a-z0-9]+)")
_TPS = re.compile(r"-tps(\d+(?:\.\d+)?)")
_MB = re.compile(r"-mb(\d+(?:\.\d+)?)")
SSE_HEADERS = (("cache-control", "no-cache"),)
# Fields that decide how a text is delivered or cut short, not what the text is.
_DELIVERY_FIELDS = frozenset(
    {
        "stream",
        "stream_options",
        "stop",
        "stop_sequences",
        "max_tokens",
        "max_completion_tokens",
        "options",
    }
)
# How many deltas arrive before a mid-stream fault strikes.
_DELTAS_BEFORE_FAULT = 3


@dataclass(frozen=True)
class ModelOptions:
    """Simulator options read from a model id."""

    fault: str | None = None
    tps: float | None = None
    long: bool = False
    bench: bool = False
    flood_mb: float | None = None  # the size of a `flood`, when the model id names one


@dataclass(frozen=True)
class Timing:
    """Pacing for one app: tokens per second, delays, keep-alive interval, fault durations."""

    tokens_per_second: float = 40.0
    first_token_delay: float = 0.15
    slow_delay: float = 5.0
    keepalive_interval: float = 1.0
    silence: float = 120.0


@dataclass(frozen=True)
class Call:
    """A routed, authenticated request with a JSON object body, ready for a dialect."""

    provider: str
    endpoint: str
    body: dict[str, Any]
    headers: dict[str, str]
    timing: Timing
    seed: int

    def text_seed(self) -> int:
        """Return the generation seed: streaming, stop and max_tokens cut the same text."""
        body = {k: v for k, v in self.body.items() if k not in _DELIVERY_FIELDS}
        return seed_for(self.seed, self.provider, json.dumps(body, sort_keys=True, default=str))


class Wire(Protocol):
    """How one dialect frames a response (see openai_style, anthropic, ollama)."""

    provider: str
    content_type: str

    def opening(self) -> list[bytes]: ...
    def delta(self, delta: Delta) -> bytes: ...
    def closing(self, gen: Generation) -> list[bytes]: ...
    def keepalive(self) -> bytes | None: ...
    def stream_error(self) -> bytes: ...
    def garbage(self) -> bytes: ...
    def body(self, gen: Generation) -> dict[str, Any]: ...
    def body_keepalive(self) -> bytes | None: ...


def model_options(model: str) -> ModelOptions:
    """Return the simulator options in `model`; an unknown fault name is refused."""
    fault = _FAULT.search(model)
    if fault and fault[1] not in FAULTS:
        raise Rejected(f"Unknown simulator fault '{fault[1]}'; known: {', '.join(FAULTS)}.")
    tps = _TPS.search(model)
    mb = _MB.search(model)
    return ModelOptions(
        fault=fault[1] if fault else None,
        tps=float(tps[1]) if tps and float(tps[1]) > 0 else None,
        long="-long" in model,
        bench="-bench" in model,
        flood_mb=float(mb[1]) if mb else None,
    )


async def respond(
    ex: Exchange,
    wire: Wire,
    gen: Generation,
    deltas: list[Delta],
    options: ModelOptions,
    timing: Timing,
    stream: bool,
) -> None:
    """Send the response for `gen`, paced and with the model's fault, streaming or whole."""
    if options.fault in _STATUS_FAULTS:
        status, body = error_response(wire.provider, _STATUS_FAULTS[options.fault])
        # A rate limit says when to come back, as providers do (Retry-After, in seconds).
        headers = (("retry-after", "1"),) if options.fault == "429" else ()
        await ex.start(status, "application/json", headers)
        await ex.end(encode_json(body))
    elif stream:
        await _stream(ex, wire, gen, deltas, options, timing)
    else:
        await _whole(ex, wire, gen, options, timing)


async def _stream(
    ex: Exchange,
    wire: Wire,
    gen: Generation,
    deltas: list[Delta],
    options: ModelOptions,
    timing: Timing,
) -> None:
    fault = options.fault
    tps = options.tps or timing.tokens_per_second
    await ex.start(200, wire.content_type, SSE_HEADERS)
    if fault in ("slow", "silent"):
        wait = timing.slow_delay if fault == "slow" else timing.silence
        await _keep_alive(ex, wire.keepalive(), wait, timing.keepalive_interval)
        if fault == "silent":
            return  # drop the connection without a terminator, as a server giving up would
    for frame in wire.opening():
        await ex.write(frame)
    await asyncio.sleep(timing.first_token_delay)
    if fault == "flood":
        await _flood_stream(ex, wire, gen, flood_chars(options.flood_mb))
        return
    if fault == "bigline":
        await _endless_line(ex, wire, flood_chars(options.flood_mb))
        return
    if fault == "echokey":
        deltas = echo_deltas(request_key(ex.headers))
    breaking = fault in ("midstream", "cut", "stall")
    sent = deltas[: min(_DELTAS_BEFORE_FAULT, len(deltas))] if breaking else deltas
    junk_at = min(2, len(sent)) if fault == "malformed" else -1
    for index, delta in enumerate(sent):
        if index == junk_at:
            await ex.write(wire.garbage())
        if index:
            await asyncio.sleep(delta.tokens / tps)
        frame = wire.delta(_stamped(delta) if options.bench else delta)
        if fault == "echokey" and index == _WIRE_ESCAPED_DELTA:
            # The same key, \u-escaped by the JSON encoder rather than by the model.
            key = request_key(ex.headers)
            frame = frame.replace(key.encode(), json_escaped(key).encode())
        await ex.write(frame)
    if junk_at == len(sent):
        await ex.write(wire.garbage())
    if fault == "midstream":
        await ex.end(wire.stream_error())
    elif fault == "stall":
        await _keep_alive(ex, wire.keepalive(), timing.silence, timing.keepalive_interval)
    elif fault != "cut":
        for frame in wire.closing(gen):
            await ex.write(frame)
        await ex.end()
    # "cut" and "stall" return without ending the body: the server drops the connection.


async def _whole(
    ex: Exchange, wire: Wire, gen: Generation, options: ModelOptions, timing: Timing
) -> None:
    fault = options.fault
    tps = options.tps or timing.tokens_per_second
    keepalive = wire.body_keepalive()
    if fault in ("silent", "stall"):
        await ex.start(200, "application/json")
        await _keep_alive(ex, keepalive, timing.silence, timing.keepalive_interval)
        return
    if fault == "slow":
        if keepalive:  # DeepSeek holds the request open with blank lines while queued
            await ex.start(200, "application/json")
        await _keep_alive(ex, keepalive, timing.slow_delay, timing.keepalive_interval)
    if fault == "midstream":
        await asyncio.sleep(timing.first_token_delay)
        await ex.send_json(*error_response(wire.provider, "server"))
        return
    if fault == "flood":
        await asyncio.sleep(timing.first_token_delay)
        await _flood_whole(ex, wire, gen, flood_chars(options.flood_mb))
        return
    await asyncio.sleep(timing.first_token_delay + gen.output_tokens / tps)
    body = encode_json(wire.body(gen))
    if not ex.started:
        await ex.start(200, "application/json")
    if fault == "cut":
        await ex.write(body[: len(body) // 2])
    elif fault == "malformed":
        await ex.end(body[: len(body) // 2])
    else:
        await ex.end(body)


async def _flood_stream(ex: Exchange, wire: Wire, gen: Generation, chars: int) -> None:
    """Stream `chars` characters of flood text, unpaced, then end the stream as `length`."""
    for delta in flood_deltas(chars):
        await ex.write(wire.delta(delta))
        # Let the loop run between writes even while the socket takes everything at once:
        # the disconnect watcher must see a client that has gone.
        await asyncio.sleep(0)
    for frame in wire.closing(flood_generation(gen, chars)):
        await ex.write(frame)
    await ex.end()


async def _endless_line(ex: Exchange, wire: Wire, chars: int) -> None:
    """Open one delta frame and never close it: its text grows by `chars` characters with no
    line break, so a client that buffers a line until it ends buffers all of it."""
    frame = wire.delta(Delta("content", MARK, 1))
    await ex.write(frame[: frame.index(MARK.encode())])
    for piece in flood_pieces(chars):
        await ex.write(piece.encode())
        await asyncio.sleep(0)
    await ex.end()


async def _flood_whole(ex: Exchange, wire: Wire, gen: Generation, chars: int) -> None:
    """Send a whole (non-streaming) body whose text is `chars` characters of flood."""
    ended = flood_generation(gen, chars)
    await ex.start(200, "application/json")
    for piece in body_pieces(wire.body(replace(ended, text=PLACEHOLDER)), chars):
        await ex.write(piece)
        await asyncio.sleep(0)
    await ex.end()


async def _keep_alive(ex: Exchange, frame: bytes | None, duration: float, every: float) -> None:
    """Wait `duration` seconds, sending `frame` (if the dialect has one) every `every` seconds.

    The number of frames is fixed by `duration / every`, not by the clock: on a busy machine,
    where each sleep may overrun, the wait grows longer but the client sees the same frames.
    """
    frames = math.ceil(duration / every - 1e-9) if duration > 0 else 0
    for number in range(frames):
        if frame is not None:
            await ex.write(frame)
        await asyncio.sleep(min(every, duration - number * every))


_WIRE_ESCAPED_DELTA = 3


def request_key(headers: dict[str, str]) -> str:
    """Return the API key the request was sent with (Authorization: Bearer, or x-api-key)."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key", "").strip()


def json_escaped(text: str) -> str:
    """Return `text` with every character written as a JSON \\uXXXX escape."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def echo_deltas(key: str) -> list[Delta]:
    """Return the deltas of the `echokey` fault: a model that repeats the request's key.

    Plain; \\u-escaped on the wire (delta 3, decoded back to the plain key by the client); and
    written by the model itself with every other character as a literal \\u escape.
    """
    mixed = "".join(json_escaped(c) if i % 2 == 0 else c for i, c in enumerate(key))
    return [
        Delta("content", "Your key is ", 3),
        Delta("content", key, 1),
        Delta("content", ", once more: ", 3),
        Delta("content", key, 1),
        Delta("content", f", or escaped: {mixed}.", 3),
    ]


def _stamped(delta: Delta) -> Delta:
    return replace(delta, text=f"⟨t={time.monotonic_ns()}⟩ {delta.text}")
