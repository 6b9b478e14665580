"""Send a completion and turn the answer into events (the I/O lives here and in exchange.py).

`stream_completion` yields TextDelta / ReasoningDelta / ToolCallDelta / Usage, then exactly one
terminal event, Finish or ProviderError; it never raises ProviderError. Deadlines (first token,
stall between parsed data events, total) are applied around each read (exchange.py's
`_Watchdog`), never around a `yield` (PEP 789). Keep-alive comments are not data, so they do not
reset the stall clock. Cancelling the consumer propagates CancelledError and closes the upstream
response at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import httpx

from playground.providers.base import (
    DEFAULT_DEADLINES,
    CompletionRequest,
    Deadlines,
    Event,
    Finish,
    ReasoningDelta,
    Target,
    TextDelta,
    Usage,
)
from playground.providers.errors import ProviderError
from playground.providers.exchange import Exchange
from playground.providers.recorder import Recorder
from playground.providers.registry import plan
from playground.providers.tools import ToolCall, ToolCallAssembler, ToolCallDelta


@dataclass(frozen=True)
class Completion:
    text: str
    reasoning: str
    usage: Usage | None
    finish: Finish | None
    error: ProviderError | None
    notes: tuple[str, ...]
    tool_calls: tuple[ToolCall, ...] = ()


async def stream_completion(
    client: httpx.AsyncClient,
    target: Target,
    request: CompletionRequest,
    *,
    deadlines: Deadlines = DEFAULT_DEADLINES,
    recorder: Recorder | None = None,
    allow_private: bool = False,
) -> AsyncGenerator[Event, None]:
    """Yield the events of one completion: deltas and usage, then one Finish or ProviderError.

    Consume it under `contextlib.aclosing` so that leaving early closes the upstream response.
    """
    try:
        the_plan = plan(target, request)
    except ProviderError as error:
        yield error
        return
    if recorder is not None:
        recorder.start(the_plan.call, target.api_key)
    exchange = Exchange(the_plan, deadlines, recorder)
    opened = await exchange.open(client, allow_private)
    if isinstance(opened, ProviderError):
        yield opened
        return
    try:
        async with aclosing(exchange.batches(opened)) as batches:
            while not exchange.done:
                batch = await exchange.next_batch(batches)
                if batch is None:
                    break
                for event in exchange.absorb(batch):
                    yield event
        for event in exchange.ending():
            yield event
    finally:
        exchange.watchdog.close()
        # Shielded: a second cancellation arriving while the response closes would otherwise
        # cut the close short and leave the connection checked out of the pool for good.
        await asyncio.shield(opened.aclose())


async def complete(
    client: httpx.AsyncClient,
    target: Target,
    request: CompletionRequest,
    *,
    deadlines: Deadlines = DEFAULT_DEADLINES,
    recorder: Recorder | None = None,
    allow_private: bool = False,
) -> Completion:
    """Return the whole completion, gathered from `stream_completion`."""
    try:
        notes = plan(target, request).call.notes
    except ProviderError:
        notes = ()
    text: list[str] = []
    reasoning: list[str] = []
    calls = ToolCallAssembler()
    usage: Usage | None = None
    end: Finish | ProviderError | None = None
    events = stream_completion(
        client, target, request, deadlines=deadlines, recorder=recorder, allow_private=allow_private
    )
    async with aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
            elif isinstance(event, ToolCallDelta):
                calls.feed(event)
            elif isinstance(event, Usage):
                usage = event
            else:
                end = event
    finish = end if isinstance(end, Finish) else None
    error = end if isinstance(end, ProviderError) else None
    return Completion("".join(text), "".join(reasoning), usage, finish, error, notes, calls.calls())
