"""Stream and Stop with the page's token skip Django's request cycle; anything else does not."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.core.signals import request_started
from django.test import Client

from playground.runs import stream_endpoint, stream_tokens
from playground.runs.models import Run, RunStatus, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.waiting import HANG_GUARD

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]

SLOW_MODEL = "deepseek-chat-tps20"


@pytest.fixture
def django_requests() -> Iterator[list[Any]]:
    """Every request that went through Django's handler meanwhile."""
    seen: list[Any] = []

    def note(**kwargs: Any) -> None:
        seen.append(kwargs)

    request_started.connect(note, weak=False)
    yield seen
    request_started.disconnect(note)


async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What playground/asgi.py does with a request (without its lifespan and simulator)."""
    if not await stream_endpoint.handle(scope, receive, send):
        await get_asgi_application()(scope, receive, send)


def _scope(method: str, path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _page_token(client: Client, run: Run) -> str:
    """Return the token the run's page puts in its stream URL (and its Stop buttons)."""
    body = client.get(f"/runs/{run.code}/").content.decode()
    stream_urls = re.findall(rf'sse-connect="/runs/{run.code}/stream/\?t=([^"]+)"', body)
    stop_urls = re.findall(rf'hx-post="/runs/{run.code}/stop/\?t=([^"]+)"', body)
    column_stops = re.findall(rf'hx-post="/runs/{run.code}/columns/0/stop/\?t=([^"]+)"', body)
    assert len(stream_urls) == 1 and stop_urls == stream_urls and column_stops == stream_urls
    return str(stream_urls[0])


async def _request(
    method: str, path: str, query: str = "", headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], bytes]:
    """Send a request through `site`; return the response start and the whole body."""
    communicator = ApplicationCommunicator(site, _scope(method, path, query, headers or {}))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=HANG_GUARD)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=HANG_GUARD)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=HANG_GUARD)
    return start, body


def _data_of(body: str, event: str) -> str:
    """Return the joined data of every `event` frame, as EventSource would deliver it."""
    out = []
    for frame in body.split("\n\n"):
        lines = frame.split("\n")
        if f"event: {event}" in lines:
            out.append("\n".join(line[6:] for line in lines if line.startswith("data: ")))
    return "".join(out)


def _headers(start: dict[str, Any]) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in start["headers"]}


async def test_the_page_token_streams_the_run_without_django(
    alice: Any, sim: Sim, django_requests: list[Any]
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, "deepseek-chat")], prefix="Once upon a time")
        client = _signed_in(alice)
        return run, _page_token(client, run), str(client.cookies["sessionid"].value)

    run, token, session = await setup()
    django_requests.clear()
    start, body = await _request(
        "GET", f"/runs/{run.code}/stream/", f"t={token}", {"cookie": f"sessionid={session}"}
    )

    assert django_requests == []  # answered before Django's handler
    assert start["status"] == 200
    headers = _headers(start)
    assert headers["content-type"] == "text/event-stream"
    assert {"no-cache", "no-store", "private"} <= set(headers["cache-control"].split(", "))
    assert headers["x-content-type-options"] == "nosniff"
    text = body.decode()
    assert text.startswith(": open\n\n")
    events = [line for line in text.split("\n") if line.startswith("event: ")]
    assert events[-1] == "event: run-done"
    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "done" and segment.text
    assert html.unescape(_data_of(text, "col-0-text")) == segment.text


async def test_a_token_is_worth_nothing_without_its_session(
    alice: Any, bob: Any, sim: Sim, django_requests: list[Any]
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str, str, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, "deepseek-chat")], prefix="Dear diary,")
        token = _page_token(_signed_in(alice), run)
        other_alice = str(_signed_in(alice).cookies["sessionid"].value)
        mallory = str(_signed_in(bob).cookies["sessionid"].value)
        return run, token, other_alice, mallory

    run, token, other_alice, mallory = await setup()
    path = f"/runs/{run.code}/stream/"

    # Bob's session with Alice's token: Django answers, and Bob does not see Alice's run.
    django_requests.clear()
    start, _body = await _request("GET", path, f"t={token}", {"cookie": f"sessionid={mallory}"})
    assert len(django_requests) == 1 and start["status"] == 404
    # No cookie at all: Django sends the sign-in page's redirect.
    django_requests.clear()
    start, _body = await _request("GET", path, f"t={token}")
    assert len(django_requests) == 1 and start["status"] == 302
    # A forged token with Alice's other session: Django again, which streams it for her.
    django_requests.clear()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    start, body = await _request("GET", path, f"t={forged}", {"cookie": f"sessionid={other_alice}"})
    assert len(django_requests) == 1 and start["status"] == 200
    assert b"event: run-done" in body


async def test_a_signed_out_session_gets_its_first_byte_then_a_run_done_saying_so(
    alice: Any, sim: Sim, django_requests: list[Any]
) -> None:
    # The first byte goes out once the token checks out; the session is looked up after it.
    @sync_to_async
    def setup() -> tuple[Run, str, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, "deepseek-chat")], prefix="Dear diary,")
        client = _signed_in(alice)
        token, session = _page_token(client, run), str(client.cookies["sessionid"].value)
        client.post("/accounts/logout/")
        return run, token, session

    run, token, session = await setup()
    django_requests.clear()
    sent_before = len(sim.app.requests)
    start, body = await _request(
        "GET", f"/runs/{run.code}/stream/", f"t={token}", {"cookie": f"sessionid={session}"}
    )
    text = body.decode()
    assert django_requests == [] and start["status"] == 200
    assert text.startswith(": open\n\n")
    # One frame after it: run-done, which closes the page's EventSource (no reconnect loop).
    assert text.count("event: ") == 1 and "event: run-done" in text
    done = _data_of(text, "run-done")
    assert "Signed out" in done and f"/accounts/login/?next=/runs/{run.code}/" in done
    assert "Dear diary" not in text and "deepseek" not in text.lower()
    assert len(sim.app.requests) == sent_before  # nothing was sent upstream
    assert await Segment.objects.filter(column__run=run, status="pending").aexists()


async def test_a_deleted_run_gets_a_run_done_saying_it_is_gone(
    alice: Any, sim: Sim, django_requests: list[Any]
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, "deepseek-chat")])
        client = _signed_in(alice)
        token, session = _page_token(client, run), str(client.cookies["sessionid"].value)
        Run.objects.filter(pk=run.pk).delete()
        return run, token, session

    run, token, session = await setup()
    sent_before = len(sim.app.requests)
    start, body = await _request(
        "GET", f"/runs/{run.code}/stream/", f"t={token}", {"cookie": f"sessionid={session}"}
    )
    assert start["status"] == 200 and "no longer there" in _data_of(body.decode(), "run-done")
    assert len(sim.app.requests) == sent_before


async def test_stop_with_the_token_stops_the_column_without_django(
    alice: Any, sim: Sim, django_requests: list[Any]
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str, str]:
        slow = make_sim_credential(alice, sim, "deepseek")
        fast = make_sim_credential(alice, sim, "dashscope")
        run = start_run(alice, [(slow, SLOW_MODEL), (fast, "qwen-plus")], prefix="Dear diary,")
        client = _signed_in(alice)
        return run, _page_token(client, run), str(client.cookies["sessionid"].value)

    run, token, session = await setup()
    cookie = {"cookie": f"sessionid={session}"}
    reading = asyncio.create_task(
        _request("GET", f"/runs/{run.code}/stream/", f"t={token}", cookie)
    )

    async def streaming() -> bool:
        return await Segment.objects.filter(column__run=run, status="running").acount() == 2

    deadline = asyncio.get_running_loop().time() + HANG_GUARD
    while not await streaming():
        assert asyncio.get_running_loop().time() < deadline, "the run never started streaming"
        await asyncio.sleep(0.05)
    django_requests.clear()
    start, _body = await _request(
        "POST",
        f"/runs/{run.code}/columns/0/stop/",
        f"t={token}",
        {**cookie, "hx-request": "true", "origin": "http://testserver"},
    )
    assert start["status"] == 204 and django_requests == []
    _start, body = await asyncio.wait_for(reading, HANG_GUARD)

    segments = [
        s async for s in Segment.objects.filter(column__run=run).order_by("column__position")
    ]
    assert [s.status for s in segments] == ["stopped", "done"]
    assert b"event: run-done" in body
    assert (await Run.objects.aget(pk=run.pk)).status == RunStatus.STOPPED


async def test_stop_from_another_origin_or_without_htmx_goes_through_django(
    alice: Any, sim: Sim, django_requests: list[Any]
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, SLOW_MODEL)], prefix="Dear diary,")
        client = _signed_in(alice)
        return run, _page_token(client, run), str(client.cookies["sessionid"].value)

    run, token, session = await setup()
    path, cookie = f"/runs/{run.code}/stop/", {"cookie": f"sessionid={session}"}
    django_requests.clear()
    foreign = {**cookie, "hx-request": "true", "origin": "https://evil.example"}
    start, _body = await _request("POST", path, f"t={token}", foreign)
    assert len(django_requests) == 1 and start["status"] == 403  # Django's CSRF check
    django_requests.clear()
    start, _body = await _request("POST", path, f"t={token}", cookie)
    assert len(django_requests) == 1 and start["status"] == 403  # no CSRF token either


async def test_tokens_name_one_run_and_one_session() -> None:
    token = stream_tokens.mint(7, "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", 3, "session-a")
    grant = stream_tokens.verify(token, "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", "session-a")
    assert grant == stream_tokens.StreamGrant(7, "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", 3)
    assert stream_tokens.verify(token, "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", "session-b") is None
    assert stream_tokens.verify(token, "11111111-2b7a-4c1e-9f1e-3d2a1b0c9e8f", "session-a") is None
    assert stream_tokens.verify(token, "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", None) is None
    assert (
        stream_tokens.verify(token + "x", "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f", "session-a")
        is None
    )


async def test_access_logs_show_no_stream_token() -> None:
    from playground.accounts.logfilters import redact

    code = "0c6f2d4e-2b7a-4c1e-9f1e-3d2a1b0c9e8f"
    token = stream_tokens.mint(7, code, 3, "session-a")
    line = f'127.0.0.1:5 - "GET /runs/{code}/stream/?t={token} HTTP/1.1"'
    redacted = redact(line)
    assert token not in redacted and token.split(":")[-1] not in redacted
    assert "/stream/?t=[token] HTTP/1.1" in redacted
