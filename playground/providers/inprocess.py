"""Answer HTTP requests from an ASGI app in this process, streaming, with no socket and no DNS.

httpx's own `ASGITransport` reads the app's whole response before returning it, so a stream
arrives all at once at the end. `StreamingASGITransport` runs the app in a task and hands each
body chunk to the reader as the app sends it; closing the response early sends the app
`http.disconnect` (what a server does when its client leaves) and then ends its task.

The site mounts one on `SIMULATOR_ORIGIN` (a reserved host that is never looked up), so a
hosted instance in demo mode answers simulator credentials in-process: no private base URL has
to be allowed. `routes_in_process` tells the base-URL policy's caller that a URL goes to such a
transport, where the network policy has nothing to check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast
from urllib.parse import unquote

import httpx

logger = logging.getLogger(__name__)

Message = dict[str, Any]
ASGIApp = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]

# The reserved origin of the in-process simulator. Only a client that mounts a
# StreamingASGITransport on it sends anything there (see `routes_in_process`).
SIMULATOR_ORIGIN = "http://simulator.internal"

# How long a closed response gives its app to notice `http.disconnect` and finish its own
# bookkeeping before the app's task is cancelled. A guard against an app that never returns.
DISCONNECT_GRACE = 2.0
# Body chunks held for a reader that has not read them yet; a full buffer makes the app's
# `send` wait, as a full socket buffer would.
BUFFERED_CHUNKS = 64


class ClientDisconnected(OSError):
    """Raised by `send` once the reader has gone (uvicorn raises an OSError of this name too)."""


_END = object()
_BROKEN = object()


class _Call:
    """One request in flight: the app's task, its receive/send, and the chunks not read yet."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes) -> None:
        self.app = app
        self.scope = scope
        self.body = body
        self.request_sent = False
        self.head: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.chunks: asyncio.Queue[object] = asyncio.Queue(BUFFERED_CHUNKS)
        self.finished = False
        self.gone = asyncio.Event()
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        except ClientDisconnected:
            pass
        except Exception:
            logger.exception("The in-process app failed on %s", self.scope["path"])
        finally:
            # A server answers 500 when its app ends before starting a response, and drops the
            # connection when it ends one half-sent: the reader sees the same here.
            if not self.head.done():
                self.head.set_result((500, [(b"content-type", b"text/plain; charset=utf-8")]))
                self.finished = True
                if not self.gone.is_set():
                    await self.chunks.put(b"Internal Server Error")
                    await self.chunks.put(_END)
            elif not self.finished and not self.gone.is_set():
                await self.chunks.put(_BROKEN)

    async def _receive(self) -> Message:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if self.gone.is_set():
            raise ClientDisconnected("The client closed the response.")
        kind = message["type"]
        if kind == "http.response.start":
            if self.head.done():
                raise RuntimeError("http.response.start sent twice")
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", [])]
            self.head.set_result((int(message["status"]), headers))
        elif kind == "http.response.body":
            if not self.head.done() or self.finished:
                raise RuntimeError("http.response.body sent outside a response")
            chunk = bytes(message.get("body", b""))
            if not message.get("more_body", False):
                self.finished = True
            if chunk:
                await self.chunks.put(chunk)
            if self.finished:
                await self.chunks.put(_END)

    async def chunks_as_sent(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.chunks.get()
            if item is _END:
                return
            if item is _BROKEN:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )
            yield cast(bytes, item)  # the queue holds body chunks and the two markers above

    async def close(self, *, grace: float | None = None) -> None:
        """Tell the app the client left (if it is still running), then make sure it has ended."""
        if self.closed:
            return
        self.closed = True
        task = self.task
        if task is None or task.done():
            return
        self.gone.set()
        # A send waiting for room in a full buffer gets it, and then learns the client left.
        while not self.chunks.empty():
            self.chunks.get_nowait()
        grace = DISCONNECT_GRACE if grace is None else grace
        try:
            if grace > 0:
                await asyncio.wait({task}, timeout=grace)
        finally:
            # Also when this close is itself cancelled: the app's task never outlives it.
            if not task.done():
                task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, call: _Call) -> None:
        self.call = call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.call.chunks_as_sent():
            yield chunk

    async def aclose(self) -> None:
        await self.call.close()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """An httpx transport that serves requests from `app` in this process, body as it is sent."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = request.url
        default_port = 443 if url.scheme == "https" else 80
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or default_port),
            "extensions": {},
        }
        call = _Call(self.app, scope, body)
        call.start()
        try:
            status, headers = await asyncio.shield(call.head)
        except BaseException:
            # Cancelled while waiting for the status line (a deadline): end the app at once.
            await asyncio.shield(call.close(grace=0))
            raise
        return httpx.Response(status, headers=headers, stream=_ResponseStream(call))


def routes_in_process(client: httpx.AsyncClient, url: str) -> bool:
    """Return whether `client` sends `url` to a StreamingASGITransport (never to the network)."""
    try:
        # httpx picks the transport by its mounts; the lookup is private API, pinned with httpx
        # in requirements.txt and covered by tests/providers/test_inprocess.py.
        transport = client._transport_for_url(httpx.URL(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    return isinstance(transport, StreamingASGITransport)


def simulator_mounts() -> dict[str, httpx.AsyncBaseTransport]:
    """Return httpx mounts that answer SIMULATOR_ORIGIN with a fresh in-process simulator."""
    from playground.simulator import create_app

    # Nobody reads this simulator's request log, and a request may carry inline images: keep
    # only a few records, so a busy demo cannot fill the web process's memory with them.
    return {SIMULATOR_ORIGIN: StreamingASGITransport(create_app(max_records=8))}
