"""Blind mode's canary: a blind run over the real simulator, one column failing with its
provider's own error, read as its owner's page and event stream. Before the owner's verdict
no provider name, model name, credential label or base URL appears anywhere; after it they do
(docs/verdicts.md)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from playground.accounts.models import User
from playground.providers.prompt import Prompt
from playground.runs.models import Run
from tests.runs.conftest import Sim, make_sim_credential
from tests.streams import body_of, event_names, frames

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]

TARGETS = [
    ("deepseek", "deepseek-chat", "Canary-Label-Whale"),
    ("mistral", "mistral-small-latest-fault-500", "Canary-Label-Wind"),
    ("anthropic", "claude-haiku-4-5", "Canary-Label-Poem"),
]
HX = {"HX-Request": "true"}


def canaries(sim: Sim) -> list[str]:
    """Return every name blind mode must keep out of a page, lower-cased."""
    names = ["deepseek", "mistral", "anthropic", "claude", "haiku", "simulator"]
    for provider, model, label in TARGETS:
        names += [model, label, sim.base_url(provider)]
    return [name.lower() for name in names]


def leaks(text: str, sim: Sim) -> list[str]:
    lowered = text.lower()
    return [name for name in canaries(sim) if name in lowered]


@sync_to_async
def start_blind_run(user: User, sim: Sim) -> Run:
    targets = [
        {
            "credential": make_sim_credential(user, sim, provider, label=label),
            "model": model,
            "overrides": {},
        }
        for provider, model, label in TARGETS
    ]
    prompt = Prompt.from_json(
        {"turns": [{"role": "user", "content": "Tell a story.", "images": []}], "prefix": "Once"}
    )
    return Run.objects.start(user=user, prompt=prompt, targets=targets, blind=True)


async def test_a_blind_run_names_nothing_until_the_verdict(
    async_client: Any, alice: User, sim: Sim
) -> None:
    await sync_to_async(async_client.force_login)(alice)
    run = await start_blind_run(alice, sim)

    running_page = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    assert "Column A" in running_page and "Column C" in running_page
    assert leaks(running_page, sim) == []

    streamed = await body_of(await async_client.get(f"/runs/{run.code}/stream/"))
    names = event_names(streamed)
    assert names[-1] == "run-done"
    assert {f"col-{p}-end" for p in range(3)} <= set(names)
    assert any(frame.event.endswith("-text") and frame.data for frame in frames(streamed))
    assert any("alert-error" in frame.data for frame in frames(streamed)), "one column failed"
    assert leaks(streamed, sim) == []

    for url in (f"/runs/{run.code}/", "/runs/history/", f"/runs/?run={run.code}&use=0"):
        page = (await async_client.get(url)).content.decode()
        if url.startswith("/runs/?"):
            # The compare form lists the run's keys and models to run them again (in an order
            # that says nothing of the columns'); the page shows no column of the run.
            assert "Column A" not in page
            continue
        assert leaks(page, sim) == [], url
    replayed = await body_of(await async_client.get(f"/runs/{run.code}/stream/"))
    assert "run-done" in event_names(replayed)
    assert leaks(replayed, sim) == []

    verdict = await async_client.post(f"/runs/{run.code}/verdict/", {"rank-0": "1"}, headers=HX)
    assert verdict.status_code == 200 and verdict["HX-Redirect"] == f"/runs/{run.code}/"

    revealed = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    missing = [name for name in canaries(sim) if name not in revealed.lower()]
    # The base URLs show only in Inspect and View code, which now open; these keys are not the
    # built-in simulator's, so no "Simulator" badge either.
    assert all(name.startswith("http") or name == "simulator" for name in missing), missing
    assert "1st</span> Column" in revealed
    inspect = await async_client.get(f"/runs/{run.code}/columns/0/inspect/")
    assert inspect.status_code == 200
    replayed = await body_of(await async_client.get(f"/runs/{run.code}/stream/"))
    assert "mistral" in replayed.lower(), "the provider's own error message, now shown"
    history = (await async_client.get("/runs/history/")).content.decode()
    assert "claude-haiku-4-5" in history and "Blind ·" not in history


async def test_each_reader_of_a_replay_sees_names_only_after_their_own_verdict(
    alice: User, bob: User, sim: Sim
) -> None:
    from playground.accounts.models import Team
    from playground.runs.replay import replay_frames
    from playground.runs.verdicts import Verdict

    run = await start_blind_run(alice, sim)

    @sync_to_async
    def finish_and_share() -> None:
        from playground.runs.models import Segment

        Segment.objects.filter(column__run=run).update(
            status="error", error_kind="server", error_message="Mistral said no"
        )
        run.refresh_status()
        run.team = Team.objects.get(name="Acme")
        run.save()
        Verdict.objects.record(run, bob, [0])

    async def replay(viewer_id: int | None) -> str:
        frames = await sync_to_async(replay_frames)(run.pk, viewer_id)
        return "".join([frame async for frame in frames])

    await finish_and_share()
    assert "Mistral said no" in await replay(bob.pk)
    assert "Mistral said no" not in await replay(alice.pk)
    assert "Mistral said no" not in await replay(None)  # the owner, who has not judged it
