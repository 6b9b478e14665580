"""The simulator's ASGI app: routing, auth, request records, introspection and lifespan.

Each provider lives under `/{provider_id}` followed by its real base-URL path and endpoint.
Keys starting with `sim-` are valid, except `sim-invalid…` (401) and `sim-broke…` (402); a
missing key is a 401. `/_sim/requests` lists recent requests (newest last) and `/_sim/health`
answers `{"ok": true}`. Nothing here imports Django: the site mounts this app under /sim/.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from playground.simulator import anthropic, ollama, openai_style
from playground.simulator.errors import Rejected, error_response
from playground.simulator.exchange import (
    Exchange,
    Receive,
    RequestRecord,
    Scope,
    Send,
    now,
    run_watched,
)
from playground.simulator.faults import Call, Timing

Handler = Callable[[Exchange, Call], Awaitable[None]]

_CHAT = "/v1/chat/completions"
ROUTES: dict[str, dict[str, tuple[str, Handler]]] = {
    "deepseek": {
        "/chat/completions": ("chat", openai_style.handle_chat),
        _CHAT: ("chat", openai_style.handle_chat),
        "/beta/chat/completions": ("beta_chat", openai_style.handle_chat),
        "/beta/completions": ("fim", openai_style.handle_fim),
    },
    "dashscope": {"/compatible-mode/v1/chat/completions": ("chat", openai_style.handle_chat)},
    "openrouter": {"/api/v1/chat/completions": ("chat", openai_style.handle_chat)},
    "anthropic": {"/v1/messages": ("messages", anthropic.handle_messages)},
    "ollama": {"/api/chat": ("chat", ollama.handle_chat)},
    **{
        provider: {_CHAT: ("chat", openai_style.handle_chat)}
        for provider in (
            "coreshub",
            "moonshot",
            "mistral",
            "vllm",
            "sglang",
            "llamacpp",
            "openai",
            "openai_compatible",
        )
    },
}


def auth_problem(provider: str, headers: dict[str, str]) -> str | None:
    """Return the error kind for the request's key ("auth" or "billing"), or None if it is good."""
    if provider == "ollama":
        return None
    if provider == "anthropic":
        key = headers.get("x-api-key", "").strip()
    else:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
    if not key.startswith("sim-") or key.startswith("sim-invalid"):
        return "auth"
    return "billing" if key.startswith("sim-broke") else None


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Rejected("The request body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise Rejected(
            f"Invalid JSON body: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not isinstance(body, dict):
        raise Rejected("The request body must be a JSON object")
    return body


class SimulatorApp:
    """An ASGI3 app that fakes every provider dialect over HTTP."""

    def __init__(self, timing: Timing, seed: int = 0, max_records: int = 500) -> None:
        self.timing = timing
        self.seed = seed
        self.max_records = max_records
        self.requests: list[RequestRecord] = []
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: lifespan, introspection or a provider request."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            path = scope["path"]
            if path == "/" or path.startswith("/_sim/"):
                await self._introspect(scope, send)
            else:
                await self._provider_request(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _record(self, provider: str, path: str) -> RequestRecord:
        started, started_wall = now()
        record = RequestRecord(next(self._ids), provider, path, started, started_wall)
        self.requests.append(record)
        del self.requests[: -self.max_records]
        return record

    async def _provider_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        provider, _, rest = path.lstrip("/").partition("/")
        ex = Exchange(scope, receive, send, self._record(provider, path))
        raw = await ex.read_body()
        if raw is None:
            ex.mark_ended()
            return
        await run_watched(ex, self._answer(ex, provider, "/" + rest, raw))

    async def _answer(self, ex: Exchange, provider: str, endpoint_path: str, raw: bytes) -> None:
        # An unknown provider has no shape of its own: answer like a generic OpenAI server.
        shape = provider if provider in ROUTES else "openai_compatible"
        try:
            route = ROUTES.get(provider, {}).get(endpoint_path)
            if route is None:
                raise Rejected(f"No such endpoint: {ex.scope['path']}", "not_found")
            if ex.scope["method"] != "POST":
                raise Rejected(f"Method {ex.scope['method']} not allowed", "method")
            if ex.too_large:
                raise Rejected("", "too_large")
            problem = auth_problem(provider, ex.headers)
            ex.record.auth_ok = problem is None
            if problem:
                raise Rejected("", problem)
            body = _parse_json(raw)
            ex.record.body = body
            model = body.get("model")
            ex.record.model = model if isinstance(model, str) else None
            endpoint, handler = route
            await handler(ex, Call(provider, endpoint, body, ex.headers, self.timing, self.seed))
        except Rejected as exc:
            await ex.send_json(*error_response(shape, exc.kind, exc.message))

    async def _introspect(self, scope: Scope, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        payload: Any = {"error": f"No such simulator path: {path}"}
        status = 404
        if path == "/_sim/health":
            status, payload = 200, {"ok": True}
        elif path == "/_sim/requests" and method == "GET":
            status, payload = 200, [asdict(record) for record in self.requests]
        elif path == "/_sim/requests" and method == "DELETE":
            cleared = len(self.requests)
            self.requests.clear()
            status, payload = 200, {"cleared": cleared}
        elif path == "/":
            endpoints = {p: [f"/{p}{route}" for route in ROUTES[p]] for p in ROUTES}
            status, payload = 200, {"simulator": "Prefix Playground", "endpoints": endpoints}
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(
    *,
    tokens_per_second: float = 40.0,
    first_token_delay: float = 0.15,
    seed: int = 0,
    slow_delay: float = 5.0,
    keepalive_interval: float = 1.0,
    silence: float = 120.0,
    max_records: int = 500,
) -> SimulatorApp:
    """Return a simulator app; delays are in seconds, `silence` is how long stalls last."""
    if tokens_per_second <= 0:
        raise ValueError("tokens_per_second must be positive")
    timing = Timing(tokens_per_second, first_token_delay, slow_delay, keepalive_interval, silence)
    return SimulatorApp(timing, seed=seed, max_records=max_records)
