"""The base-URL policy (SSRF): where a stored credential may send requests.

Only https, and never to loopback, private, link-local or otherwise non-public addresses,
unless the operator allows private destinations (development, tests, self-hosted vLLM/Ollama).
`check_base_url` looks at the URL alone; resolving the host and checking every address it
resolves to happens again right before each request, since DNS answers can change.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeBaseURL(ValueError):
    """A base URL the policy refuses; the message says why, in words a user understands."""


def is_public_address(address: str) -> bool:
    """Return whether `address` (an IPv4 or IPv6 literal) is a public, routable address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_base_url(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeBaseURL when `url` is not an acceptable base URL; return None otherwise."""
    if not url.strip():
        raise UnsafeBaseURL("No base URL is set.")
    parts = urlsplit(url.strip())
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeBaseURL(
            "Base URLs must use https." if not allow_private else "Base URLs must use http(s)."
        )
    if not parts.hostname:
        raise UnsafeBaseURL("The base URL has no host name.")
    if parts.username or parts.password:
        raise UnsafeBaseURL("Put the API key in the key field, not in the base URL.")
    if parts.query or parts.fragment:
        raise UnsafeBaseURL("A base URL cannot carry a query string or a fragment.")
    if allow_private:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeBaseURL("Base URLs on this machine (localhost) are not allowed on this site.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checked again on its resolved addresses before each request
    if not is_public_address(str(literal)):
        raise UnsafeBaseURL(
            "Base URLs pointing at private, loopback or link-local addresses are not allowed "
            "on this site."
        )


async def resolve_and_check(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeBaseURL unless `url` passes the policy on every address its host resolves to."""
    check_base_url(url, allow_private=allow_private)
    if allow_private:
        return
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return  # a literal address, already checked
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeBaseURL(f"The host name {host} could not be resolved.") from error
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        if not is_public_address(address):
            raise UnsafeBaseURL(
                f"The host name {host} resolves to a private, loopback or link-local address, "
                "which is not allowed on this site."
            )
