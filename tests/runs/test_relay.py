"""The relay on its own (no Django view): SSE framing, keep-alives, coalescing, deadlines."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from playground.providers import CompletionRequest, Deadlines, Target, Turn
from playground.runs.relay import ColumnJob, ColumnOutcome, RunRelay, escape_text, format_event
from playground.runs.status import SegmentStatus
from tests.runs.conftest import SIM_KEY, Sim


def test_it_frames_multi_line_data_so_eventsource_rebuilds_it() -> None:
    frame = format_event("col-0-text", "a\nb\r\nc\rd")
    assert frame == "event: col-0-text\ndata: a\ndata: b\ndata: c&#13;d\n\n"
    assert format_event("x", " leading space\n") == "event: x\ndata:  leading space\ndata: \n\n"
    assert escape_text("<script>&") == "&lt;script&gt;&amp;"


class PlainRenderer:
    def metrics(self, outcome: ColumnOutcome) -> str:
        return f"chars={outcome.char_count}"

    def end(self, outcome: ColumnOutcome) -> str:
        return SegmentStatus.of_outcome(outcome)

    def done(self, outcomes: list[ColumnOutcome]) -> str:
        return "done"


def _job(sim: Sim, model: str, index: int = 0) -> ColumnJob:
    target = Target(provider="deepseek", base_url=sim.base_url("deepseek"), api_key=SIM_KEY)
    request = CompletionRequest(
        model=model, prefix="Once upon a time", turns=(Turn("user", "A story."),)
    )
    return ColumnJob(index, target, request)


def _relay(client: httpx.AsyncClient, sim: Sim, *models: str, **options: Any) -> RunRelay:
    """Return a relay with one column per simulator model, plainly rendered."""
    jobs = [_job(sim, model, index) for index, model in enumerate(models)]
    return RunRelay(lambda: client, jobs, PlainRenderer(), allow_private=True, **options)


async def _frames(relay: RunRelay) -> list[str]:
    return [frame async for frame in relay.frames()]


@pytest.mark.anyio
async def test_it_sends_keepalives_in_silence_and_gives_up_on_a_silent_provider(
    sim: Sim,
) -> None:
    async with httpx.AsyncClient() as client:
        relay = _relay(
            client,
            sim,
            "deepseek-chat-fault-silent",
            deadlines=Deadlines(first_token=0.8, stall=0.8, total=5),
            keepalive=0.2,
        )
        frames = await _frames(relay)
    assert frames[0].startswith(": open")
    assert frames.count(": ka\n\n") >= 2
    outcome = relay.outcomes[0]
    assert SegmentStatus.of_outcome(outcome) == "error" and outcome.error is not None
    assert outcome.error.kind == "first_token_timeout"
    assert frames[-1] == "event: run-done\ndata: done\n\n"


@pytest.mark.anyio
async def test_it_coalesces_many_small_deltas_into_fewer_frames(sim: Sim) -> None:
    async def count_text_frames(coalesce: float) -> tuple[int, int]:
        async with httpx.AsyncClient() as client:
            relay = _relay(client, sim, "deepseek-chat-tps200", coalesce=coalesce)
            frames = await _frames(relay)
        text_frames = sum(1 for frame in frames if frame.startswith("event: col-0-text"))
        return text_frames, len(relay.outcomes[0].text)

    eager_frames, deltas = await count_text_frames(0.0)
    lazy_frames, _ = await count_text_frames(0.25)
    assert eager_frames >= deltas * 0.8  # about one frame per delta
    assert lazy_frames <= eager_frames / 3


@pytest.mark.anyio
async def test_it_ends_every_column_even_if_stopped_before_it_started(sim: Sim) -> None:
    async with httpx.AsyncClient() as client:
        relay = _relay(client, sim, "deepseek-chat-tps20", "deepseek-chat-tps20")
        frames: list[Any] = []
        async for frame in relay.frames():
            frames.append(frame)
            if frame.startswith(": open"):
                relay.stop()  # before any producer task has run
    assert [SegmentStatus.of_outcome(o) for o in relay.outcomes.values()] == ["stopped", "stopped"]
    assert frames[-1].startswith("event: run-done")


@pytest.mark.anyio
async def test_text_the_throttle_holds_goes_out_when_the_provider_falls_silent(sim: Sim) -> None:
    # Fast deltas, then the provider stalls: what the throttle held when the deltas stopped
    # must go out at the end of the throttle interval (the relay's wake-up), not wait for the
    # stall deadline to end the column.
    async with httpx.AsyncClient() as client:
        relay = _relay(
            client,
            sim,
            "deepseek-chat-tps400-fault-stall",
            deadlines=Deadlines(first_token=5, stall=1.5, total=10),
            coalesce=0.2,
        )
        arrivals = [(time.monotonic(), frame) async for frame in relay.frames()]
    text_at = [at for at, frame in arrivals if "event: col-0-text" in frame]
    end_at = next(at for at, frame in arrivals if "event: col-0-end" in frame)
    assert relay.outcomes[0].error is not None and relay.outcomes[0].error.kind == "stalled"
    assert end_at - text_at[-1] > 1.0  # the last text went out long before the stall ended it
