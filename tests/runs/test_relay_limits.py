"""The relay's bounds: output per column is capped, and the column's own key never goes out."""

from __future__ import annotations

import pytest

from playground.http import build_client
from playground.providers import CompletionRequest, Target, TextDelta, Turn
from playground.runs.relay import ColumnJob, ColumnOutcome, RunRelay, _key_tail
from playground.runs.status import SegmentStatus
from tests.runs.conftest import SIM_KEY, Sim, pool_in_use_once_settled


class PlainRenderer:
    def metrics(self, outcome: ColumnOutcome) -> str:
        return ""

    def end(self, outcome: ColumnOutcome) -> str:
        return SegmentStatus.of_outcome(outcome)

    def done(self, outcomes: list[ColumnOutcome]) -> str:
        return "done"


def _job(sim: Sim | None, model: str, key: str = SIM_KEY) -> ColumnJob:
    base = sim.base_url("deepseek") if sim else "http://127.0.0.1:9/v1"
    target = Target(provider="deepseek", base_url=base, api_key=key)
    request = CompletionRequest(model=model, prefix="Once", turns=(Turn("user", "A story."),))
    return ColumnJob(0, target, request)


@pytest.mark.anyio
async def test_a_column_ends_at_the_output_limit_keeping_its_text_and_closing_upstream(
    sim: Sim,
) -> None:
    async with build_client(allow_private=True) as client:
        relay = RunRelay(
            lambda: client,
            [_job(sim, "deepseek-chat-long-tps400")],
            PlainRenderer(),
            allow_private=True,
            max_output_chars=300,
        )
        frames = [frame async for frame in relay.frames()]
        assert await pool_in_use_once_settled(client) == 0
    outcome = relay.outcomes[0]
    assert outcome.limited and SegmentStatus.of_outcome(outcome) == "done"
    assert outcome.finish is not None and outcome.finish.raw_reason == "output_limit"
    assert outcome.char_count == len("".join(outcome.text)) == 300
    sent = "".join(f for f in frames if f.startswith("event: col-0-text"))
    assert sent.count("data: ") >= 1 and frames[-1].startswith("event: run-done")


KEY = "sim-secret-key-0123456789abcdef"


def test_the_key_is_scrubbed_from_live_frames_even_when_split_over_deltas() -> None:
    relay = RunRelay(lambda: None, [_job(None, "m", key=KEY)], PlainRenderer())  # type: ignore[arg-type, return-value]
    relay._apply(0, TextDelta("Your key is sim-secret-"))
    first = relay._flush(0, force=False)
    assert "Your key is " in first and "sim-secret" not in first  # the tail waits
    relay._apply(0, TextDelta("key-0123456789abcdef, keep it safe."))
    second = relay._flush(0, force=True)
    sent = first + second
    assert KEY not in sent and "0123456789" not in sent
    assert "[key]" in sent and "keep it safe." in sent
    assert relay.outcomes[0].secret_removed


def test_text_that_merely_resembles_the_start_of_a_key_is_only_briefly_held() -> None:
    assert _key_tail("The answer is sim", KEY) == 0  # under four characters: sent at once
    assert _key_tail("call sim-s", KEY) == 5
    assert _key_tail("nothing here", KEY) == 0
    relay = RunRelay(lambda: None, [_job(None, "m", key=KEY)], PlainRenderer())  # type: ignore[arg-type, return-value]
    relay._apply(0, TextDelta("It costs sim-"))
    relay._apply(0, TextDelta("plicity."))
    sent = relay._flush(0, force=False)
    assert "It costs sim-plicity." in sent and not relay.outcomes[0].secret_removed
