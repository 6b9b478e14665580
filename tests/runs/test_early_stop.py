"""A Stop pressed while a stream is still claiming its segments reaches its relay."""

from __future__ import annotations

import threading

import httpx
import pytest

from playground.runs import live
from playground.runs.relay import RunRelay
from tests.runs.conftest import Sim
from tests.runs.test_relay import PlainRenderer, _job


@pytest.mark.anyio
async def test_a_stop_before_the_relay_exists_stops_it_once_it_does(sim: Sim) -> None:
    code = "early-stop-under-test"
    seen_before = len(sim.app.requests)
    waiting = live.opening(code)
    # The Stop view runs on a worker thread: press it from one.
    pressed: list[bool] = []
    presser = threading.Thread(target=lambda: pressed.append(live.stop_here(code, {1})))
    presser.start()
    presser.join()
    assert pressed == [True]  # the opening counts as found: the Stop is kept, not dropped

    async with httpx.AsyncClient() as client:
        relay = RunRelay(
            lambda: client,
            [_job(sim, "deepseek-chat-tps20", 0), _job(sim, "deepseek-chat", 1)],
            PlainRenderer(),
            allow_private=True,
        )
        stream = live.LiveStream(code, relay, None)  # type: ignore[arg-type]
        live.register(stream, waiting)
        try:
            assert live.stop_here(code, {0})  # a later Stop goes to the registered stream
            frames = [frame async for frame in relay.frames()]
        finally:
            live.unregister(stream)

    assert frames[-1].startswith("event: run-done")
    # Column 1 was stopped before it was ever sent; column 0 by the later Stop.
    assert relay.outcomes[1].stopped and not relay.outcomes[1].text
    assert relay.outcomes[0].stopped
    sent = sim.app.requests[seen_before:]
    assert not [r for r in sent if r.model == "deepseek-chat"]  # never sent at all
    live.close_opening(waiting)  # idempotent once registered
    assert not live.stop_here(code)  # nothing of that run is left here


@pytest.mark.anyio
async def test_an_opening_that_never_streams_keeps_nothing() -> None:
    code = "never-streams-under-test"
    waiting = live.opening(code)
    assert live.stop_here(code)
    live.close_opening(waiting)
    assert not live.stop_here(code)
