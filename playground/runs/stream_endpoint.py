"""The run's stream and Stop, answered in ASGI directly when the page's stream token checks out.

Through Django, a stream request runs thirteen middleware (each hook a hop to a worker thread
and back to the busy event loop), loads the session and the user, and wraps every frame in a
StreamingHttpResponse; a Stop button press does the same before it reaches the relay. Under
100 streaming runs that made the Stop press wait for seconds (BENCHMARKS.md). A request that
carries a valid token (playground/runs/stream_tokens.py: this run, this owner, this session,
not expired) needs none of it: `handle` answers it here, with the headers Django would send.
Every other request, and any request whose token does not check out, is left to Django
(`handle` returns False without reading or sending anything), so the result never differs,
only the cost. One exception: a stream whose token checks out gets its first byte before the
session is looked up, so a session signed out since then (or a run deleted) is answered with a
`run-done` frame that says so, where Django would have redirected to the sign-in page or
answered 404; either way nothing is claimed and nothing of the run is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncGenerator
from urllib.parse import parse_qs, urlsplit

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import close_old_connections, connection
from django.http.cookie import parse_cookie
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from playground.bodylimit import Receive, Scope, Send

from . import live, stops, stream_tokens, streaming
from .models import Run
from .relay import OPEN_FRAME, format_event

STREAM_PATH = re.compile(r"/runs/(?P<code>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/stream/")
STOP_PATH = re.compile(
    r"/runs/(?P<code>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/"
    r"(?:columns/(?P<position>[0-9]{1,4})/)?stop/"
)


def _security_headers() -> list[tuple[bytes, bytes]]:
    """Return the headers Django's middleware puts on a signed-in user's response."""
    headers = [
        (b"cache-control", b"no-cache, no-store, private"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
    ]
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        coop = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()
        headers.append((b"cross-origin-opener-policy", coop))
    return headers


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _grant(scope: Scope, code: str) -> stream_tokens.StreamGrant | None:
    """Return what the request's token allows, or None (then Django answers it)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = query.get("t", [""])[0]
    if not token:
        return None
    cookies = parse_cookie(_header(scope, b"cookie"))
    return stream_tokens.verify(token, code, cookies.get(settings.SESSION_COOKIE_NAME))


def _same_origin(scope: Scope) -> bool:
    """Return whether a POST's Origin (when the browser sent one) is this site's host."""
    origin = _header(scope, b"origin")
    return not origin or urlsplit(origin).netloc == _header(scope, b"host")


async def handle(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a stream or htmx Stop request with a valid token; return False to pass it on."""
    if scope["type"] != "http" or scope.get("root_path"):
        return False
    path, method = scope["path"], scope["method"]
    if method == "GET" and (match := STREAM_PATH.fullmatch(path)):
        grant = _grant(scope, match["code"])
        if grant is None:
            return False
        return await _stream(grant, _session_key(scope), receive, send)
    if method == "POST" and (match := STOP_PATH.fullmatch(path)):
        if _header(scope, b"hx-request") != "true" or not _same_origin(scope):
            return False  # a plain form post gets Django's redirect; a foreign origin its 403
        grant = _grant(scope, match["code"])
        if grant is None:
            return False
        position = match["position"]
        await _stop(grant, None if position is None else {int(position)}, send)
        return True
    return False


def _session_key(scope: Scope) -> str:
    return parse_cookie(_header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME, "")


SIGNED_OUT = "signed-out"
GONE = "gone"


def _refusal(grant: stream_tokens.StreamGrant, session_key: str) -> str | None:
    """Return why the stream may not go on (`SIGNED_OUT`, `GONE`), or None (sync).

    One statement: the run's row (still its owner's), with the session's liveness as an
    EXISTS. Written as SQL: the ORM's `annotate(Exists(...))` took longer to compile than the
    statement takes to run, once per stream opening (bench/run_start.py).
    """
    runs, sessions = Run._meta.db_table, Session._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {sessions} WHERE session_key = %s AND expire_date > %s)"
            f" FROM {runs} WHERE id = %s AND user_id = %s",
            [session_key, timezone.now(), grant.run_pk, grant.user_id],
        )
        row = cursor.fetchone()
    if row is None:
        return GONE
    return None if row[0] else SIGNED_OUT


def _plan_if_signed_in(
    grant: stream_tokens.StreamGrant, session_key: str
) -> streaming.StreamPlan | str:
    """Plan the stream (claim its segments) if the session is still signed in, else say why not.

    Sync, in one worker thread; the connection is closed (back to the pool) either way.
    """
    try:
        refusal = _refusal(grant, session_key)
        if refusal is not None:
            return refusal
        return streaming.plan_stream(grant.run_pk, grant.user_id)
    finally:
        connection.close()


def _refused_frame(code: str, refusal: str) -> str:
    """Return the `run-done` frame that ends a stream refused after `: open` went out.

    The page closes its EventSource on `run-done` (templates/runs/_run.html), so it does not
    reconnect to be refused again; the frame says why, in the run's status bar.
    """
    html = render_to_string(
        "runs/_run.html#run-refused",
        {"signed_out": refusal == SIGNED_OUT, "next": reverse("runs:detail", args=[code])},
    )
    return format_event("run-done", html)


async def _stream(
    grant: stream_tokens.StreamGrant, session_key: str, receive: Receive, send: Send
) -> bool:
    from .views import abandon, open_stream, stream_body

    headers = [
        (b"content-type", b"text/event-stream"),
        (b"x-accel-buffering", b"no"),
        *_security_headers(),
    ]
    # The first byte goes out once the token checks out, before the thread hop that checks the
    # session and claims the segments: under load that hop waited for a worker thread and the
    # GIL, and the first byte with it (BENCHMARKS.md, "Relay at 100 concurrent runs"). The
    # token is already bound to this run, its owner and this session's key; a session signed
    # out since (or a run deleted) gets a `run-done` frame saying so, and nothing is claimed.
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": OPEN_FRAME.encode(), "more_body": True})
    # A thread of its own for this request's thread-sensitive work (the run's claim and save),
    # as Django gives each request; without it they would queue on one process-wide thread.
    async with ThreadSensitiveContext():
        opened = await open_stream(
            grant.code, functools.partial(_plan_if_signed_in, grant, session_key)
        )
        if isinstance(opened, str):
            frame = _refused_frame(grant.code, opened)
            await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        try:
            body = stream_body(grant.run_pk, grant.code, grant.user_id, opened)
            sender = asyncio.ensure_future(_send_body(body, send))
            listener = asyncio.ensure_future(_disconnected(receive))
            try:
                await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # The browser left (or the server is stopping us): cancelling the sender closes
                # the relay, which cancels the upstream requests and saves what arrived.
                for task in (sender, listener):
                    task.cancel()
                for task in (sender, listener):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            await abandon(opened)  # the body never began: its claimed segments saved stopped
            await sync_to_async(close_old_connections)()
    return True


async def _send_body(body: AsyncGenerator[str, None], send: Send) -> None:
    async with contextlib.aclosing(body):
        async for frame in body:
            await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _notify_others(code: str, positions: set[int] | None) -> None:
    try:
        stops.notify(code, positions)
    finally:
        connection.close()


async def _stop(grant: stream_tokens.StreamGrant, positions: set[int] | None, send: Send) -> None:
    # This process's relay stops at once, on its own loop; then the other processes hear it.
    live.stop_here(grant.code, positions)
    await sync_to_async(_notify_others, thread_sensitive=False)(grant.code, positions)
    headers = [(b"content-length", b"0"), *_security_headers()]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
