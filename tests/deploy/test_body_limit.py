"""No request body past MAX_REQUEST_BODY_MB is read: 413 before anything is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture
def small_limit(settings: Any) -> int:
    settings.MAX_REQUEST_BODY_BYTES = 1_048_576
    return 1_048_576


def test_a_declared_body_over_the_limit_is_refused_at_once(live_url: str, small_limit: int) -> None:
    body = b"x" * (small_limit + 1)
    response = httpx.post(f"{live_url}/accounts/login/", content=body, timeout=60)
    assert response.status_code == 413
    assert "at most 1 MB" in response.text and "MAX_REQUEST_BODY_MB" in response.text


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(
    live_url: str, small_limit: int
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        nonlocal sent
        for _ in range(64):  # 4 MB offered, four times the limit
            sent += 65_536
            yield b"x" * 65_536

    try:
        response = httpx.post(f"{live_url}/accounts/login/", content=chunks(), timeout=60)
    except httpx.HTTPError:
        return  # the server closed the connection while the body was still being sent
    assert response.status_code == 413


def test_a_body_under_the_limit_reaches_the_site(live_url: str, small_limit: int) -> None:
    response = httpx.post(f"{live_url}/accounts/login/", data={"username": "x"}, timeout=60)
    assert response.status_code == 403  # Django's CSRF check answered: the body was read
