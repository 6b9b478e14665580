"""One request in flight: deadlines, reading and parsing the body, normalising the text.

`stream_completion` (client.py) drives an `Exchange`: `open()` sends the request, `batches()`
yields parsed items per event, `next_batch()` applies the deadlines and maps transport errors,
`absorb()` turns items into events, `ending()` produces the single terminal event.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from typing import TypeVar

import httpx

from playground.providers.base import (
    Deadlines,
    Event,
    Finish,
    ReasoningDelta,
    TextDelta,
    Usage,
)
from playground.providers.errors import ErrorKind, ProviderError, from_body
from playground.providers.inprocess import routes_in_process
from playground.providers.normalise import Normaliser
from playground.providers.parsing import Item, Marker, load_object
from playground.providers.recorder import Recorder
from playground.providers.registry import FORMATS
from playground.providers.request import Plan
from playground.providers.sse import FrameTooLarge
from playground.providers.tools import ToolCallAssembler, ToolCallDelta, with_index
from playground.providers.urlpolicy import (
    BlockedAddress,
    HostNotFound,
    UnsafeBaseURL,
    resolve_and_check,
)

T = TypeVar("T")

ERROR_BODY_LIMIT = 64 * 1024


def _connect_cause(error: BaseException) -> BaseException | None:
    """Return the most telling cause behind a connection error (the chain of causes)."""
    seen: set[int] = set()
    current: BaseException | None = error
    found: BaseException | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current, BlockedAddress | HostNotFound | socket.gaierror | ConnectionRefusedError
        ):
            return current
        if isinstance(current, ssl.SSLError):
            found = current  # the innermost one says most
        nested = getattr(current, "os_error", None)  # aiohttp's connector errors carry it
        if isinstance(nested, BaseException) and id(nested) not in seen:
            current = nested
            continue
        current = current.__cause__ or current.__context__
    return found


def _tls_reason(error: ssl.SSLError) -> str:
    """Return a short reason for a TLS failure, with no secret in it (there is none to leak)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return error.verify_message or "the certificate could not be verified"
    reason = getattr(error, "reason", None)
    return reason.replace("_", " ").lower() if isinstance(reason, str) else "the handshake failed"


BODY_LIMIT = 8 * 1024 * 1024


class _Clock:
    """The three deadlines, as one 'next deadline' and the name of the one that applies."""

    def __init__(self, deadlines: Deadlines, *, streaming: bool) -> None:
        self.deadlines = deadlines
        self.streaming = streaming
        self.start = self.last = asyncio.get_running_loop().time()
        self.first_token = False
        self.active = "total"

    def next_deadline(self) -> float:
        """Return the loop time by which the next piece of data must arrive."""
        # Called per streamed event: plain comparisons, no list of candidates to sort.
        when, self.active = self.start + self.deadlines.total, "total"
        if self.streaming:
            if not self.first_token:
                other, name = self.start + self.deadlines.first_token, "first_token"
            else:
                other, name = self.last + self.deadlines.stall, "stall"
            if other < when:  # a tie goes to "total", as before
                when, self.active = other, name
        return when

    def tick(self, *, token: bool) -> None:
        """Note that a data event arrived (and whether it carried text or reasoning)."""
        self.last = asyncio.get_running_loop().time()
        self.first_token = self.first_token or token


class _Watchdog:
    """One timer per exchange that cancels the read in progress once the clock's deadline passes.

    `asyncio.timeout_at` around every read rescheduled a timer per streamed event, a tenth of
    the relay's CPU (bench/relay.py). Here the timer is set once and, when it fires, looks
    again: data that arrived meanwhile moved the deadline, so it is set again for then.
    Cancelling the read follows `asyncio.Timeout` (a cancel of our own becomes TimeoutError).
    """

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.handle: asyncio.TimerHandle | None = None
        self.armed_for = math.inf
        self.reader: asyncio.Task[object] | None = None
        self.fired = False

    def _arm(self, when: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.handle = self.loop.call_at(when, self._check)
        self.armed_for = when

    def _check(self) -> None:
        self.handle, self.armed_for = None, math.inf
        when = self.clock.next_deadline()
        if when > self.loop.time():
            self._arm(when)
        elif self.reader is not None and not self.fired:
            self.fired = True
            self.reader.cancel()

    async def next(self, items: AsyncIterator[T]) -> T:
        """Return the next item of `items`; raise TimeoutError if the deadline passes first."""
        when = self.clock.next_deadline()
        if when <= self.loop.time():
            raise TimeoutError
        if when < self.armed_for:
            self._arm(when)
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        self.reader, self.fired = task, False
        try:
            return await anext(items)
        except asyncio.CancelledError as error:
            if self.fired and task.uncancel() <= cancelling:
                raise TimeoutError from error
            raise
        finally:
            self.reader = None

    def close(self) -> None:
        """Drop the timer (it would keep the exchange alive until the deadline)."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


class Exchange:
    """The state of one request: clock, normaliser, what has arrived so far."""

    def __init__(self, the_plan: Plan, deadlines: Deadlines, recorder: Recorder | None) -> None:
        self.plan = the_plan
        self.name = the_plan.provider_name
        self.key = the_plan.api_key
        self.format = FORMATS[the_plan.format]
        self.streaming = bool(the_plan.call.body.get("stream"))
        self.clock = _Clock(deadlines, streaming=self.streaming)
        self.watchdog = _Watchdog(self.clock)
        self.recorder = recorder
        self.normaliser = Normaliser(echo=the_plan.echo, trimmed=the_plan.trimmed)
        self.chars = 0
        self.units = 0
        self.head = b""
        self.malformed = 0
        self.usage: Usage | None = None
        self.finish: Finish | None = None
        self.error: ProviderError | None = None
        self.done = False
        self.tool_calls = ToolCallAssembler()

    async def open(
        self, client: httpx.AsyncClient, allow_private: bool
    ) -> httpx.Response | ProviderError:
        """Return the response once its headers arrived, or the error that prevented it."""
        call = self.plan.call
        try:
            async with asyncio.timeout_at(self.clock.next_deadline()):
                # A URL the client answers in-process never reaches a socket or DNS.
                if not routes_in_process(client, call.url):
                    await resolve_and_check(call.url, allow_private=allow_private)
                request = client.build_request(
                    call.method, call.url, headers=call.headers, json=call.body
                )
                response = await client.send(request, stream=True, follow_redirects=False)
        except UnsafeBaseURL as error:
            return ProviderError(ErrorKind.UNSAFE_URL, str(error), retryable=False)
        except HostNotFound as error:
            return ProviderError(ErrorKind.CONNECTION, str(error), retryable=True)
        except (TimeoutError, httpx.TimeoutException) as error:
            if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
                return self.transport_error(error, started=False)
            return self.timeout_error()
        except httpx.HTTPError as error:
            return self.transport_error(error, started=False)
        if self.recorder is not None:
            self.recorder.respond(response)
        return response

    async def batches(self, response: httpx.Response) -> AsyncGenerator[list[Item], None]:
        """Yield the parsed items of the response, one list per event (or whole body)."""
        if not 200 <= response.status_code < 300:
            body = await self.read(response, ERROR_BODY_LIMIT)
            yield [from_body(self.name, response.status_code, body, self.key)]
            return
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/html"):
            yield [self.not_an_api()]
            return
        if not self.streaming or content_type.startswith("application/json"):
            yield self.parse_whole(await self.read(response, BODY_LIMIT))
            return
        decoder = self.format.decoder()
        # Without a content encoding there is nothing to decode: the chunks are read from the
        # transport's stream itself, skipping httpx's generators, chunker and byte counting
        # (3.6 µs of CPU per chunk with bench/transport.py's streams, in a one-off A/B of this
        # change alone). The response is closed by the caller.
        encoded = response.headers.get("content-encoding", "identity") != "identity"
        raw = response.stream
        chunks = (
            response.aiter_bytes()
            if encoded or not isinstance(raw, httpx.AsyncByteStream)
            else aiter(raw)
        )
        async for chunk in chunks:
            self.record(chunk)
            for event in decoder.feed(chunk):
                self.units += 1
                yield self.format.parse_event(event, self.name, self.key)
        for event in decoder.close():
            self.units += 1
            yield self.format.parse_event(event, self.name, self.key)
        if not self.units and self.head.strip():
            # Not framed as a stream at all: perhaps a plain JSON error or answer.
            yield self.parse_whole(self.head.decode("utf-8", "replace"))

    def parse_whole(self, text: str) -> list[Item]:
        """Return the items of a whole JSON body (leading keep-alive blank lines are fine)."""
        payload = load_object(text.strip())
        if payload is None:
            return [Marker.MALFORMED, Marker.DONE]
        return [*self.format.parse_body(payload, self.name, self.key), Marker.DONE]

    async def read(self, response: httpx.Response, limit: int) -> str:
        """Return the body, up to `limit` bytes."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            self.record(chunk)
            chunks.append(chunk[: limit - size])
            size += len(chunks[-1])
            if size >= limit:
                break
        return b"".join(chunks).decode("utf-8", "replace")

    def record(self, chunk: bytes) -> None:
        """Keep `chunk` for Inspect and for the unframed-body fallback."""
        if self.recorder is not None:
            self.recorder.record(chunk)
        # The head is read only when nothing was parsed; growing it (a copy per chunk) after
        # the first event cost more than parsing the stream (bench/relay.py).
        if not self.units and len(self.head) < ERROR_BODY_LIMIT:
            self.head += chunk[: ERROR_BODY_LIMIT - len(self.head)]

    async def next_batch(self, batches: AsyncGenerator[list[Item], None]) -> list[Item] | None:
        """Return the next list of items, an error item when a deadline or the transport
        failed, or None at the end of the body."""
        try:
            return await self.watchdog.next(batches)
        except StopAsyncIteration:
            return None
        except FrameTooLarge as error:
            return [self.oversize_error(error.limit)]
        except (TimeoutError, httpx.TimeoutException):
            return [self.timeout_error()]
        except httpx.HTTPError as error:
            return [self.transport_error(error, started=True)]

    def absorb(self, batch: list[Item]) -> list[Event]:
        """Return the events to pass on from `batch`, updating the exchange's state."""
        events: list[Event] = []
        tokens = active = False
        for item in batch:
            # Only items that carry something count as activity: an Anthropic ping, a role-only
            # chunk or a block boundary is as much a keep-alive as an SSE comment.
            active = active or not isinstance(item, Marker)
            if item is Marker.DONE:
                self.done = True
            elif item is Marker.MALFORMED:
                self.malformed += 1
            elif isinstance(item, TextDelta):
                tokens = True
                events.extend(self.text(item.text))
            elif isinstance(item, ReasoningDelta):
                tokens = True
                events.append(item)
            elif isinstance(item, ToolCallDelta):
                tokens = True
                events.append(self.tool_piece(item))
            elif isinstance(item, Usage):
                self.usage = item if self.usage is None else self.usage.merged(item)
            elif isinstance(item, Finish):
                self.finish = item
            elif isinstance(item, ProviderError):
                self.error, self.done = item, True
        if active:
            self.clock.tick(token=tokens)
        return events

    def tool_piece(self, delta: ToolCallDelta) -> ToolCallDelta:
        """Return `delta` numbered (a provider that numbers nothing gets the next index)."""
        if delta.index < 0:
            delta = with_index(delta, self.tool_calls.next_index())
        self.tool_calls.feed(delta)
        return delta

    def text(self, raw: str) -> list[Event]:
        """Return the continuation `raw` contributes, after echo and overlap correction."""
        text = self.normaliser.feed(raw)
        self.chars += len(text)
        return [TextDelta(text)] if text else []

    def ending(self) -> list[Event]:
        """Return the held-back text, the usage, then the single terminal event."""
        events = self.text(self.normaliser.flush())
        if self.usage is not None:
            events.append(self.usage)
        events.append(self.terminal())
        return events

    def terminal(self) -> Event:
        """Return the Finish or ProviderError that ends this completion."""
        if self.error is not None:
            return self.error
        if self.malformed and self.finish is None:
            return ProviderError(
                ErrorKind.PROTOCOL,
                f"{self.name} sent {self.malformed} unreadable chunk(s), "
                "so the text may have gaps.",
            )
        if self.finish is not None or self.done:
            # The provider said it had finished: what went wrong on the way is a note.
            finish = self.finish if self.finish is not None else Finish("other")
            return replace(finish, notes=finish.notes + self.caveats())
        return ProviderError(
            ErrorKind.CONNECTION,
            f"The stream from {self.name} ended after {self.chars} characters "
            "without saying it was finished.",
        )

    def caveats(self) -> tuple[str, ...]:
        """Return the notes on a finished stream: chunks skipped, a missing end marker."""
        notes = []
        if self.malformed:
            plural = "s" if self.malformed > 1 else ""
            notes.append(f"{self.malformed} unreadable chunk{plural} skipped")
        if not self.done:
            notes.append("stream ended without its end marker")
        return tuple(notes)

    def oversize_error(self, limit: int) -> ProviderError:
        """Return the error for a line or event too long to buffer (providers/sse.py)."""
        return ProviderError(
            ErrorKind.PROTOCOL,
            f"{self.name} sent one stream event longer than {limit:,} characters, "
            "so the stream was stopped.",
            retryable=False,
        )

    def timeout_error(self) -> ProviderError:
        """Return the error for the deadline that just passed."""
        limits = self.clock.deadlines
        if self.clock.active == "first_token":
            return ProviderError(
                ErrorKind.FIRST_TOKEN_TIMEOUT,
                f"{self.name} sent no text within {limits.first_token:g} s.",
            )
        if self.clock.active == "stall":
            return ProviderError(
                ErrorKind.STALLED,
                f"{self.name} stopped sending for {limits.stall:g} s "
                f"after {self.chars} characters.",
            )
        kind = ErrorKind.STALLED if self.clock.first_token else ErrorKind.FIRST_TOKEN_TIMEOUT
        return ProviderError(
            kind,
            f"The request to {self.name} took longer than {limits.total:g} s "
            f"and was stopped after {self.chars} characters.",
        )

    def transport_error(self, error: httpx.HTTPError, *, started: bool) -> ProviderError:
        """Return the error for a failed connection (before the response) or a broken one.

        Before the response, the cause says which: the policy refused the resolved address,
        the name does not resolve, nobody listens, or TLS failed. Each gets its own message.
        """
        if not started:
            cause = _connect_cause(error)
            if isinstance(cause, BlockedAddress):
                return ProviderError(ErrorKind.UNSAFE_URL, str(cause), retryable=False)
            if isinstance(cause, HostNotFound | socket.gaierror):
                return ProviderError(
                    ErrorKind.CONNECTION,
                    f"The host name of {self.name}'s base URL could not be found (DNS lookup "
                    "failed). Check the base URL, or the server's network.",
                )
            if isinstance(cause, ConnectionRefusedError):
                return ProviderError(
                    ErrorKind.CONNECTION,
                    f"{self.name} refused the connection: nothing is listening at that address "
                    "and port.",
                )
            if isinstance(cause, ssl.SSLError):
                return ProviderError(
                    ErrorKind.CONNECTION,
                    f"The secure (TLS) connection to {self.name} failed: {_tls_reason(cause)}.",
                    retryable=False,
                )
        if isinstance(error, httpx.TimeoutException):
            return ProviderError(ErrorKind.CONNECTION, f"Connecting to {self.name} timed out.")
        if isinstance(error, httpx.TransportError) and started:
            return ProviderError(
                ErrorKind.CONNECTION,
                f"The connection to {self.name} was cut after {self.chars} characters.",
            )
        if isinstance(error, httpx.TransportError):
            return ProviderError(ErrorKind.CONNECTION, f"Could not reach {self.name}.")
        return ProviderError(
            ErrorKind.PROTOCOL, f"The response from {self.name} could not be read."
        )

    def not_an_api(self) -> ProviderError:
        """Return the error for a web page where an API answer was expected."""
        return ProviderError(
            ErrorKind.PROTOCOL,
            f"{self.name} answered with a web page instead of an API response. Check the base URL.",
            retryable=False,
        )
