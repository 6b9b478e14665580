"""The run's event stream, read through Django's async test client over the real simulator."""

from __future__ import annotations

import html
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from playground.runs.models import Run, RunStatus, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import body_of, column_text, data_of, event_names

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]


async def _read(async_client: Any, run: Run) -> str:
    response = await async_client.get(f"/runs/{run.code}/stream/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    # no-store: every response to a signed-in user (playground/accounts/middleware.py).
    assert {"no-cache", "no-store"} <= set(response["Cache-Control"].split(", "))
    return await body_of(response)


async def test_it_streams_every_column_in_order_and_saves_them(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        deepseek = make_sim_credential(alice, sim, "deepseek")
        mistral = make_sim_credential(alice, sim, "mistral")
        return start_run(alice, [(deepseek, "deepseek-chat"), (mistral, "mistral-small-latest")])

    run = await setup()
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    assert body.startswith(": open\n\n")
    events = event_names(body)
    assert events[-1] == "run-done"
    for position in (0, 1):
        names = [name for name in events if name.startswith(f"col-{position}-")]
        assert names[0] == f"col-{position}-text"
        assert names[-1] == f"col-{position}-end"
        assert names.count(f"col-{position}-end") == 1

    @sync_to_async
    def saved() -> tuple[Run, list[Segment]]:
        run.refresh_from_db()
        return run, list(Segment.objects.filter(column__run=run).order_by("column__position"))

    run, segments = await saved()
    assert run.status == RunStatus.DONE
    for position, segment in enumerate(segments):
        assert segment.status == "done"
        assert segment.text.startswith("def ") or segment.text.startswith("\n")
        assert "```" in segment.text  # the simulator closes the fence it was given
        assert segment.text == column_text(body, position)
        assert segment.input_tokens and segment.output_tokens
        assert segment.ttft_ms is not None and segment.elapsed_ms >= segment.ttft_ms


async def test_it_sends_model_markup_as_text(async_client: Any, alice: Any, sim: Sim) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, "deepseek-chat")], prefix="```html\n")

    run = await setup()
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    streamed = data_of(body, "col-0-text")
    assert "&lt;script&gt;" in streamed
    assert "<script>" not in streamed
    segment = await Segment.objects.aget(column__run=run)
    assert "<script>" in segment.text  # saved as the model wrote it; escaped only on the way out


async def test_it_replays_a_finished_run_without_calling_the_provider(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "dashscope")
        return start_run(alice, [(credential, "qwen-plus")], prefix="Once upon a time")

    run = await setup()
    await async_client.aforce_login(alice)
    await _read(async_client, run)
    calls = len(sim.app.requests)

    replay = await _read(async_client, run)

    assert len(sim.app.requests) == calls
    events = event_names(replay)
    assert events == ["col-0-body", "col-0-metrics", "col-0-end", "run-done"]
    segment = await Segment.objects.aget(column__run=run)
    assert html.unescape(data_of(replay, "col-0-body")).count(segment.text.strip()[:40]) == 1


async def test_it_keeps_errors_in_their_own_column(async_client: Any, alice: Any, sim: Sim) -> None:
    @sync_to_async
    def setup() -> Run:
        good = make_sim_credential(alice, sim, "deepseek")
        bad = make_sim_credential(alice, sim, "moonshot")
        broken = make_sim_credential(alice, sim, "deepseek", label="second")
        return start_run(
            alice,
            [
                (good, "deepseek-chat"),
                (bad, "kimi-k2.5-fault-429"),
                (broken, "deepseek-chat-fault-midstream"),
            ],
            prefix="The secret of a good prefix is",
        )

    run = await setup()
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    segments = [
        s async for s in Segment.objects.filter(column__run=run).order_by("column__position")
    ]
    assert [s.status for s in segments] == ["done", "error", "error"]
    assert segments[1].error_kind == "rate_limit"
    assert "rate" in segments[1].error_message.lower()
    # The mid-stream failure keeps what had arrived before it.
    assert segments[2].text
    assert segments[2].text == column_text(body, 2)
    assert "Failed" in data_of(body, "col-2-end")


async def test_it_says_how_many_columns_failed_on_the_run_and_in_history(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        deepseek = make_sim_credential(alice, sim, "deepseek")
        moonshot = make_sim_credential(alice, sim, "moonshot")
        anthropic = make_sim_credential(alice, sim, "anthropic")
        return start_run(
            alice,
            [
                (deepseek, "deepseek-chat"),
                (moonshot, "kimi-k2.5-fault-429"),
                (anthropic, "claude-haiku-4-5"),
            ],
        )

    run = await setup()
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    assert "2 done · 1 failed" in data_of(body, "run-done")
    assert "Finished" not in data_of(body, "run-done")
    page = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    assert "2 done · 1 failed" in page
    history = (await async_client.get("/runs/history/")).content.decode()
    row = history[history.index(str(run.code)) :]
    assert "2 done · 1 failed" in row
    # The models, the tokens and the cost of the run are in its row.
    assert "kimi-k2.5-fault-429" in row and "deepseek-chat" in row
    segments = [s async for s in Segment.objects.filter(column__run=run, status="done")]
    tokens_in = sum(s.input_tokens or 0 for s in segments)
    tokens_out = sum(s.output_tokens or 0 for s in segments)
    assert tokens_in and tokens_out
    assert f"{tokens_in} / {tokens_out}" in row
    priced = [s for s in segments if s.cost is not None]
    assert len(priced) == 1  # Claude Haiku has a price in the catalog; deepseek-chat has none
    assert f"${priced[0].cost:.6f}" in row


async def test_it_finishes_a_column_with_one_unreadable_chunk_with_a_note(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, "deepseek-chat-fault-malformed")])

    run = await setup()
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "done"
    assert segment.caveats == ["1 unreadable chunk skipped"]
    assert segment.error_message == ""
    end = data_of(body, "col-0-end")
    assert "Done — 1 unreadable chunk skipped" in end
    assert "alert-error" not in end
    assert "1 done — 1 unreadable chunk skipped" in data_of(body, "run-done")
    history = (await async_client.get("/runs/history/")).content.decode()
    assert "1 done — 1 unreadable chunk skipped" in history


async def test_it_refuses_a_target_before_sending(async_client: Any, alice: Any, sim: Sim) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "anthropic")
        return start_run(alice, [(credential, "claude-opus-4-6")], prefix="{")

    run = await setup()
    calls = len(sim.app.requests)
    await async_client.aforce_login(alice)
    body = await _read(async_client, run)

    assert len(sim.app.requests) == calls
    segment = await Segment.objects.aget(column__run=run)
    assert segment.status == "skipped"
    assert "prefill" in segment.error_message.lower()
    assert "Not sent" in data_of(body, "col-0-end")


async def test_it_answers_404_for_someone_elses_stream(
    async_client: Any, alice: Any, charlie: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "deepseek")
        return start_run(alice, [(credential, "deepseek-chat")])

    run = await setup()
    await async_client.aforce_login(charlie)
    response = await async_client.get(f"/runs/{run.code}/stream/")
    assert response.status_code == 404
    assert (await Segment.objects.aget(column__run=run)).status == "pending"
