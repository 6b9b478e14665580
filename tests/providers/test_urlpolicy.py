"""Base-URL policy (SSRF): https only, no non-public destinations unless the operator allows."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from playground.providers import UnsafeBaseURL, check_base_url, resolve_and_check
from playground.providers.urlpolicy import HostNotFound

PRIVATE = [
    "https://127.0.0.1/v1",
    "https://localhost:8000/v1",
    "https://api.localhost/v1",
    "https://10.1.2.3/v1",
    "https://172.16.0.1/v1",
    "https://172.31.255.255/v1",
    "https://192.168.1.10/v1",
    "https://169.254.169.254/latest",
    "https://[::1]/v1",
    "https://[fc00::1]/v1",
    "https://[fd12:3456::1]/v1",
    "https://[fe80::1]/v1",
    "https://[::ffff:127.0.0.1]/v1",
    "https://[::ffff:10.0.0.1]/v1",
    "https://0.0.0.0/v1",
    "https://100.64.0.1/v1",
    "https://224.0.0.1/v1",
    # The audit's forms that used to pass (issue 13, finding 6): IPv6 ranges that carry an
    # IPv4 address or are not public unicast, and numeric forms of loopback.
    "https://[64:ff9b::a9fe:a9fe]/v1",
    "https://[::a9fe:a9fe]/v1",
    "https://[2002:7f00:1::1]/v1",
    "https://[fec0::1]/v1",
    "https://127.1/v1",
    "https://0x7f000001/v1",
    "https://2130706433/v1",
    "https://0177.0.0.1/v1",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_it_refuses_non_public_destinations(url: str) -> None:
    with pytest.raises(UnsafeBaseURL):
        check_base_url(url, allow_private=False)


@pytest.mark.parametrize("url", PRIVATE)
def test_it_lets_them_through_when_the_operator_allows_private_urls(url: str) -> None:
    check_base_url(url, allow_private=True)
    check_base_url(url.replace("https://", "http://"), allow_private=True)


@pytest.mark.parametrize(
    "url",
    ["https://api.deepseek.com", "https://8.8.8.8/v1", "https://[2606:4700::1111]/v1"],
)
def test_it_accepts_public_https_urls(url: str) -> None:
    check_base_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "allow_private", "reason"),
    [
        ("http://api.deepseek.com", False, "https"),
        ("ftp://api.deepseek.com", True, "http(s)"),
        ("https://user:pw@api.deepseek.com", False, "key field"),
        ("https://api.deepseek.com/v1?key=1", False, "query string"),
        ("https:///v1", False, "no host"),
        ("", True, "No base URL"),
    ],
)
def test_it_explains_malformed_urls(url: str, allow_private: bool, reason: str) -> None:
    with pytest.raises(UnsafeBaseURL) as caught:
        check_base_url(url, allow_private=allow_private)
    assert reason in str(caught.value)


def fake_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        asked.append(host)
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.anyio
async def test_it_refuses_a_name_that_resolves_to_a_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = fake_dns(monkeypatch, "93.184.216.34", "10.0.0.7")
    with pytest.raises(UnsafeBaseURL, match="resolves to a private"):
        await resolve_and_check("https://sneaky.example.com/v1", allow_private=False)
    assert asked == ["sneaky.example.com"]


@pytest.mark.anyio
async def test_it_refuses_a_name_that_resolves_to_ipv6_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, "::1")
    with pytest.raises(UnsafeBaseURL):
        await resolve_and_check("https://sneaky.example.com/v1", allow_private=False)


@pytest.mark.anyio
@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "::a9fe:a9fe", "2002::1", "fec0::1"])
async def test_it_refuses_a_name_that_resolves_into_an_ipv6_range_that_is_not_public(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    fake_dns(monkeypatch, address)
    with pytest.raises(UnsafeBaseURL):
        await resolve_and_check("https://sneaky.example.com/v1", allow_private=False)


@pytest.mark.anyio
async def test_it_accepts_a_name_that_resolves_to_public_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, "93.184.216.34")
    await resolve_and_check("https://api.example.com/v1", allow_private=False)


@pytest.mark.anyio
async def test_it_does_not_resolve_when_private_urls_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = fake_dns(monkeypatch, "10.0.0.7")
    await resolve_and_check("http://gpu-box.internal:8000/v1", allow_private=True)
    assert asked == []


@pytest.mark.anyio
async def test_it_explains_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    # A DNS failure is a network failure, not a policy refusal (it is not UnsafeBaseURL).
    with pytest.raises(HostNotFound, match="could not be found"):
        await resolve_and_check("https://no-such-host.example/v1", allow_private=False)
