"""The client's address when the site runs behind the platform's router.

Each proxy appends the address it received the request from to X-Forwarded-For, so only the
right-most entries were written by proxies we trust; everything to their left came from the
client and may be forged. With `hops` trusted proxies in front of the site (the platform's
router: 1), the client's address is the `hops`-th entry from the right. uvicorn's own
`--forwarded-allow-ips='*'` takes the left-most entry instead, which the client chooses, and
its other settings need the router's address, which the platform does not fix.

`use_forwarded_client` rewrites the ASGI scope's client before Django (REMOTE_ADDR, hence the
login lockout and the rate limits) and uvicorn's access log read it.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def forwarded_client(headers: list[tuple[bytes, bytes]], hops: int) -> str | None:
    """Return the address `hops` entries from the right of X-Forwarded-For, or None."""
    entries: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            entries += [part.strip() for part in value.decode("latin-1").split(",")]
    if hops < 1 or len(entries) < hops:
        return None
    candidate = entries[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None  # not an address: our router never writes that, so keep the peer


def use_forwarded_client(scope: dict[str, Any], hops: int) -> None:
    """Set the scope's client to the router-reported address when `hops` proxies are trusted."""
    if hops < 1 or scope.get("type") not in ("http", "websocket"):
        return
    address = forwarded_client(scope.get("headers") or [], hops)
    if address is not None:
        scope["client"] = (address, 0)
