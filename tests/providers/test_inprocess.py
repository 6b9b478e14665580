"""The in-process streaming transport: an ASGI app answers httpx with no socket and no DNS.

Every wait here is for a condition (an event the app sets, a chunk arriving); none is timed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from playground.providers import CompletionRequest, Finish, Target, TextDelta, Turn, inprocess
from playground.providers.client import stream_completion
from playground.providers.errors import ErrorKind, ProviderError
from playground.providers.inprocess import (
    SIMULATOR_ORIGIN,
    StreamingASGITransport,
    routes_in_process,
    simulator_mounts,
)

pytestmark = pytest.mark.anyio

ORIGIN = "http://app.internal"
HANG_GUARD = 30  # seconds: only ever reached when something hangs


class SteppedApp:
    """Sends one chunk per step the test allows, and records what it saw."""

    def __init__(self) -> None:
        self.step = asyncio.Semaphore(0)
        self.received: list[dict[str, Any]] = []
        self.scope: dict[str, Any] = {}
        self.sent = 0
        self.ended = asyncio.Event()
        self.send_error: BaseException | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        try:
            self.received.append(await receive())
            await send({"type": "http.response.start", "status": 200, "headers": []})
            watcher = asyncio.ensure_future(receive())
            while True:
                stepped = asyncio.ensure_future(self.step.acquire())
                done, _ = await asyncio.wait(
                    {stepped, watcher}, return_when=asyncio.FIRST_COMPLETED
                )
                if watcher in done:
                    stepped.cancel()
                    self.received.append(watcher.result())
                    try:
                        await send(
                            {"type": "http.response.body", "body": b"late", "more_body": True}
                        )
                    except OSError as error:
                        self.send_error = error
                    return
                self.sent += 1
                last = self.sent == 3
                body = f"chunk {self.sent};".encode()
                await send({"type": "http.response.body", "body": body, "more_body": not last})
                if last:
                    watcher.cancel()
                    return
        finally:
            self.ended.set()


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(mounts={ORIGIN: StreamingASGITransport(app)})


async def test_it_hands_over_each_chunk_as_the_app_sends_it() -> None:
    app = SteppedApp()
    async with asyncio.timeout(HANG_GUARD), client_for(app) as client:
        request = client.build_request(
            "POST", f"{ORIGIN}/some/path%20x?a=1", json={"hello": "world"}, headers={"X-Y": "z"}
        )
        response = await client.send(request, stream=True)
        assert response.status_code == 200
        chunks = response.aiter_bytes()
        for number in (1, 2, 3):
            app.step.release()  # the app may send one more chunk, and no more
            assert await anext(chunks) == f"chunk {number};".encode()
            assert app.sent == number  # it arrived before the app sent the next one
        with pytest.raises(StopAsyncIteration):
            await anext(chunks)
        await response.aclose()

    assert app.scope["path"] == "/some/path x" and app.scope["query_string"] == b"a=1"
    assert app.scope["method"] == "POST" and (b"x-y", b"z") in app.scope["headers"]
    assert app.received[0] == {
        "type": "http.request",
        "body": b'{"hello":"world"}',
        "more_body": False,
    }


async def test_closing_early_tells_the_app_the_client_left_and_ends_it() -> None:
    app = SteppedApp()
    async with asyncio.timeout(HANG_GUARD), client_for(app) as client:
        async with client.stream("GET", f"{ORIGIN}/") as response:
            app.step.release()
            async for chunk in response.aiter_bytes():
                assert chunk == b"chunk 1;"
                break
        # Leaving the block closed the response; by then the app had ended.
        assert app.ended.is_set()

    assert app.received[-1] == {"type": "http.disconnect"}
    assert isinstance(app.send_error, OSError)  # a send after the client left fails


async def test_an_app_that_ignores_the_disconnect_is_ended_anyway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inprocess, "DISCONNECT_GRACE", 0.05)
    cancelled = asyncio.Event()

    async def deaf(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello", "more_body": True})
        try:
            await asyncio.Event().wait()  # never reads http.disconnect
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with asyncio.timeout(HANG_GUARD), client_for(deaf) as client:
        async with client.stream("GET", f"{ORIGIN}/") as response:
            async for chunk in response.aiter_bytes():
                assert chunk == b"hello"
                break
        assert cancelled.is_set()  # closing the response ended the app's task


async def test_an_app_that_fails_before_answering_gives_a_500() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async with asyncio.timeout(HANG_GUARD), client_for(broken) as client:
        response = await client.get(f"{ORIGIN}/")

    assert response.status_code == 500 and response.text == "Internal Server Error"


async def test_an_app_that_stops_mid_body_breaks_the_read_like_a_dropped_connection() -> None:
    async def cut(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})

    async with (
        asyncio.timeout(HANG_GUARD),
        client_for(cut) as client,
        client.stream("GET", f"{ORIGIN}/") as response,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()


async def test_a_deadline_before_the_status_line_cancels_the_app() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def give_up_once_started(task: asyncio.Task[Any]) -> None:
        await started.wait()
        task.cancel()

    async with asyncio.timeout(HANG_GUARD), client_for(silent) as client:
        request = asyncio.ensure_future(client.get(f"{ORIGIN}/"))
        await give_up_once_started(request)
        with pytest.raises(asyncio.CancelledError):
            await request
        await cancelled.wait()


async def test_it_routes_only_the_mounted_origin_in_process() -> None:
    async with (
        httpx.AsyncClient(mounts=simulator_mounts()) as mounted,
        httpx.AsyncClient() as plain,
    ):
        assert routes_in_process(mounted, f"{SIMULATOR_ORIGIN}/deepseek/beta/chat/completions")
        assert not routes_in_process(mounted, "https://simulator.internal/deepseek/beta")
        assert not routes_in_process(mounted, "https://api.deepseek.com/beta/chat/completions")
        assert not routes_in_process(mounted, "http://127.0.0.1:8000/sim/deepseek")
        assert not routes_in_process(plain, f"{SIMULATOR_ORIGIN}/deepseek/beta")
        assert not routes_in_process(mounted, "http://[not a url")


REQUEST = CompletionRequest(
    model="deepseek-chat",
    turns=(Turn("user", "Write a quick sort."),),
    prefix="```python\n",
    max_tokens=24,
)


async def _events(client: httpx.AsyncClient, base_url: str) -> list[Any]:
    target = Target("deepseek", base_url, "sim-inprocess-test")
    return [e async for e in stream_completion(client, target, REQUEST, allow_private=False)]


async def test_the_provider_layer_streams_from_the_in_process_simulator_with_private_urls_off() -> (
    None
):
    async with asyncio.timeout(HANG_GUARD), httpx.AsyncClient(mounts=simulator_mounts()) as client:
        events = await _events(client, f"{SIMULATOR_ORIGIN}/deepseek/beta")

    assert any(isinstance(e, TextDelta) and e.text for e in events)
    assert isinstance(events[-1], Finish)


async def test_the_reserved_host_gets_the_usual_policy_where_nothing_is_mounted() -> None:
    async with asyncio.timeout(HANG_GUARD), httpx.AsyncClient() as client:
        events = await _events(client, f"{SIMULATOR_ORIGIN}/deepseek/beta")

    assert isinstance(events[-1], ProviderError)
    assert events[-1].kind == ErrorKind.UNSAFE_URL and len(events) == 1
