"""The process-wide upstream HTTP client: created lazily in the running loop, closed on shutdown.

One `httpx.AsyncClient` per process keeps one connection pool for every provider call. Its
limits sit above anything the site lets run at once, so requests never queue inside httpx's
pool, where cancellation can leak pool slots (streaming.md §3.1).
"""

from __future__ import annotations

import httpx

_client: httpx.AsyncClient | None = None


def get_client() -> httpx.AsyncClient:
    """Return the shared client, creating it on first use."""
    global _client
    if _client is None or _client.is_closed:
        _client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=5.0),
            limits=httpx.Limits(
                max_connections=2000, max_keepalive_connections=200, keepalive_expiry=30.0
            ),
            follow_redirects=False,
        )
    return _client


async def aclose_client() -> None:
    """Close the shared client if one was created."""
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None
