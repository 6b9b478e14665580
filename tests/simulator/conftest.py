"""The simulator served by uvicorn on a free loopback port, and raw httpx helpers to drive it.

No Django and no `playground.providers` here: the tests speak each provider's wire format
themselves, so they check the simulator against the documentation, not against our client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.simulator import RequestRecord, SimulatorApp, create_app
from tests.servers import free_port, serving

__all__ = ["free_port"]  # tests import it from here

KEY = "sim-test-key"


@dataclass
class Sim:
    """A running simulator: its base URL and the app (for in-process record checks)."""

    url: str
    app: SimulatorApp

    def last(self) -> RequestRecord:
        """Return the newest request record."""
        return self.app.requests[-1]


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    """Serve a fast simulator (short delays, high token rate) from a background thread."""
    app = create_app(
        tokens_per_second=5000,
        first_token_delay=0.01,
        slow_delay=1.0,
        keepalive_interval=0.2,
        silence=120.0,
    )
    with serving(app, name="simulator", lifespan="on") as url:
        yield Sim(url, app)


@pytest.fixture(scope="session")
def client(sim: Sim) -> Iterator[httpx.Client]:
    """Return an httpx client bound to the simulator (one per session: building one is slow)."""
    with httpx.Client(base_url=sim.url, timeout=60.0) as http:  # a hang guard
        yield http


def bearer(key: str = KEY) -> dict[str, str]:
    """Return an Authorization header."""
    return {"Authorization": f"Bearer {key}"}


def anthropic_headers(key: str = KEY) -> dict[str, str]:
    """Return the headers the Messages API needs."""
    return {"x-api-key": key, "anthropic-version": "2023-06-01"}


def sse_events(lines: Iterator[str]) -> list[tuple[str | None, str]]:
    """Return (event name, data) pairs from SSE lines; comments are kept as ("comment", text)."""
    events: list[tuple[str | None, str]] = []
    name: str | None = None
    for line in lines:
        if line.startswith(":"):
            events.append(("comment", line[1:].strip()))
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.append((name, line[5:].strip()))
            name = None
    return events


def stream_sse(
    client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, list[tuple[str | None, str]]]:
    """POST a streaming request and return the response and all its SSE events."""
    with client.stream("POST", url, json={**body, "stream": True}, headers=headers) as response:
        events = sse_events(response.iter_lines())
    return response, events


def openai_text(events: list[tuple[str | None, str]], key: str = "content") -> str:
    """Return the concatenated delta `key` of OpenAI-style chunks."""
    parts = []
    for _, data in events:
        if data.startswith("{"):
            for choice in json.loads(data).get("choices", []):
                parts.append((choice.get("delta") or {}).get(key) or "")
    return "".join(parts)


def data_chunks(events: list[tuple[str | None, str]]) -> list[dict[str, Any]]:
    """Return the JSON payloads of the data events (not [DONE], not comments)."""
    return [json.loads(d) for n, d in events if n != "comment" and d.startswith("{")]


def socket_buffer_bytes() -> int:
    """Return how much a loopback connection may hold in flight: the kernel's largest receive
    and send buffers (Linux grows them as a connection goes on), plus 8 MB for the servers' and
    clients' own buffers. What a sender has sent beyond what its reader read stays under this.
    """
    total = 8 * 1024 * 1024
    for name in ("tcp_rmem", "tcp_wmem"):
        path = Path("/proc/sys/net/ipv4") / name
        total += int(path.read_text().split()[2]) if path.exists() else 8 * 1024 * 1024
    return total
