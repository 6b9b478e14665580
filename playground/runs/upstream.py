"""The upstream HTTP client: one per event loop (one per process under uvicorn), closed on shutdown.

One `httpx.AsyncClient` keeps one connection pool for every provider call. Its limits sit
above anything the site lets run at once, so requests never queue inside httpx's pool, where
cancellation can leak pool slots (streaming.md §3.1). A client belongs to the loop that made
it; keying by loop keeps tests, which run several loops in one process, from sharing one.
"""

from __future__ import annotations

import asyncio
import weakref

import httpx

from playground.providers.inprocess import simulator_mounts

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def get_client() -> httpx.AsyncClient:
    """Return the running loop's client, creating it on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=5.0),
            limits=httpx.Limits(
                max_connections=2000, max_keepalive_connections=200, keepalive_expiry=30.0
            ),
            follow_redirects=False,
            # The demo mode's simulator, answered in-process (playground/providers/inprocess.py).
            mounts=simulator_mounts(),
        )
        _clients[loop] = client
    return client


async def aclose_client() -> None:
    """Close the running loop's client if one was created."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
