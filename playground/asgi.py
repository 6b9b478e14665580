"""ASGI entry point: Django, plus the lifespan protocol and the optional built-in simulator.

Django rejects `lifespan` scopes, so this wrapper answers them itself: at startup it starts the
process's background tasks (stop listener, lease heartbeat, sweep: playground/runs/background.py)
and hooks SIGTERM to drain the streams, and freezes what start-up loaded out of the garbage
collector's walks (playground/loop_latency.py); at shutdown it saves what still streams and
closes the shared upstream HTTP client. When SIMULATOR_ENABLED is on, requests under /sim/ go to the
provider simulator (a pure ASGI app), so a fresh install works offline against itself. A run's
stream and Stop requests that carry the page's stream token are answered without Django's
request cycle (playground/runs/stream_endpoint.py). Behind the platform's router the client's
address is the router's own X-Forwarded-For entry (playground/accounts/clientip.py).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_application = get_asgi_application()

# Imported after Django is set up.
from django.conf import settings  # noqa: E402

from playground import http as upstream  # noqa: E402
from playground import loop_latency  # noqa: E402
from playground.accounts.clientip import use_forwarded_client  # noqa: E402
from playground.bodylimit import Receive, Scope, Send, limit_body  # noqa: E402
from playground.runs import background, stream_endpoint  # noqa: E402

if TYPE_CHECKING:
    from playground.simulator import SimulatorApp

SIMULATOR_PREFIX = "/sim"
_simulator: SimulatorApp | None = None


def _get_simulator() -> SimulatorApp:
    """Return the process's simulator app, created on first use."""
    global _simulator
    if _simulator is None:
        from playground.simulator import create_app

        _simulator = create_app()
    return _simulator


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            loop_latency.tune_process()
            await background.ensure_running()
            background.install_signal_handlers(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await background.shutdown()
            await upstream.aclose_client()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """Route lifespan to the wrapper, /sim/ to the simulator (when enabled), the rest to Django."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    use_forwarded_client(scope, settings.TRUSTED_PROXY_HOPS)
    path = scope.get("path", "")
    if settings.SIMULATOR_ENABLED and (
        path == SIMULATOR_PREFIX or path.startswith(SIMULATOR_PREFIX + "/")
    ):
        inner = dict(scope)
        inner["path"] = path[len(SIMULATOR_PREFIX) :] or "/"
        inner["root_path"] = scope.get("root_path", "") + SIMULATOR_PREFIX
        await _get_simulator()(inner, receive, send)
        return
    # A run's stream and Stop with the page's token skip Django's request cycle (same answer).
    if await stream_endpoint.handle(scope, receive, send):
        return
    await limit_body(django_application, settings.MAX_REQUEST_BODY_BYTES, scope, receive, send)
