"""The client address behind the platform's router: its own right-most X-Forwarded-For entry,
never one the client wrote (playground/accounts/clientip.py). The whole path through uvicorn
is in tests/deploy/test_procfile_site.py."""

from __future__ import annotations

from typing import Any

import pytest

from playground.accounts.clientip import forwarded_client, use_forwarded_client


def _headers(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", value.encode()) for value in values]


@pytest.mark.parametrize(
    ("values", "hops", "expected"),
    [
        (["203.0.113.7"], 1, "203.0.113.7"),
        (["1.2.3.4, 203.0.113.7"], 1, "203.0.113.7"),  # forged left-most entry ignored
        (["1.2.3.4", "203.0.113.7"], 1, "203.0.113.7"),  # the header sent twice
        (["1.2.3.4, 198.51.100.2, 203.0.113.7"], 2, "198.51.100.2"),
        (["2001:db8::1"], 1, "2001:db8::1"),
        (["203.0.113.7"], 2, None),  # fewer entries than trusted proxies
        (["not-an-address"], 1, None),
        ([], 1, None),
        (["203.0.113.7"], 0, None),
    ],
)
def test_it_takes_the_entry_the_trusted_proxy_wrote(
    values: list[str], hops: int, expected: str | None
) -> None:
    assert forwarded_client(_headers(*values), hops) == expected


def test_it_rewrites_the_scope_client_only_when_proxies_are_trusted() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "client": ("10.1.2.3", 5555),
        "headers": _headers("6.6.6.6, 203.0.113.7"),
    }
    use_forwarded_client(scope, 0)
    assert scope["client"] == ("10.1.2.3", 5555)

    use_forwarded_client(scope, 1)
    assert scope["client"] == ("203.0.113.7", 0)


def test_it_keeps_the_peer_when_the_header_is_missing() -> None:
    scope: dict[str, Any] = {"type": "http", "client": ("10.1.2.3", 5555), "headers": []}
    use_forwarded_client(scope, 1)
    assert scope["client"] == ("10.1.2.3", 5555)
