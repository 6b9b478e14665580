"""Answering tool calls and going on (issue 17, item 4).

Unit: the rounds a segment sends are read back from the saved calls and results (with the
text and reasoning of the turn that made the calls), Continue after an answer continues the
answer's turn, typed results are checked. Loopback: a two-tool prompt with canned results on
DeepSeek (strict, /beta), DashScope, Mistral and Anthropic ends each column with a call; "Answer
all with canned results" continues every column to a final text, and the simulator's recorded
requests carry the results in each dialect's shape. Views: a refused answer keeps the typed
text (422), the rounds per column are capped, the key never reaches a saved result.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.prompts.tool_defs import MAX_TOOL_RESULT
from playground.providers import prepare
from playground.providers.prompt import tool_to_json
from playground.providers.tools import ToolCall, ToolResult, ToolRound
from playground.runs.models import ColumnRuleError, Run, RunColumn, Segment
from playground.runs.streaming import completion_request
from playground.runs.tool_answers import (
    MAX_TOOL_ROUNDS,
    AnswerProblem,
    PendingCall,
    canned_results,
    rounds_of,
    turn_so_far,
    typed_results,
)
from tests.runs.conftest import SIM_KEY, Sim, make_sim_credential, start_run
from tests.runs.test_tool_call_columns import ASK, CONVERT, TARGETS, WEATHER
from tests.streams import data_of, read_stream

WEATHER_RESULT = '{"temperature": 18, "conditions": "light rain"}'
CONVERT_RESULT = '{"value": 68, "unit": "fahrenheit"}'
CANNED = [
    {**tool_to_json(WEATHER), "result": WEATHER_RESULT},
    {**tool_to_json(CONVERT), "result": CONVERT_RESULT},
]


def _segment(**fields: Any) -> SimpleNamespace:
    values = {
        "prefix": "",
        "reasoning_prefix": "",
        "text": "",
        "reasoning": "",
        "tool_calls": [],
        "tool_results": [],
    }
    return SimpleNamespace(**{**values, **fields})


CALL = {"id": "call_1", "name": "get_weather", "arguments": '{"location": "Paris"}'}
CALL_2 = {"id": "call_2", "name": "convert_units", "arguments": '{"value": 18}'}


def test_rounds_are_read_back_from_the_saved_calls_and_results() -> None:
    first = _segment(prefix="Sure, ", text="let me check.", reasoning="weather?", tool_calls=[CALL])
    answer = _segment(
        text="It is 18.",
        tool_calls=[CALL_2],
        tool_results=[{"call_id": "call_1", "content": "18 C"}],
    )
    second = _segment(tool_results=[{"call_id": "call_2", "content": "64.4 F"}])

    assert rounds_of([first]) == ()
    assert rounds_of([first, answer]) == (
        ToolRound(
            calls=(ToolCall("call_1", "get_weather", '{"location": "Paris"}'),),
            results=(ToolResult("call_1", "18 C"),),
            text="Sure, let me check.",
            reasoning="weather?",
        ),
    )
    two = rounds_of([first, answer, second])
    assert len(two) == 2
    assert two[1] == ToolRound(
        calls=(ToolCall("call_2", "convert_units", '{"value": 18}'),),
        results=(ToolResult("call_2", "64.4 F"),),
        text="It is 18.",
    )


def test_a_continued_turn_is_one_round_and_continue_starts_from_the_turn() -> None:
    # The first turn hit its token limit, was continued, then called a tool.
    first = _segment(prefix="P", text="abc", reasoning="r1")
    more = _segment(prefix="Pabc", text="def", reasoning="r2", tool_calls=[CALL])
    answer = _segment(text="Answer ", tool_results=[{"call_id": "call_1", "content": "x"}])
    (one,) = rounds_of([first, more, answer])
    assert one.text == "Pabcdef" and one.reasoning == "r1r2"
    # Continue after the answer continues the answer's turn, not the whole column.
    assert turn_so_far([first, more, answer]) == ("Answer ", "")
    assert turn_so_far([first]) == ("Pabc", "r1")


def test_typed_results_are_checked_and_scrubbed() -> None:
    calls = [
        PendingCall("c1", "get_weather", "result-c1", "", ""),
        PendingCall("c2", "convert_units", "result-c2", "68", "68"),
    ]
    with pytest.raises(AnswerProblem, match=r"call 1 \(get_weather\) is empty"):
        typed_results(calls, {"result-c1": "  ", "result-c2": "68"}, str)
    with pytest.raises(AnswerProblem, match="MAX_TOOL_RESULT"):
        typed_results(calls, {"result-c1": "x" * (MAX_TOOL_RESULT + 1), "result-c2": "1"}, str)
    results = typed_results(
        calls,
        {"result-c1": "sunny\r\nkey sk-1", "result-c2": "68"},
        lambda t: t.replace("sk-1", "[key]"),
    )
    assert results == (ToolResult("c1", "sunny\nkey [key]"), ToolResult("c2", "68"))
    with pytest.raises(AnswerProblem, match="No canned result for get_weather"):
        canned_results(calls, str)
    assert canned_results(calls[1:], str) == (ToolResult("c2", "68"),)


def _start(alice: Any, sim: Sim, targets: list[tuple[str, str]]) -> Run:
    columns = [(make_sim_credential(alice, sim, provider), model) for provider, model in targets]
    return start_run(alice, columns, prefix="", turns=ASK, tools=CANNED)


def _answer_all(user: Any, run: Run) -> Any:
    client = Client()
    client.force_login(user)
    return client.post(f"/runs/{run.code}/answer-all/", HTTP_HX_REQUEST="true")


def _requests_with_results(sim: Sim) -> dict[str, dict[str, Any]]:
    """Return, per provider, the body of the last request the simulator saw that sent results."""
    found = {}
    for record in sim.app.requests:
        body = record.body if isinstance(record.body, dict) else {}
        if "tool" in json.dumps(body.get("messages", [])) and len(body.get("messages", [])) > 2:
            found[record.provider] = {"path": record.path, **body}
    return found


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_answer_all_continues_each_column_with_results_in_its_dialect(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    sim.app.requests.clear()
    run = await sync_to_async(_start)(alice, sim, TARGETS)
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)
    done = data_of(body, "run-done")
    assert "Answer all with canned results" in done
    for column, _ in enumerate(TARGETS):
        end = data_of(body, f"col-{column}-end")
        assert "Answer and continue" in end and WEATHER_RESULT.replace('"', "&quot;") in end

    response = await sync_to_async(_answer_all)(alice, run)
    assert response.status_code == 200, response.content[:500]
    assert 'sse-connect="/runs/' in response.content.decode()  # the run streams again
    body = await read_stream(async_client, run)

    segments = [
        segment
        async for segment in Segment.objects.filter(column__run=run).order_by(
            "column__position", "index"
        )
    ]
    assert [(s.column_id, s.index) for s in segments][1::2] == [
        (s.column_id, 1) for s in segments[::2]
    ]
    for first, answer in zip(segments[::2], segments[1::2], strict=True):
        call_id = first.tool_calls[0]["id"]
        assert answer.tool_results == [{"call_id": call_id, "content": WEATHER_RESULT}]
        assert answer.status == "done", answer.error_message
        assert answer.text.startswith(
            f"Thanks for the results. get_weather returned {WEATHER_RESULT}"
        )
        assert answer.prefix == "" and not answer.tool_calls
    for column, _ in enumerate(TARGETS):
        assert "Thanks for the results." in data_of(body, f"col-{column}-text")

    sent = _requests_with_results(sim)
    calls = {position: s.tool_calls[0] for position, s in enumerate(segments[::2])}
    # DeepSeek: strict tools on /beta; the assistant's tool_calls, then a role "tool" message.
    deepseek = sent["deepseek"]
    assert deepseek["path"].endswith("/beta/chat/completions")
    assert all(tool["function"]["strict"] is True for tool in deepseek["tools"])
    for provider, position in (("deepseek", 0), ("dashscope", 1), ("mistral", 2)):
        *_, assistant, tool = sent[provider]["messages"]
        call = calls[position]
        assert assistant["role"] == "assistant"
        assert assistant["tool_calls"] == [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": "get_weather", "arguments": call["arguments"]},
            }
        ]
        expected = {"role": "tool", "tool_call_id": call["id"], "content": WEATHER_RESULT}
        if provider == "mistral":
            expected["name"] = "get_weather"
        assert tool == expected
    # Anthropic: tool_use blocks in the assistant turn, tool_result blocks in the next user turn.
    *_, assistant, user = sent["anthropic"]["messages"]
    call = calls[3]
    assert assistant["role"] == "assistant"
    assert {
        "type": "tool_use",
        "id": call["id"],
        "name": "get_weather",
        "input": json.loads(call["arguments"]),
    } in assistant["content"]
    assert user == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": WEATHER_RESULT}],
    }

    # The run page shows call -> result -> continuation; nothing waits for results any more.
    page = await sync_to_async(_page)(alice, f"/runs/{run.code}/")
    assert page.count("Answered · part 2") == len(TARGETS)
    assert page.count('<span class="faint small">Result of</span>') == len(TARGETS)
    assert "Answer all with canned results" not in page and "Answer and continue" not in page
    # The column's .json download holds the call and the results that answered it.
    download = json.loads(
        await sync_to_async(_page)(alice, f"/runs/{run.code}/columns/0/download.json")
    )
    assert download["parts"][0]["tool_calls"] == [calls[0]]
    assert download["parts"][1]["tool_results"] == [
        {"call_id": calls[0]["id"], "content": WEATHER_RESULT}
    ]
    # The share page shows them too, read-only.
    shared = await sync_to_async(_shared_page)(run)
    assert shared.count('<span class="faint small">Result of</span>') == len(TARGETS)
    assert shared.count("get_weather returned") == len(TARGETS)


def _shared_page(run: Run) -> str:
    token = run.enable_sharing()
    return Client().get(f"/runs/shared/{token}/").content.decode()


def _page(user: Any, path: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(path).content.decode()


def _ended_with_call(run: Run) -> RunColumn:
    """Mark the run's first column as done with one call (as if it had streamed)."""
    Segment.objects.filter(column__run=run).update(
        status="done", finish_reason="tool_calls", tool_calls=[CALL]
    )
    run.refresh_status()
    return RunColumn.objects.get(run=run, position=0)


@pytest.mark.django_db
def test_a_refused_answer_keeps_what_was_typed(alice: Any, sim: Sim) -> None:
    run = _start(alice, sim, [("deepseek", "deepseek-chat")])
    _ended_with_call(run)
    client = Client()
    client.force_login(alice)
    url = f"/runs/{run.code}/columns/0/answer/"
    response = client.post(url, {"result-1": "   "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#answer-{run.code}-0"
    page = response.content.decode()
    assert "The result for call 1 (get_weather) is empty" in page
    typed = "x" * (MAX_TOOL_RESULT + 1)
    response = client.post(url, {"result-1": typed}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "MAX_TOOL_RESULT" in response.content.decode() and typed in response.content.decode()
    assert Segment.objects.filter(column__run=run).count() == 1

    response = client.post(url, {"result-1": f"sunny, key {SIM_KEY}"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    answer = Segment.objects.get(column__run=run, index=1)
    assert answer.tool_results == [{"call_id": "call_1", "content": "sunny, key [key]"}]
    # A second click finds the column answered already and says so; nothing else is queued.
    response = client.post(url, {"result-1": "again"}, HTTP_HX_REQUEST="true")
    assert "Only a column that ended with tool calls can be answered." in response.content.decode()
    assert Segment.objects.filter(column__run=run).count() == 2


@pytest.mark.django_db
def test_answer_all_names_a_called_tool_without_a_canned_result(alice: Any, sim: Sim) -> None:
    credential = make_sim_credential(alice, sim, "deepseek")
    tools = [tool_to_json(WEATHER), tool_to_json(CONVERT)]
    run = start_run(alice, [(credential, "deepseek-chat")], prefix="", turns=ASK, tools=tools)
    _ended_with_call(run)
    response = _answer_all(alice, run)
    assert response.status_code == 422
    assert "No canned result for get_weather" in response.content.decode()
    assert Segment.objects.filter(column__run=run).count() == 1


@pytest.mark.django_db
def test_rounds_per_column_are_capped_and_each_request_carries_every_round(
    alice: Any, sim: Sim
) -> None:
    run = _start(alice, sim, [("deepseek", "deepseek-chat")])
    column = _ended_with_call(run)
    with pytest.raises(ColumnRuleError, match="every call"):
        column.add_tool_answer([ToolResult("call_9", "not asked for")])
    for number in range(1, MAX_TOOL_ROUNDS + 1):
        answer = column.add_tool_answer([ToolResult("call_1", f"result {number}")])
        Segment.objects.filter(pk=answer.pk).update(
            status="done", text=f"turn {number}", tool_calls=[CALL]
        )
        column = RunColumn.objects.prefetch_related("segments").get(pk=column.pk)
        request = completion_request(run, column, column.segment_list[-1])
        assert len(request.tool_rounds) == number
        assert request.tool_rounds[-1].results == (ToolResult("call_1", f"result {number}"),)
        assert request.prefix == ""
    assert request.tool_rounds[1].text == "turn 1"
    with pytest.raises(ColumnRuleError, match=f"answered {MAX_TOOL_ROUNDS} rounds"):
        column.add_tool_answer([ToolResult("call_1", "one more")])
    # Retry of an answer sends the same results again.
    retried = RunColumn.objects.prefetch_related("segments").get(pk=column.pk).retry(1)
    assert retried.tool_results == [{"call_id": "call_1", "content": "result 1"}]
    assert Segment.objects.filter(column=column).count() == 2


@pytest.mark.django_db
def test_deepseek_thinking_mode_gets_the_turns_reasoning_back_with_the_round(
    alice: Any, sim: Sim
) -> None:
    # (The simulator streams no reasoning before a call, so the turn is saved as if it had.)
    run = _start(alice, sim, [("deepseek", "deepseek-reasoner")])
    column = _ended_with_call(run)
    Segment.objects.filter(column=column).update(reasoning="Paris, so get_weather.", text="")
    column = RunColumn.objects.prefetch_related("segments").get(pk=column.pk)
    answer = column.add_tool_answer([ToolResult("call_1", WEATHER_RESULT)])
    column = RunColumn.objects.prefetch_related("segments").get(pk=column.pk)
    request = completion_request(run, column, answer)
    assert column.credential is not None
    body = prepare(column.credential.target(), request).body
    *_, assistant, tool = body["messages"]
    assert assistant["reasoning_content"] == "Paris, so get_weather."
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": WEATHER_RESULT}
