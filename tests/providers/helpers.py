"""Shared helpers for the provider tests: a mock upstream and an event collector."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

import httpx

from playground.providers import (
    CompletionRequest,
    Deadlines,
    Event,
    Recorder,
    Target,
    stream_completion,
)

KEY = "sk-test-THISISASECRETKEY-1234567890"
FAST = Deadlines(first_token=2.0, stall=2.0, total=5.0)


def sse(*payloads: str) -> bytes:
    """Return an SSE body with one `data:` event per payload."""
    return "".join(f"data: {payload}\n\n" for payload in payloads).encode()


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in the given chunks, recording whether it was closed."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = list(chunks)
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    """Return an AsyncClient whose every request is answered by `handler`."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def answer(
    body: bytes | Iterable[bytes],
    *,
    status: int = 200,
    content_type: str = "text/event-stream",
    seen: list[httpx.Request] | None = None,
) -> httpx.AsyncClient:
    """Return a client whose upstream answers `body` (bytes, or a list of chunks)."""
    chunks = [body] if isinstance(body, bytes) else list(body)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, headers={"content-type": content_type}, stream=Chunks(chunks))

    return client_for(handler)


async def collect(
    client: httpx.AsyncClient,
    target: Target,
    request: CompletionRequest,
    *,
    deadlines: Deadlines = FAST,
    recorder: Recorder | None = None,
) -> list[Event]:
    """Return every event of one streamed completion (private URLs allowed, as in tests)."""
    events = []
    async with client:
        async for event in stream_completion(
            client, target, request, deadlines=deadlines, recorder=recorder, allow_private=True
        ):
            events.append(event)
    return events
