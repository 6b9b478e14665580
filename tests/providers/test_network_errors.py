"""The site's client: every network failure has its own message; rebinding cannot reach loopback.

These go through `playground.http.build_client` (httpx over aiohttp, pinned resolver) and the
provider layer, over real loopback sockets; name resolution is patched where a test needs a name.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest

from playground.http import ReadAnyStream, StreamingTransport, build_client
from playground.providers import CompletionRequest, ErrorKind, Target, Turn, complete

pytestmark = pytest.mark.anyio

REQUEST = CompletionRequest(model="deepseek-chat", prefix="Hi", turns=(Turn("user", "Hello"),))


class Listener:
    """A loopback TCP listener that records every connection and answers `reply`, if any."""

    def __init__(self, reply: bytes = b"") -> None:
        self.reply = reply
        self.connections = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.reply:
            writer.write(self.reply)
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> Listener:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _error(base_url: str, *, allow_private: bool) -> Any:
    target = Target(provider="deepseek", base_url=base_url, api_key="sk-test-0000000000000000")
    async with build_client(allow_private=allow_private) as client:
        result = await complete(client, target, REQUEST, allow_private=allow_private)
    assert result.error is not None
    return result.error


def _patch_resolver(monkeypatch: pytest.MonkeyPatch, answers: list[str | None]) -> list[str]:
    """Make the running loop resolve names to `answers` in turn (None: the name does not exist)."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with Listener() as server:
        yield server


async def test_a_rebinding_name_cannot_reach_a_loopback_listener(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    # The first answer (the policy's own look-up) is public; every later one is loopback.
    asked = _patch_resolver(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    error = await _error(f"https://rebind.example:{listener.port}/v1", allow_private=False)
    assert len(asked) >= 2  # the connection resolved the name again, and got loopback
    assert error.kind == ErrorKind.UNSAFE_URL
    assert "private, loopback or link-local" in error.message
    assert listener.connections == 0


async def test_a_name_that_does_not_resolve_is_a_dns_failure_not_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _patch_resolver(monkeypatch, [None])
    for allow_private in (False, True):  # the policy's look-up, then the connection's own
        error = await _error("https://no-such-host.example/v1", allow_private=allow_private)
        assert error.kind == ErrorKind.CONNECTION
        assert "could not be found" in error.message and "DNS" in error.message


async def test_a_refused_connection_says_nothing_is_listening(listener: Listener) -> None:
    port = listener.port
    assert listener.server is not None
    listener.server.close()
    await listener.server.wait_closed()
    error = await _error(f"http://127.0.0.1:{port}/v1", allow_private=True)
    assert error.kind == ErrorKind.CONNECTION
    assert "refused the connection" in error.message


async def test_a_tls_failure_says_so() -> None:
    async with Listener(reply=b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS") as plain:
        error = await _error(f"https://127.0.0.1:{plain.port}/v1", allow_private=True)
    assert error.kind == ErrorKind.CONNECTION
    assert "secure (TLS) connection" in error.message


async def test_a_policy_refusal_is_its_own_message() -> None:
    error = await _error("https://127.0.0.1:9/v1", allow_private=False)
    assert error.kind == ErrorKind.UNSAFE_URL
    assert "not allowed" in error.message


def _chunked_sse(*texts: str) -> bytes:
    """Return an SSE response head and one chunked-encoding chunk per DeepSeek delta."""
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    chunks = []
    for text in texts:
        delta = {"choices": [{"index": 0, "delta": {"content": text}}]}
        event = f"data: {json.dumps(delta)}\n\n".encode()
        chunks.append(b"%x\r\n%s\r\n" % (len(event), event))
    return head + b"".join(chunks)


async def test_a_body_cut_mid_stream_keeps_its_text_and_says_where_it_was_cut() -> None:
    # The site's transport reads bodies with `readany()`; aiohttp's error for a body that
    # stops before its last chunk must still reach the provider layer as httpx's.
    async with Listener(reply=_chunked_sse("def ", "f():")) as cut:
        target = Target(
            provider="deepseek", base_url=f"http://127.0.0.1:{cut.port}/v1", api_key="sk-0"
        )
        async with build_client(allow_private=True) as client:
            result = await complete(client, target, REQUEST, allow_private=True)
    assert result.text == "def f():"
    assert result.error is not None and result.error.kind == ErrorKind.CONNECTION
    assert result.error.message == "The connection to DeepSeek was cut after 8 characters."


async def test_the_sites_transport_reads_bodies_as_they_arrive() -> None:
    whole = _chunked_sse("one", "two") + b"0\r\n\r\n"
    async with Listener(reply=whole) as server:
        transport = StreamingTransport(client=aiohttp.ClientSession(auto_decompress=False))
        try:
            request = httpx.Request("GET", f"http://127.0.0.1:{server.port}/")
            response = await transport.handle_async_request(request)
            assert isinstance(response.stream, ReadAnyStream)
            body = b"".join([chunk async for chunk in response.stream])
            await response.aclose()
        finally:
            await transport.aclose()
    assert body.count(b"data: ") == 2 and b'"content": "two"' in body


async def test_a_cookie_one_request_was_given_is_not_sent_with_the_next() -> None:
    # One client serves every user: a provider's (or its CDN's) cookie must not carry over.
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n"
            b"set-cookie: affinity=user-a; Path=/\r\nconnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with build_client(allow_private=True) as client:
            for _ in range(2):
                response = await client.get(f"http://127.0.0.1:{port}/v1/models")
                assert response.headers["set-cookie"].startswith("affinity=")
            assert len(client.cookies) == 0
    finally:
        server.close()
        await server.wait_closed()
    assert len(seen) == 2
    assert all(b"cookie:" not in head.lower() for head in seen)
