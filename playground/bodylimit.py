"""An ASGI guard: no request body larger than MAX_REQUEST_BODY_MB is read, whatever the view.

Django's ASGI handler reads a whole request body (spooling it to a temporary file past 2.5 MB)
before any view or form can look at its size, so an unbounded upload would cost unbounded disk
and time. This guard answers 413 at once when the declared length is too large. When a body
without a declared length grows past the limit, it tells Django the client left (so Django
drops what it spooled and answers nothing) and answers 413 itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

# ASGI's scopes and events are dicts whose values depend on their "type": heterogeneous.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
# Django's handler sends Mappings (django-stubs), so a `send` given to it must take them.
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = (
        f"This request is too large: the site accepts at most {limit // 1_048_576} MB "
        "(MAX_REQUEST_BODY_MB)."
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def limit_body(app: App, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`, refusing with 413 any request whose body is larger than `limit` bytes."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        await _refuse(send, limit)
        return
    received = 0
    started = too_large = False

    async def guarded_receive() -> Message:
        nonlocal received, too_large
        if too_large:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                # Told the client left, Django closes what it spooled and answers nothing.
                too_large = True
                return {"type": "http.disconnect"}
        return message

    async def tracked_send(message: Mapping[str, Any]) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    await app(scope, guarded_receive, tracked_send)
    if too_large and not started:
        await _refuse(send, limit)
