"""The base-URL policy (SSRF): where a stored credential may send requests.

Only https, and never to loopback, private, link-local or otherwise non-public addresses,
unless the operator allows private destinations (development, tests, self-hosted vLLM/Ollama).
`check_base_url` looks at the URL alone (numeric hosts in every form included); resolving the
host and checking every address it resolves to happens again right before each request, since
DNS answers can change. The site's client (playground/http.py) also pins each connection to the
addresses its resolver checked, raising `BlockedAddress` otherwise, so a name that answers
differently the second time (DNS rebinding) cannot reach a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeBaseURL(ValueError):
    """A base URL the policy refuses; the message says why, in words a user understands."""


class BlockedAddress(OSError):
    """Raised while connecting: the host resolved to an address the policy refuses."""


class HostNotFound(OSError):
    """The host name does not resolve (DNS), which is a network failure, not a refusal."""


# IPv6 ranges that carry or reach an IPv4 address (or are otherwise not plain public unicast):
# an address in them is refused outright, whatever it embeds.
_IPV6_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "::/96",  # IPv4-compatible (deprecated), e.g. ::a9fe:a9fe
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "fec0::/10",  # site-local (deprecated, still routed inside some sites)
        "100::/64",  # discard-only
    )
)


def is_public_address(address: str) -> bool:
    """Return whether `address` (an IPv4 or IPv6 literal) is a public, routable address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in net for net in _IPV6_REFUSED):
            return False
    return ip.is_global and not ip.is_multicast


def numeric_host(host: str) -> str | None:
    """Return the address a numeric host name stands for, in any form a resolver accepts.

    Besides dotted quads and IPv6 literals, resolvers take legacy IPv4 forms: `127.1`,
    `0x7f000001`, `2130706433`, `0177.0.0.1`. They are addresses, not names, so the policy
    checks them when a base URL is saved, not only when it is used.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or not all(part for part in host.split(".")):
        return None
    if not all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


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
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise UnsafeBaseURL("The port in the base URL must be a number from 1 to 65535.")
    if allow_private:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeBaseURL("Base URLs on this machine (localhost) are not allowed on this site.")
    literal = numeric_host(host)
    if literal is None:
        return  # a name: checked again on its resolved addresses before each request
    if not is_public_address(literal):
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
    if numeric_host(host) is not None:
        return  # a literal address, already checked
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        message = f"The host name {host} could not be found (DNS lookup failed)."
        raise HostNotFound(message) from error
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        if not is_public_address(address):
            raise UnsafeBaseURL(
                f"The host name {host} resolves to a private, loopback or link-local address, "
                "which is not allowed on this site."
            )
