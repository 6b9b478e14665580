"""The relay returns every upstream connection to the pool, and Stop runs on the relay's loop.

Hundreds of short columns go through `RunRelay` over loopback to the simulator, ending every way
a column can end (finished, failed mid-stream, refused with 429, cut, stopped, abandoned by the
browser); afterwards the pool has nothing checked out. Before the relay let finished producers
close their responses, most of them stayed checked out until the pool was exhausted.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from playground.http import build_client
from playground.providers import CompletionRequest, Target, Turn
from playground.runs.relay import ColumnJob, ColumnOutcome, RunRelay
from playground.runs.status import SegmentStatus
from tests.runs.conftest import SIM_KEY, Sim, pool_in_use_once_settled

pytestmark = pytest.mark.anyio

RUNS = 100  # x 3 columns = 300 upstream streams per transport


class PlainRenderer:
    def metrics(self, outcome: ColumnOutcome) -> str:
        return ""

    def end(self, outcome: ColumnOutcome) -> str:
        return SegmentStatus.of_outcome(outcome)

    def done(self, outcomes: list[ColumnOutcome]) -> str:
        return "done"


def _job(sim: Sim, model: str, index: int) -> ColumnJob:
    target = Target(provider="deepseek", base_url=sim.base_url("deepseek"), api_key=SIM_KEY)
    request = CompletionRequest(
        model=model, prefix="Once", turns=(Turn("user", "Say a little."),), max_tokens=12
    )
    return ColumnJob(index, target, request)


# Every way a column ends: plain finish, mid-stream error, 429 before streaming, cut stream.
MODELS = (
    "deepseek-chat",
    "deepseek-chat-fault-midstream",
    "deepseek-chat-fault-429",
    "deepseek-chat-fault-cut",
)


async def _run_one(client: httpx.AsyncClient, sim: Sim, n: int) -> str:
    """Stream one three-column run; every fourth run is stopped, every fourth abandoned."""
    jobs = [_job(sim, MODELS[(n + i) % len(MODELS)], i) for i in range(3)]
    relay = RunRelay(lambda: client, jobs, PlainRenderer(), allow_private=True, coalesce=0)
    frames = relay.frames()
    way = ("finish", "stop", "abandon", "finish")[n % 4]
    text_seen = 0
    try:
        async for frame in frames:
            if "-text" in frame:
                text_seen += 1
            if way == "stop" and text_seen == 2:
                relay.request_stop()
            if way == "abandon" and text_seen == 2:
                break  # the browser went away mid-stream
    finally:
        await frames.aclose()
    assert all(outcome.done for outcome in relay.outcomes.values())
    # A producer whose column ended by itself was left to close its response, never cancelled
    # mid-close (with httpx's own transport that stranded the connection for good).
    ended_by_themselves = [
        index for index, outcome in relay.outcomes.items() if not outcome.stopped
    ]
    assert not any(relay._tasks[index].cancelled() for index in ended_by_themselves)
    return way


async def _drive(client: httpx.AsyncClient, sim: Sim) -> dict[str, int]:
    ways: dict[str, int] = {}
    for start in range(0, RUNS, 10):  # ten runs at a time, like a busy process
        done = await asyncio.gather(*(_run_one(client, sim, n) for n in range(start, start + 10)))
        for way in done:
            ways[way] = ways.get(way, 0) + 1
    return ways


async def test_no_connection_stays_checked_out_after_hundreds_of_columns(sim: Sim) -> None:
    # The site's client. (httpx's default httpcore transport still strands about one connection
    # in 300 here, when a Stop cancels a request still waiting for its headers; the site does
    # not use it, see playground/http.py.)
    client = build_client(allow_private=True)
    async with client:
        # A hang guard, not a timing: a leaking relay exhausts the pool and every later
        # column waits for a free connection.
        async with asyncio.timeout(300):
            ways = await _drive(client, sim)
        assert await pool_in_use_once_settled(client) == 0
    assert ways == {"finish": RUNS // 2, "stop": RUNS // 4, "abandon": RUNS // 4}


async def test_stop_from_a_worker_thread_runs_on_the_relays_own_loop(sim: Sim) -> None:
    """The Stop view runs in a thread; asyncio debug mode raises if it touches the loop's tasks."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    errors: list[BaseException] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")))
    try:
        async with build_client(allow_private=True) as client:
            jobs = [_job(sim, "deepseek-chat-long-tps50", i) for i in range(3)]
            relay = RunRelay(lambda: client, jobs, PlainRenderer(), allow_private=True)
            seen = 0
            async for frame in relay.frames():
                if "-text" in frame:
                    seen += 1
                    if seen == 3:
                        stopper = threading.Thread(target=_stop_in_thread, args=(relay, errors))
                        stopper.start()
                        await asyncio.to_thread(stopper.join)
            assert await pool_in_use_once_settled(client) == 0
    finally:
        loop.set_exception_handler(previous)
        loop.set_debug(False)
    assert errors == []
    assert [SegmentStatus.of_outcome(o) for o in relay.outcomes.values()] == ["stopped"] * 3
    assert all(o.text for o in relay.outcomes.values())  # what had arrived is kept


def _stop_in_thread(relay: RunRelay, errors: list[BaseException]) -> None:
    try:
        relay.request_stop()
    except BaseException as error:  # noqa: BLE001 - reported by the test
        errors.append(error)


async def test_a_thread_touching_the_loop_directly_is_caught_by_debug_mode() -> None:
    """The check above can fail: scheduling on the loop from a thread raises in debug mode.

    (Cancelling a task from a thread goes through the same `call_soon`.)
    """
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    caught: list[BaseException] = []

    def schedule_in_thread() -> None:
        try:
            loop.call_soon(lambda: None)
        except RuntimeError as error:
            caught.append(error)

    try:
        await asyncio.to_thread(schedule_in_thread)
    finally:
        loop.set_debug(False)
    assert caught and "thread" in str(caught[0]).lower()
