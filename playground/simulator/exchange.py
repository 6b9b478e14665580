"""One HTTP request and its response over raw ASGI, and the record the simulator keeps of it.

The record is updated in place while the response runs, so `app.requests` and
`GET /_sim/requests` show streams in flight. Every timestamp is kept twice: `time.monotonic()`
(comparable with a test's own clock in the same process, or across processes on one host) and
`time.time()` in the `*_wall` twin.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 8 * 1024 * 1024


@dataclass
class RequestRecord:
    """What the simulator saw and did for one provider request (headers are never kept).

    `completed` is true once the whole response was sent (an error response counts); a client
    that went away sets `disconnected_at` instead, and a `cut` fault leaves both unset.
    `chunks_sent` counts body writes, keep-alives included; `bytes_sent` counts the body's bytes
    handed to the server (a client that stops reading holds them up, as a socket buffer would).
    """

    id: int
    provider: str
    path: str
    started_at: float
    started_at_wall: float
    model: str | None = None
    stream: bool = False
    body: Any = None
    auth_ok: bool | None = None
    status: int | None = None
    first_byte_at: float | None = None
    first_byte_at_wall: float | None = None
    ended_at: float | None = None
    ended_at_wall: float | None = None
    disconnected_at: float | None = None
    disconnected_at_wall: float | None = None
    completed: bool = False
    chunks_sent: int = 0
    bytes_sent: int = 0


class ClientGone(Exception):
    """The client closed the connection while we were sending."""


def encode_json(obj: Any) -> bytes:
    """Return compact UTF-8 JSON, as the providers send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Exchange:
    """Send helpers for one response, recording timing and noticing a client that left."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, record: RequestRecord):
        self.scope = scope
        self.record = record
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        self._receive = receive
        self._send = send
        self._started = False
        self._ending = False
        self.too_large = False

    async def read_body(self) -> bytes | None:
        """Return the request body, or None if the client left before sending all of it.

        A body over MAX_BODY is read to its end but kept empty, with `too_large` set.
        """
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.mark_disconnected()
                return None
            size += len(message.get("body", b""))
            self.too_large = size > MAX_BODY
            if not self.too_large:
                chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def client_gone(self) -> bool:
        """Wait for `http.disconnect`; return True if it came before our response ended."""
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return not self._ending

    async def start(
        self, status: int, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Send the status line and headers."""
        raw = [(b"content-type", content_type.encode())]
        raw += [(name.encode(), value.encode()) for name, value in headers]
        self.record.status = status
        self._started = True
        await self._send_message({"type": "http.response.start", "status": status, "headers": raw})

    async def write(self, data: bytes) -> None:
        """Send one piece of the body, leaving the response open."""
        if self.record.first_byte_at is None:
            self.record.first_byte_at, self.record.first_byte_at_wall = now()
        self.record.chunks_sent += 1
        await self._send_message({"type": "http.response.body", "body": data, "more_body": True})
        self.record.bytes_sent += len(data)

    async def end(self, data: bytes = b"") -> None:
        """Send the last piece of the body and mark the response complete.

        The record is finished before the last piece leaves: a client that reads the record
        as soon as it has read the response must find it complete, not still running.
        """
        if data and self.record.first_byte_at is None:
            self.record.first_byte_at, self.record.first_byte_at_wall = now()
        self.record.chunks_sent += 1 if data else 0
        self._ending = True
        self.record.completed = True
        self.mark_ended()
        try:
            await self._send_message(
                {"type": "http.response.body", "body": data, "more_body": False}
            )
            self.record.bytes_sent += len(data)
        except ClientGone:
            self.record.completed = False
            raise

    async def send_json(self, status: int, obj: Any) -> None:
        """Send a whole JSON response."""
        await self.start(status, "application/json")
        await self.end(encode_json(obj))

    @property
    def started(self) -> bool:
        """Return whether the status line has been sent."""
        return self._started

    def mark_disconnected(self) -> None:
        """Record that the client went away (once)."""
        if self.record.disconnected_at is None:
            self.record.disconnected_at, self.record.disconnected_at_wall = now()

    def mark_ended(self) -> None:
        """Record when the simulator stopped working on this request (once)."""
        if self.record.ended_at is None:
            self.record.ended_at, self.record.ended_at_wall = now()

    async def _send_message(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError as exc:  # e.g. uvicorn's ClientDisconnected
            self.mark_disconnected()
            raise ClientGone from exc


def now() -> tuple[float, float]:
    """Return the monotonic and wall-clock time."""
    return time.monotonic(), time.time()


async def run_watched(exchange: Exchange, work: Awaitable[None]) -> None:
    """Run `work` while watching for a disconnect; cancel it the moment the client leaves."""
    producer = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(exchange.client_gone())
    try:
        done, _ = await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if producer not in done and watcher.result():
            exchange.mark_disconnected()
            producer.cancel()
        try:
            await producer
        except (asyncio.CancelledError, ClientGone):
            # Swallow only our own cancellation of the producer, never the server's of us.
            task = asyncio.current_task()
            if exchange.record.disconnected_at is None or (task and task.cancelling()):
                raise
    finally:
        producer.cancel()
        watcher.cancel()
        exchange.mark_ended()
