"""Closing the page or pressing Stop cancels the upstream requests and keeps what arrived."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from playground.runs.models import Run, RunStatus, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import AsgiStream, event_names, read_stream, session_cookie
from tests.waiting import HANG_GUARD

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]

SLOW_MODEL = "deepseek-chat-tps20"


async def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_it_cancels_upstream_when_the_browser_disconnects(alice: Any, sim: Sim) -> None:
    @sync_to_async
    def setup() -> tuple[Run, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, SLOW_MODEL)], prefix="Once upon a time")
        return run, session_cookie(alice)

    run, cookie = await setup()
    stream = AsgiStream(run, cookie)
    assert await stream.open(HANG_GUARD) == 200
    await stream.read_until_count("col-0-text", 2, HANG_GUARD)

    closed_at = time.monotonic()
    await stream.disconnect(HANG_GUARD)

    record = next(r for r in reversed(sim.app.requests) if r.model == SLOW_MODEL)

    async def disconnected() -> bool:
        return record.disconnected_at is not None

    # Without the cancellation the stream would run to its end, recorded completed, never
    # disconnected. How soon it is cancelled is for bench/, not asserted on a busy machine.
    assert await _wait_for(disconnected, HANG_GUARD), "the simulator never saw the disconnect"
    assert record.disconnected_at is not None and record.disconnected_at >= closed_at
    assert not record.completed

    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "stopped"
    assert segment.text  # what had arrived is kept
    run = await Run.objects.aget(pk=run.pk)
    assert run.status == RunStatus.STOPPED


async def test_it_stops_one_column_and_lets_the_others_finish(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        slow = make_sim_credential(alice, sim, "deepseek")
        fast = make_sim_credential(alice, sim, "dashscope")
        return start_run(alice, [(slow, SLOW_MODEL), (fast, "qwen-plus")], prefix="Dear diary,")

    run = await setup()
    await async_client.aforce_login(alice)

    reading = asyncio.create_task(read_stream(async_client, run))

    async def streaming() -> bool:
        return await Segment.objects.filter(column__run=run, status="running").acount() == 2

    assert await _wait_for(streaming, HANG_GUARD)
    await asyncio.sleep(0.3)
    response = await async_client.post(
        f"/runs/{run.code}/columns/0/stop/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    body = await asyncio.wait_for(reading, HANG_GUARD)

    segments = [
        s async for s in Segment.objects.filter(column__run=run).order_by("column__position")
    ]
    assert [s.status for s in segments] == ["stopped", "done"]
    assert segments[0].text
    events = event_names(body)
    assert events[-1] == "run-done"
    assert "col-0-end" in events and "col-1-end" in events
    run = await Run.objects.aget(pk=run.pk)
    assert run.status == RunStatus.STOPPED


async def test_it_never_leaves_a_segment_running_when_the_browser_leaves_during_planning(
    alice: Any, sim: Sim, monkeypatch: Any
) -> None:
    from playground.runs import streaming

    real_plan = streaming.plan_stream

    def slow_plan(run_pk: int, viewer_id: int | None = None) -> Any:
        time.sleep(0.3)  # widen the window between the first byte and the claim
        return real_plan(run_pk, viewer_id)

    monkeypatch.setattr(streaming, "plan_stream", slow_plan)

    @sync_to_async
    def setup() -> tuple[Run, str]:
        credential = make_sim_credential(alice, sim, "deepseek")
        run = start_run(alice, [(credential, SLOW_MODEL)], prefix="Once upon a time")
        return run, session_cookie(alice)

    run, cookie = await setup()
    calls = len(sim.app.requests)
    stream = AsgiStream(run, cookie)
    assert await stream.open(HANG_GUARD) == 200
    await stream.receive(HANG_GUARD)
    assert stream.body.startswith(b": open")
    await stream.disconnect(HANG_GUARD)

    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "stopped"
    assert (await Run.objects.aget(pk=run.pk)).status == RunStatus.STOPPED
    assert len(sim.app.requests) == calls  # nothing was sent upstream
