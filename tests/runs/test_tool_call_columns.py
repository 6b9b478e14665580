"""Streamed tool calls in the columns, over loopback against the simulator.

A two-tool prompt on DeepSeek (strict, /beta), DashScope, Mistral and Anthropic: each column
announces its call by name at once (`col-N-tool`), streams the arguments (`col-N-tool-args`,
escaped like text), saves the call on the segment and shows it marked valid; a
`-fault-badargs` model's call is marked "does not match the schema" with the offending field.
A replay and the run page show the saved calls.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.prompts.budget import DEFAULT_BUDGET
from playground.prompts.management.commands.load_starter_library import load_starter_library
from playground.prompts.models import PrefixTemplate
from playground.providers.prompt import tool_to_json
from playground.providers.tools import ToolDef
from playground.runs.models import Run, Segment
from playground.runs.relay import ColumnJob, RunRelay
from playground.runs.tool_calls import live_arguments
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import data_of, frames, read_stream

WEATHER = ToolDef(
    "get_weather",
    "Get the current weather for a city",
    {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    strict=True,
)
CONVERT = ToolDef(
    "convert_units",
    "Convert a value from one unit to another",
    {
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string"},
            "to_unit": {"type": "string"},
        },
        "required": ["value", "from_unit", "to_unit"],
        "additionalProperties": False,
    },
    strict=True,
)
TARGETS = [
    ("deepseek", "deepseek-chat"),
    ("dashscope", "qwen-plus"),
    ("mistral", "mistral-small-latest"),
    ("anthropic", "claude-haiku-4-5"),
]
ASK = [{"role": "user", "content": "What's the weather in Paris today, in celsius?", "images": []}]
ARGS_RE = re.compile(r'<span hx-swap-oob="beforeend:#args-[^"]+-(\d+)-(\d+)">(.*?)</span>', re.S)


def _arguments_streamed(body: str, column: int) -> dict[int, str]:
    """Return each call's argument text as the page would append it, unescaped, by slot."""
    calls: dict[int, str] = {}
    for match in ARGS_RE.finditer(data_of(body, f"col-{column}-tool-args")):
        assert int(match.group(1)) == column
        slot = int(match.group(2))
        calls[slot] = calls.get(slot, "") + html.unescape(match.group(3))
    return calls


def _start(alice: Any, sim: Sim, targets: list[tuple[str, str]]) -> Run:
    columns = [(make_sim_credential(alice, sim, provider), model) for provider, model in targets]
    return start_run(
        alice,
        columns,
        prefix="",
        turns=ASK,
        tools=[tool_to_json(WEATHER), tool_to_json(CONVERT)],
    )


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_each_column_streams_its_call_and_saves_it_valid(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    run = await sync_to_async(_start)(alice, sim, TARGETS)
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)

    names = [frame.event for frame in frames(body)]
    for column, _ in enumerate(TARGETS):
        # The name comes first, in its own frame, before any argument text and the column's end.
        tool_frames = [frame.data for frame in frames(body) if frame.event == f"col-{column}-tool"]
        assert (
            len(tool_frames) == 1
            and '<code class="tool-name">get_weather</code>' in (tool_frames[0])
        )
        first_tool = names.index(f"col-{column}-tool")
        first_args = names.index(f"col-{column}-tool-args")
        assert first_tool < first_args < names.index(f"col-{column}-end")
        # Arguments arrive in several frames (the simulator sends 2-6 characters at a time).
        assert names.count(f"col-{column}-tool-args") >= 1
        streamed = _arguments_streamed(body, column)
        assert json.loads(streamed[0]) == {"location": "Paris", "unit": "celsius"}
        end = data_of(body, f"col-{column}-end")
        assert 'id="tools-' in end and 'hx-swap-oob="true"' in end
        assert '<span class="badge badge-ok tool-verdict">valid</span>' in end

    segments = [
        segment
        async for segment in Segment.objects.filter(column__run=run).order_by("column__position")
    ]
    for segment in segments:
        assert segment.status == "done", (segment.column_id, segment.error_message)
        assert segment.finish_reason == "tool_calls"
        (call,) = segment.tool_calls
        assert call["name"] == "get_weather" and call["id"]
        assert json.loads(call["arguments"]) == {"location": "Paris", "unit": "celsius"}
    # DeepSeek went to /beta with strict set: the prefix feature's base.
    deepseek = segments[0].request_dump
    assert deepseek["url"].endswith("/beta/chat/completions")
    assert deepseek["body"]["tools"][0]["function"]["strict"] is True

    # A replay (the stream opened again) and the run page show the saved calls.
    replay = await read_stream(async_client, run)
    for column, _ in enumerate(TARGETS):
        saved = data_of(replay, f"col-{column}-body")
        assert saved.count('<span class="badge badge-ok tool-verdict">valid</span>') == 1
    page = await sync_to_async(_run_page)(alice, run)
    assert page.count('<span class="badge badge-ok tool-verdict">valid</span>') == len(TARGETS)
    assert "&quot;location&quot;: &quot;Paris&quot;" in page  # pretty-printed, escaped


def _run_page(user: Any, run: Run) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/runs/{run.code}/").content.decode()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_bad_arguments_are_marked_with_the_offending_field(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    targets = [("deepseek", "deepseek-chat-fault-badargs"), ("anthropic", "claude-haiku-4-5")]
    run = await sync_to_async(_start)(alice, sim, targets)
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)

    # The fault gives the schema's first property the wrong type. Which one is first depends on
    # the database: PostgreSQL's jsonb keeps object keys in its own order (JSON objects are
    # unordered), so the field is read from the saved call rather than assumed.
    segment = await Segment.objects.aget(column__run=run, column__position=0)
    arguments = json.loads(segment.tool_calls[0]["arguments"])
    wrong = [name for name, value in arguments.items() if value == 12345]
    assert len(wrong) == 1 and wrong[0] in ("location", "unit"), arguments
    bad = html.unescape(data_of(body, "col-0-end"))
    assert f"does not match the schema: {wrong[0]}: must be string, not integer 12345" in bad
    assert '<span class="badge badge-danger tool-verdict">' in data_of(body, "col-0-end")
    assert "valid</span>" in data_of(body, "col-1-end")


class _Renderer:
    def metrics(self, outcome: Any) -> str:
        return ""

    def end(self, outcome: Any) -> str:
        return ""

    def done(self, outcomes: Any) -> str:
        return ""

    def tool_call(self, index: int, slot: int, name: str) -> str:
        return html.escape(name)

    def tool_arguments(self, index: int, slot: int, escaped: str) -> str:
        return live_arguments("r", index, slot, escaped)


def test_argument_characters_count_toward_the_output_limit() -> None:
    from playground.providers import Target
    from playground.providers.base import CompletionRequest
    from playground.providers.tools import ToolCallDelta

    job = ColumnJob(0, Target("deepseek", "http://x", ""), CompletionRequest("m", ""))
    relay = RunRelay(lambda: None, [job], _Renderer(), max_output_chars=10)  # type: ignore[arg-type]
    assert not relay._apply(0, ToolCallDelta(0, "call_1", "f", '{"a": '))
    assert relay._apply(0, ToolCallDelta(0, arguments='"<b>long</b>"}'))
    outcome = relay.outcomes[0]
    assert outcome.limited and outcome.tool_chars == 10
    assert outcome.tool_calls.calls()[0].arguments == '{"a": "<b>'
    sent = relay._flush(0, force=True)
    assert "event: col-0-tool\ndata: f\n" in sent
    assert "&lt;b&gt;" in sent and "<b>" not in sent  # escaped like text
    assert DEFAULT_BUDGET.tools == 128


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_the_tools_starter_template_calls_a_tool_on_deepseek_and_mistral(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        load_starter_library()
        template = PrefixTemplate.objects.get(key="tools-weather-units")
        assert [tool.name for tool in template.prompt.tools] == ["get_weather", "convert_units"]
        targets = [
            {
                "credential": make_sim_credential(alice, sim, provider),
                "model": model,
                "overrides": {},
            }
            for provider, model in (TARGETS[0], TARGETS[2])
        ]
        return Run.objects.start(
            user=alice, prompt=template.render({}), targets=targets, template=template
        )

    run = await setup()
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)
    for column in (0, 1):
        assert '<code class="tool-name">get_weather</code>' in data_of(body, f"col-{column}-tool")
        assert 'tool-verdict">valid</span>' in data_of(body, f"col-{column}-end")
