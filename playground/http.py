"""The site's upstream HTTP client: one per event loop, pinned to checked addresses, closed on exit.

Every provider call (runs and probes) goes through `get_client()`. It is an `httpx.AsyncClient`
(the provider layer's API) over httpx-aiohttp's transport: aiohttp reads streamed bodies at about
a third of httpcore's CPU per chunk (BENCHMARKS.md, "Upstream transport"), and it closes and
releases a connection synchronously, so a cancelled read cannot strand a pool slot.

Connections are pinned to the address that was checked (DNS rebinding): aiohttp connects to the
addresses its resolver returns and keeps the original host name for TLS (SNI, certificate) and
the Host header, so `PinnedResolver` resolves once, refuses the answer when any address is not
public (unless private destinations are allowed), and hands aiohttp exactly what it checked.
A client belongs to the loop that made it; keying by loop keeps tests, which run several loops
in one process, from sharing one.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import weakref
from collections.abc import AsyncIterator
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.request import Request

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from django.conf import settings
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream, map_aiohttp_exceptions

from playground.providers.inprocess import simulator_mounts
from playground.providers.urlpolicy import BlockedAddress, is_public_address

# Far above anything the site lets run at once (runs x columns + probes), so requests never
# wait inside the pool.
MAX_CONNECTIONS = 2000
KEEPALIVE_SECONDS = 30.0

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


class PinnedResolver(AbstractResolver):
    """Resolve a host once and return only addresses the base-URL policy accepts."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner: ThreadedResolver | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if not self.allow_private:
            for result in results:
                if not is_public_address(result["host"]):
                    raise BlockedAddress(
                        f"The host name {host} resolves to a private, loopback or link-local "
                        "address, which is not allowed on this site."
                    )
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


class NoCookieJar(CookieJar):
    """A cookie jar that keeps nothing.

    One client serves every user of the process: a cookie a provider (or the CDN in front of it)
    sets on one user's request would otherwise ride on the next user's request to that host.
    Provider APIs authenticate with the key in each request, never with a cookie.
    """

    def set_cookie(self, cookie: Cookie) -> None:
        """Keep nothing."""

    def extract_cookies(self, response: Any, request: Request) -> None:
        """Read nothing from a response."""


class ReadAnyStream(AiohttpResponseStream):
    """A response body as aiohttp receives it: each read returns whatever has arrived.

    httpx-aiohttp reads with `iter_chunked(16 KiB)`: an iterator object, a coroutine per read
    and a join of the buffered pieces per chunk. A streamed completion arrives a few hundred
    bytes at a time, so `readany()` returns the same chunks for less: with the provider layer
    reading this stream directly and its SSE fast path, 50 -> 45 µs of CPU per streamed delta
    (bench/transport.py, BENCHMARKS.md "Upstream transport"). Errors are mapped to httpx's
    exceptions as the parent class maps them.
    """

    def __init__(self, stream: AiohttpResponseStream) -> None:
        # The parent keeps its aiohttp response as `_aiohttp_response`; a subclass may read it
        # (tests/providers/test_network_errors.py fails if a new httpx-aiohttp stops setting it).
        super().__init__(stream._aiohttp_response)  # noqa: SLF001

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._aiohttp_response.content
        with map_aiohttp_exceptions():
            while chunk := await content.readany():
                yield chunk


class StreamingTransport(AiohttpTransport):
    """httpx-aiohttp's transport, whose response bodies are read with `ReadAnyStream`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if isinstance(response.stream, AiohttpResponseStream):
            response.stream = ReadAnyStream(response.stream)
        return response


def _session(allow_private: bool) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        keepalive_timeout=KEEPALIVE_SECONDS,
        resolver=PinnedResolver(allow_private=allow_private),
        # The resolver is the policy: a cached answer would skip the check on the next request
        # only to reuse an address that was checked, so caching stays on (aiohttp's 10 s).
    )
    # httpx applies the timeouts it is given per request; aiohttp's own total cap stays off.
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
    )


@functools.cache
def ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.2 s of CPU; one context serves every client, and the web
    # process loads it at start-up (playground/loop_latency.py), not on its first stream. (aiohttp
    # verifies with its own default context; the transport only needs one to be given.)
    return httpx.create_ssl_context()


def build_client(*, allow_private: bool) -> httpx.AsyncClient:
    """Return a new upstream client whose connections go only to addresses the policy accepts."""
    transport = StreamingTransport(verify=ssl_context(), client=lambda: _session(allow_private))
    return httpx.AsyncClient(
        transport=transport,
        # The demo mode's simulator, answered in this process (playground/providers/inprocess.py).
        mounts=simulator_mounts(),
        cookies=NoCookieJar(),
        # httpx-aiohttp hands `pool` to aiohttp as the bound on the whole connection set-up
        # (waiting for a slot and connecting), so it is as long as `connect`: at 5 s, a busy
        # process starting 100 runs at once failed a few connections (bench/relay.py).
        # No read timeout: the provider layer's deadlines (first token, stall, total: its
        # exchange.py watchdog) bound every read already, and aiohttp re-armed its socket read
        # timer on every chunk received (bench/relay.py --profile).
        timeout=httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0),
        follow_redirects=False,
    )


def get_client() -> httpx.AsyncClient:
    """Return the running loop's client, creating it on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = build_client(allow_private=settings.ALLOW_PRIVATE_BASE_URLS)
        _clients[loop] = client
    return client


async def aclose_client() -> None:
    """Close the running loop's client if one was created."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def connections_in_use(client: httpx.AsyncClient) -> int:
    """Return how many connections `client` has checked out of its pool right now.

    Zero once every response has been closed; a leak shows as a number that never returns to
    zero. For clients made by `build_client` (the aiohttp transport).
    """
    transport: Any = client._transport  # noqa: SLF001 - the pool is not public API
    session = getattr(transport, "client", None)
    if not isinstance(session, aiohttp.ClientSession) or session.connector is None:
        return 0  # no request sent yet: the session is made on first use
    connector: Any = session.connector
    return len(connector._acquired)
