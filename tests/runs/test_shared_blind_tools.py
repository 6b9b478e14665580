"""Where verdicts, sharing and tool answers meet (issues 15 and 17 together).

A teammate on a run shared with them is offered no Answer / Answer all they cannot use, and
their POSTs to those URLs answer 404; a blind run's answer form carries no provider's call id
(a call id's shape names its provider: Anthropic's start "toolu_"); a refused "Answer all"
re-renders the run for its viewer (names and verdict kept); a replayed run that waits for tool
results still offers "Answer all"; a blind start refused by the tools preflight keeps the form
(422, Blind still ticked); a blind run marks no column by its notes.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.accounts.models import Team, User
from playground.providers.prompt import Prompt, tool_to_json
from playground.runs.models import Run, RunColumn, Segment
from playground.runs.replay import replay_frames
from playground.runs.verdicts import Verdict
from tests.prompts.factories import make_template
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.runs.test_prompt_round_trip import _form_fields
from tests.runs.test_tool_answers import CANNED
from tests.runs.test_tool_call_columns import ASK, CONVERT, WEATHER
from tests.runs.test_tool_preflight import TRIP
from tests.runs.test_tool_preflight import WEATHER as STRICT_WEATHER
from tests.streams import data_of, read_stream

HTMX = {"HTTP_HX_REQUEST": "true"}
# Anthropic's call ids start "toolu_01"; DeepSeek's "call_0_": either tells the provider.
CALL_ID = "toolu_01TellsTheProviderAway"
CALL = {"id": CALL_ID, "name": "get_weather", "arguments": '{"location": "Paris"}'}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _run_with_calls(
    user: User,
    sim: Sim,
    *,
    tools: list[Any] = CANNED,
    blind: bool = False,
    team: Team | None = None,
) -> Run:
    """Return a finished two-column run of `user` whose columns ended with a call each."""
    targets = [
        (make_sim_credential(user, sim, "anthropic"), "claude-sonnet-4-5"),
        (make_sim_credential(user, sim, "deepseek"), "deepseek-chat"),
    ]
    run = start_run(user, targets, prefix="", turns=ASK, tools=tools)
    Segment.objects.filter(column__run=run).update(
        status="done", finish_reason="tool_calls", tool_calls=[CALL]
    )
    run.refresh_status()
    run.blind, run.team = blind, team
    run.save(update_fields=["blind", "team"])
    return run


def test_a_teammate_is_offered_no_answer_and_cannot_post_one(
    alice: User, bob: User, team: Team, sim: Sim
) -> None:
    run = _run_with_calls(alice, sim, team=team)
    owner_page = _client(alice).get(f"/runs/{run.code}/").content.decode()
    assert f"/runs/{run.code}/answer-all/" in owner_page
    assert f"/runs/{run.code}/columns/0/answer/" in owner_page

    bob_client = _client(bob)
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "get_weather" in page  # the calls are shown to the teammate
    assert f"/runs/{run.code}/answer-all/" not in page
    assert "/answer/" not in page
    assert "Answer the call" not in page
    for url in (
        f"/runs/{run.code}/answer-all/",
        f"/runs/{run.code}/columns/0/answer/",
        f"/runs/{run.code}/columns/0/continue/",
        f"/runs/{run.code}/columns/0/segments/0/retry/",
        f"/runs/{run.code}/columns/0/stop/",
        f"/runs/{run.code}/stop/",
        f"/runs/{run.code}/rerun/",
    ):
        response = bob_client.post(url, {"result-1": "sunny"}, **HTMX)
        assert response.status_code == 404, url
    assert Segment.objects.filter(column__run=run).count() == 2
    response = bob_client.post(f"/runs/{run.code}/verdict/", {"rank-0": "1"}, **HTMX)
    assert response.status_code == 200
    assert Verdict.objects.get(run=run, user=bob).ranking == [0]


def test_a_blind_runs_answer_form_carries_no_call_id_and_still_answers(
    alice: User, sim: Sim
) -> None:
    run = _run_with_calls(alice, sim, blind=True)
    client = _client(alice)
    page = client.get(f"/runs/{run.code}/").content.decode()
    assert "Answer the call" in page
    assert "toolu_" not in page
    position = 1
    # Without htmx, an empty result answers the run's page with the message (422).
    response = client.post(f"/runs/{run.code}/columns/{position}/answer/", {"result-1": " "})
    assert response.status_code == 422
    refused = response.content.decode()
    assert "The result for call 1 (get_weather) is empty" in refused
    assert "toolu_" not in refused and "claude" not in refused
    # The form's fields are numbered by call; the typed result goes to that call's id.
    response = client.post(
        f"/runs/{run.code}/columns/{position}/answer/", {"result-1": "light rain"}, **HTMX
    )
    assert response.status_code == 200
    assert "toolu_" not in response.content.decode()
    answer = Segment.objects.get(column__run=run, column__position=position, index=1)
    assert answer.tool_results == [{"call_id": CALL_ID, "content": "light rain"}]


def test_a_refused_answer_all_keeps_the_names_and_the_verdict_of_its_viewer(
    alice: User, sim: Sim
) -> None:
    no_canned = [tool_to_json(WEATHER), tool_to_json(CONVERT)]
    run = _run_with_calls(alice, sim, tools=no_canned, blind=True)
    Verdict.objects.record(run, alice, [0], "")
    response = _client(alice).post(f"/runs/{run.code}/answer-all/", **HTMX)
    assert response.status_code == 422
    page = response.content.decode()
    assert "No canned result for get_weather" in page
    assert "claude-sonnet-4-5" in page  # judged: the names stay shown
    assert "Your verdict" in page  # and the verdict card stays under the columns


def test_a_replayed_run_waiting_for_results_still_offers_answer_all(alice: User, sim: Sim) -> None:
    run = _run_with_calls(alice, sim)
    assert RunColumn.objects.filter(run=run).count() == 2

    replay = replay_frames(run.pk)  # reads the run now; the frames are yielded after

    async def collect() -> list[str]:
        return [frame async for frame in replay]

    frames = asyncio.run(collect())
    done = next(frame for frame in frames if frame.startswith("event: run-done"))
    assert f"/runs/{run.code}/answer-all/" in done


def _blind_start(client: Client, credential: Any, tools: list[dict[str, Any]]) -> Any:
    fields = _form_fields(client.get("/runs/").content.decode(), "compare-form")
    fields = {key: value for key, value in fields.items() if not key.startswith("t1-")}
    fields.update(
        {
            "turns-0-role": "user",
            "turns-0-content": "What's the weather in Paris?",
            "prefix": "",
            "tools": json.dumps(tools),
            "tool_choice": "auto",
            "t0-credential": str(credential.code),
            "t0-model": "deepseek-chat",
            "blind": "on",
        }
    )
    return client.post("/runs/new/", fields, **HTMX)


def test_a_blind_start_refused_by_the_tool_preflight_keeps_the_form_then_redirects(
    alice: User, sim: Sim
) -> None:
    client = _client(alice)
    deepseek = make_sim_credential(alice, sim, "deepseek")
    response = _blind_start(client, deepseek, [STRICT_WEATHER, TRIP])
    assert response.status_code == 422
    page = response.content.decode()
    assert "cannot use strict mode on DeepSeek" in page
    assert re.search(r'<input[^>]*name="blind"[^>]*checked', page)
    assert not Run.objects.exists()
    response = _blind_start(client, deepseek, [STRICT_WEATHER])
    assert response.status_code == 200
    run = Run.objects.get()
    assert run.blind
    assert response["HX-Redirect"] == f"/runs/{run.code}/"


def test_a_blind_run_marks_no_column_by_its_notes(alice: User, sim: Sim) -> None:
    # Tools give every column but DeepSeek's a note ("strict" was not sent): a column marked
    # "1 note" and one not would tell the DeepSeek column apart before the verdict.
    run = _run_with_calls(alice, sim, blind=True)
    strict_note = 'Anthropic has no strict function mode here; "strict" was not sent.'
    Segment.objects.filter(column__run=run, column__provider="anthropic").update(
        notes=[strict_note]
    )
    client = _client(alice)
    page = client.get(f"/runs/{run.code}/").content.decode()
    assert "about this target" not in page
    assert "strict" not in page.split('class="columns"')[1].split("verdict-")[0]
    assert "Notes about the targets show after your verdict" in page
    Verdict.objects.record(run, alice, [0], "")
    page = client.get(f"/runs/{run.code}/").content.decode()
    assert "no strict function mode here" in page


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_a_streamed_column_of_a_template_run_offers_pin_as_reference(
    async_client: Any, alice: User, sim: Sim
) -> None:
    # After Compare, Continue or Answer the column ends in the stream: the pin is offered there,
    # as on the run page, to a reader who may edit the template.
    def start() -> Run:
        template = make_template(alice)
        credential = make_sim_credential(alice, sim, "deepseek")
        return Run.objects.start(
            user=alice,
            prompt=Prompt(prefix="Once upon a time"),
            targets=[{"credential": credential, "model": "deepseek-chat", "overrides": {}}],
            template=template,
        )

    run = await sync_to_async(start)()
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)
    assert "Pin as reference" in data_of(body, "col-0-end")
    replayed = await read_stream(async_client, run)
    assert "Pin as reference" in data_of(replayed, "col-0-end")
