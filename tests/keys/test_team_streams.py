"""Team credentials while runs stream: usage settled, budget reached, members removed mid-stream.

Real streams: the runs app's stream view relays the loopback simulator (tests/runs/conftest.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from playground.accounts.models import Team, User
from playground.keys.models import Credential, TeamUse
from playground.runs import live
from playground.runs.models import Run, Segment
from playground.runs.team_keys import BUDGET_NOTE
from tests.keys.team_helpers import TEAM_KEY, make_team_credential, member_budget
from tests.runs.conftest import Sim, start_run
from tests.streams import read_stream

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]
HANG_GUARD = 60.0


def _sim_team_credential(team: Team, owner: User, sim: Sim) -> Credential:
    return make_team_credential(team, owner, key=TEAM_KEY, base_url=sim.base_url("deepseek"))


async def test_a_finished_column_records_its_tokens_against_member_and_key(
    async_client: Any, team: Team, alice: User, victor: User, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = _sim_team_credential(team, alice, sim)
        return start_run(victor, [(credential, "deepseek-chat")], parameters={"max_tokens": 40})

    run = await setup()
    await async_client.aforce_login(victor)
    await read_stream(async_client, run)

    use = await TeamUse.objects.select_related("credential").aget(run=run)
    segment = await Segment.objects.aget(column__run=run)
    assert use.settled_at is not None and use.status == "done"
    assert use.username == "victor" and use.credential is not None
    assert use.model == "deepseek-chat"
    assert use.output_tokens == segment.output_tokens and use.output_tokens
    assert use.tokens == (segment.input_tokens or 0) + segment.output_tokens
    assert not use.tokens_estimated


async def test_a_stream_that_reaches_the_budget_stops_there_with_its_text(
    async_client: Any, team: Team, alice: User, victor: User, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = _sim_team_credential(team, alice, sim)
        member_budget(team, victor, 120)
        # No max_tokens: the column may write what the budget has left, and a long answer
        # would write far more.
        return start_run(victor, [(credential, "deepseek-chat-long")])

    run = await setup()
    await async_client.aforce_login(victor)
    await read_stream(async_client, run)

    use = await TeamUse.objects.aget(run=run)
    segment = await Segment.objects.aget(column__run=run)
    assert use.output_cap is not None and use.output_cap == 120 - use.input_estimate
    assert segment.finish_reason == "length"
    assert segment.output_tokens == use.output_cap
    assert segment.text  # the text that arrived is kept
    assert BUDGET_NOTE.format(cap=use.output_cap) in segment.notes
    assert use.status == "done" and use.tokens == (segment.input_tokens or 0) + use.output_cap


async def _stream_until_text(async_client: Any, run: Run) -> asyncio.Task[str]:
    """Start reading `run`'s stream; return once its column has received some text."""
    reading = asyncio.ensure_future(read_stream(async_client, run))
    deadline = asyncio.get_running_loop().time() + HANG_GUARD
    while True:
        streams = [s for s in live.streams() if s.code == str(run.code)]
        if streams and streams[0].relay.outcomes[0].char_count > 0:
            return reading
        assert not reading.done(), "the stream ended before any text arrived"
        assert asyncio.get_running_loop().time() < deadline, "no text arrived"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("how", ["member removed", "key deleted"])
async def test_a_column_in_flight_stops_when_its_use_ends(
    async_client: Any, team: Team, alice: User, victor: User, sim: Sim, how: str
) -> None:
    @sync_to_async
    def setup() -> tuple[Run, Credential]:
        credential = _sim_team_credential(team, alice, sim)
        # About 2,000 tokens at 40 a second: still streaming when the use ends.
        run = start_run(victor, [(credential, "deepseek-chat-long-tps40")])
        return run, credential

    run, credential = await setup()
    await async_client.aforce_login(victor)
    reading = await _stream_until_text(async_client, run)

    @sync_to_async
    def end_use() -> None:
        if how == "member removed":
            team.remove_member(team.memberships.get(user=victor))
        else:
            Credential.objects.get(pk=credential.pk).delete()

    await end_use()
    stream = await asyncio.wait_for(reading, HANG_GUARD)

    segment = await Segment.objects.aget(column__run=run)
    use = await TeamUse.objects.aget(run_code=run.code)
    assert segment.status == "stopped"
    assert segment.text and len(segment.text) < 4000  # cut short, what arrived kept
    assert "col-0-end" in stream
    assert use.status == "stopped" and use.settled_at is not None
    assert TEAM_KEY not in stream


async def test_a_removed_members_waiting_column_is_not_sent(
    async_client: Any, team: Team, alice: User, victor: User, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = _sim_team_credential(team, alice, sim)
        run = start_run(victor, [(credential, "deepseek-chat")])
        team.remove_member(team.memberships.get(user=victor))
        return run

    run = await setup()
    await async_client.aforce_login(victor)
    stream = await read_stream(async_client, run)

    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "skipped"
    assert "no longer a member" in segment.error_message
    assert "no longer a member" in stream
    assert segment.request_dump is None  # nothing was sent
    use = await TeamUse.objects.aget(run_code=run.code)
    assert use.tokens == 0 and not use.started
