"""A tools run in every view: Inspect, View code, Diff, the run page and the share page.

One run streamed to the end against the simulator: DeepSeek (strict, /beta), Anthropic, and a
DeepSeek `-fault-badargs` column whose call does not match the schema. Inspect shows the tools
as each dialect sent them and the calls with their verdicts; View code carries the tools in
the dialect's shape and prints the calls; Diff compares the calls; the share page shows the
tools and the calls and no key.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from playground.http import aclose_client
from playground.providers.prompt import tool_to_json
from playground.runs.models import Run, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.runs.test_tool_call_columns import ASK, CONVERT, WEATHER
from tests.streams import body_of

SECRET = "sim-SECRET-KEY-tools-5d4c3b2a1f0e-0077"
HX = {"HX-Request": "true"}
VALID = '<span class="badge badge-ok tool-verdict">valid</span>'


@pytest.fixture
def tools_run(alice: Any, sim: Sim, transactional_db: None) -> Run:
    deepseek = make_sim_credential(alice, sim, "deepseek", key=SECRET)
    anthropic = make_sim_credential(alice, sim, "anthropic", key=SECRET)
    run = start_run(
        alice,
        [
            (deepseek, "deepseek-chat"),
            (anthropic, "claude-haiku-4-5"),
            (deepseek, "deepseek-chat-fault-badargs"),
        ],
        prefix="",
        turns=ASK,
        tools=[tool_to_json(WEATHER), tool_to_json(CONVERT)],
    )
    client = Client()
    client.force_login(alice)
    response = client.get(f"/runs/{run.code}/stream/")

    async def drain() -> None:
        await body_of(response)
        await aclose_client()

    async_to_sync(drain)()
    for segment in Segment.objects.filter(column__run=run):
        assert segment.status == "done", segment.error_message
        assert segment.tool_calls
    return run


def _get(user: Any, url: str, **kwargs: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_inspect_shows_the_tools_sent_and_the_calls_received(tools_run: Run, alice: Any) -> None:
    page = _get(alice, f"/runs/{tools_run.code}/columns/0/inspect/")
    assert SECRET not in page
    sent = html.unescape(_section(page, "<h4>Tools sent</h4>", "</details>"))
    assert "tool_choice <code>&quot;auto&quot;</code>" in _section(
        page, "<h4>Tools sent</h4>", "<pre"
    )
    tools = json.loads(sent.split('tabindex="0">', 1)[1].split("</pre>", 1)[0])
    # OpenAI-style, as DeepSeek received it: strict kept (the request went to /beta).
    assert tools[0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": WEATHER.description,
            "parameters": WEATHER.parameters,
            "strict": True,
        },
    }
    received = _section(page, "<h4>Tool calls received</h4>", "</section>")
    assert '<code class="tool-name">get_weather</code>' in received and VALID in received
    assert "&quot;location&quot;: &quot;Paris&quot;" in received  # pretty-printed, escaped

    # Anthropic's shape, in the dialog (htmx) version of the page.
    page = _get(alice, f"/runs/{tools_run.code}/columns/1/inspect/", headers=HX)
    assert "<html" not in page and SECRET not in page
    sent = html.unescape(_section(page, "<h4>Tools sent</h4>", "</details>"))
    tools = json.loads(sent.split('tabindex="0">', 1)[1].split("</pre>", 1)[0])
    assert tools[0] == {
        "name": "get_weather",
        "description": WEATHER.description,
        "input_schema": WEATHER.parameters,
    }
    assert "&quot;type&quot;: &quot;auto&quot;" in _section(page, "<h4>Tools sent</h4>", "<pre")
    assert VALID in _section(page, "<h4>Tool calls received</h4>", "</section>")

    bad = _get(alice, f"/runs/{tools_run.code}/columns/2/inspect/")
    received = html.unescape(_section(bad, "<h4>Tool calls received</h4>", "</section>"))
    assert "does not match the schema: " in received and "12345" in received


def _code_blocks(page: str) -> dict[str, str]:
    blocks = re.findall(
        r'<pre class="code-block" data-language="(\w+)"[^>]*>(.*?)</pre>', page, re.S
    )
    return {language: html.unescape(text) for language, text in blocks}


def test_view_code_carries_the_tools_in_the_dialects_shape(tools_run: Run, alice: Any) -> None:
    deepseek = _code_blocks(_get(alice, f"/runs/{tools_run.code}/columns/0/code/"))
    words = shlex.split(deepseek["shell"])
    body = json.loads(words[words.index("-d") + 1])
    assert body["tools"][0]["function"]["strict"] is True and body["tool_choice"] == "auto"
    assert "tools=[" in deepseek["python"] and "tool_choice='auto'" in deepseek["python"]
    assert "tool call: {call['name']}" in deepseek["python"]
    anthropic = _code_blocks(_get(alice, f"/runs/{tools_run.code}/columns/1/code/"))
    assert "'input_schema': {" in anthropic["python"]
    assert "tool_choice={\n        'type': 'auto',\n    }" in anthropic["python"]
    assert 'block.type == "tool_use"' in anthropic["python"]
    for code in (deepseek, anthropic):
        compile(code["python"], "export.py", "exec")
        assert SECRET not in code["python"] + code["shell"]


def test_diff_compares_the_calls_as_well_as_the_text(tools_run: Run, alice: Any) -> None:
    page = _get(alice, f"/runs/{tools_run.code}/diff/?a=0&b=2")
    calls = _section(page, '<section class="calls-diff"', "</section>")
    assert "1. DeepSeek · deepseek-chat" in calls
    assert "3. DeepSeek · deepseek-chat-fault-badargs" in calls
    assert VALID in calls and '<span class="badge badge-danger tool-verdict">' in calls
    compared = _section(calls, 'class="code-block word-diff calls-word-diff">', "</pre>")
    assert compared.startswith("get_weather\n{")
    assert '<ins class="diff-ins">12345</ins>' in compared  # the bad field's value
    assert '<del class="diff-del">' in compared
    assert "% alike" in calls

    # The same column against itself: the calls are all alike, nothing marked.
    same = _get(alice, f"/runs/{tools_run.code}/diff/?a=1&b=1")
    calls = _section(same, '<section class="calls-diff"', "</section>")
    assert "100.0% alike" in calls and "diff-ins" not in calls and "diff-del" not in calls


def test_the_run_page_and_the_share_page_show_the_tools_and_the_calls(
    tools_run: Run, alice: Any, client: Client
) -> None:
    owner = Client()
    owner.force_login(alice)
    detail = owner.get(f"/runs/{tools_run.code}/").content.decode()
    tools = _section(detail, "<dt>Tools</dt>", "</dd>")
    assert "Tool choice: <code>auto</code>" in tools
    assert '<code class="tool-name">get_weather</code> <span class="badge">strict</span>' in tools
    assert '<code class="tool-name">convert_units</code>' in tools

    owner.post(f"/runs/{tools_run.code}/share/", {"action": "share"})
    tools_run.refresh_from_db()
    shared = client.get(f"/runs/shared/{tools_run.share_token}/")
    assert shared.status_code == 200
    page = shared.content.decode()
    assert "Shared run" in page and SECRET not in page
    assert "deepseek sim" not in page  # credential labels stay private
    assert "Inspect" not in page and "View code" not in page
    tools = _section(page, "<dt>Tools</dt>", "</dd>")
    assert '<code class="tool-name">get_weather</code> <span class="badge">strict</span>' in tools
    assert "&quot;location&quot;: {" in tools  # the parameters, pretty-printed
    assert page.count(VALID) == 2  # the two good calls, and the bad one marked
    assert page.count('<span class="badge badge-danger tool-verdict">') == 1


def test_the_json_download_carries_the_tools_sent_and_the_calls(tools_run: Run, alice: Any) -> None:
    exported = json.loads(_get(alice, f"/runs/{tools_run.code}/columns/0/download.json"))
    assert SECRET not in json.dumps(exported)
    (part,) = exported["parts"]
    assert part["request"]["body"]["tools"][0]["function"]["name"] == "get_weather"
    (call,) = part["tool_calls"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"location": "Paris", "unit": "celsius"}
    assert [tool["name"] for tool in exported["prompt"]["tools"]] == [
        "get_weather",
        "convert_units",
    ]
