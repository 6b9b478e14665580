"""Continue, Retry, Use as prefix, Inspect, View code, Diff and Share."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from playground.http import aclose_client
from playground.runs.models import Run, RunColumn, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import body_of, read_stream

SECRET = "sim-SECRET-KEY-9f8e7d6c5b4a-0042"
HX = {"HX-Request": "true"}


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_it_continues_a_column_cut_at_its_token_limit(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        credential = make_sim_credential(alice, sim, "deepseek", key=SECRET)
        return start_run(
            alice,
            [(credential, "deepseek-chat-long")],
            prefix="Once upon a time",
            parameters={"max_tokens": 12},
        )

    run = await setup()
    await async_client.aforce_login(alice)
    await read_stream(async_client, run)
    first = await Segment.objects.aget(column__run=run)
    assert first.finish_reason == "length" and first.can_continue

    response = await async_client.post(f"/runs/{run.code}/columns/0/continue/", headers=HX)
    assert response.status_code == 200
    assert "sse-connect" in response.content.decode()
    second = await Segment.objects.aget(column__run=run, index=1)
    assert second.status == "pending"
    assert second.prefix == "Once upon a time" + first.text  # exactly prefix + text so far

    await read_stream(async_client, run)
    segments = [s async for s in Segment.objects.filter(column__run=run).order_by("index")]
    assert [s.status for s in segments] == ["done", "done"]
    assert segments[1].text
    request = segments[1].request_dump
    assert request["body"]["messages"][-1]["content"] == second.prefix
    assert request["body"]["messages"][-1]["prefix"] is True
    column = await RunColumn.objects.prefetch_related("segments").aget(run=run)
    assert column.text == segments[0].text + segments[1].text


@pytest.mark.django_db
def test_it_refuses_to_continue_a_finished_column(alice_client: Client, alice: Any) -> None:
    from tests.keys.factories import make_credential

    run = start_run(alice, [(make_credential(alice), "deepseek-chat")])
    Segment.objects.filter(column__run=run).update(status="done", finish_reason="stop")
    run.refresh_status()
    response = alice_client.post(f"/runs/{run.code}/columns/0/continue/", headers=HX)
    assert (
        "Only a column that stopped at its token limit can continue." in response.content.decode()
    )
    assert Segment.objects.filter(column__run=run).count() == 1


@pytest.mark.django_db
def test_it_retries_a_segment_and_drops_the_ones_after_it(alice_client: Client, alice: Any) -> None:
    from tests.keys.factories import make_credential

    run = start_run(alice, [(make_credential(alice), "deepseek-chat")], prefix="P")
    column = run.columns.get()
    Segment.objects.filter(column=column).update(status="done", finish_reason="length", text="one")
    Segment.objects.create(column=column, index=1, prefix="Pone", status="done", text="two")
    Segment.objects.create(column=column, index=2, prefix="Ponetwo", status="done", text="3")
    run.refresh_status()

    alice_client.post(f"/runs/{run.code}/columns/0/segments/1/retry/", headers=HX)
    segments = list(Segment.objects.filter(column=column).order_by("index"))
    assert [(s.index, s.status, s.text) for s in segments] == [
        (0, "done", "one"),
        (1, "pending", ""),
    ]
    assert segments[1].prefix == "Pone"
    run.refresh_from_db()
    assert run.status == "running"


@pytest.fixture
def finished_run(alice: Any, sim: Sim, transactional_db: None) -> Run:
    """A run of two simulator columns, streamed to the end through the view."""
    deepseek = make_sim_credential(alice, sim, "deepseek", key=SECRET)
    anthropic = make_sim_credential(alice, sim, "anthropic", key=SECRET)
    run = start_run(
        alice,
        [(deepseek, "deepseek-chat"), (anthropic, "claude-haiku-4-5")],
        prefix="```python\n",
        stop=["```"],
    )
    client = Client()
    client.force_login(alice)
    response = client.get(f"/runs/{run.code}/stream/")

    async def drain() -> None:
        await body_of(response)
        await aclose_client()

    async_to_sync(drain)()
    return run


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_inspects_the_exact_exchange_without_the_key(finished_run: Run, alice: Any) -> None:
    for segment in Segment.objects.filter(column__run=finished_run):
        assert SECRET not in str(segment.request_dump)
        assert SECRET not in segment.response_raw
    body = _client(alice).get(f"/runs/{finished_run.code}/columns/0/inspect/").content.decode()
    assert "/deepseek/beta/chat/completions" in body
    assert "&quot;prefix&quot;: true" in body
    assert "data: " in body  # the raw stream as it came
    assert SECRET not in body
    anthropic = (
        _client(alice)
        .get(f"/runs/{finished_run.code}/columns/1/inspect/", headers=HX)
        .content.decode()
    )
    assert "x-api-key" in anthropic and "event: message_start" in anthropic
    assert SECRET not in anthropic and "<html" not in anthropic


def test_it_exports_a_valid_curl_command_in_the_dialect(finished_run: Run, alice: Any) -> None:
    body = _client(alice).get(f"/runs/{finished_run.code}/columns/0/code/")
    html = body.content.decode()
    assert SECRET not in html
    import html as htmllib
    import re

    blocks = re.findall(
        r'<pre class="code-block" data-language="(\w+)"[^>]*>(.*?)</pre>', html, re.S
    )
    code = {language: htmllib.unescape(text) for language, text in blocks}
    curl = code["shell"]
    words = shlex.split(curl)
    assert words[0] == "curl"
    assert any(word.endswith("/deepseek/beta/chat/completions") for word in words)
    assert '"prefix": true' in curl and "$DEEPSEEK_API_KEY" in curl
    assert subprocess.run(["bash", "-n"], input=curl, text=True).returncode == 0
    compile(code["python"], "export.py", "exec")


def test_it_diffs_two_columns_word_by_word(finished_run: Run, alice: Any) -> None:
    body = _client(alice).get(f"/runs/{finished_run.code}/diff/?a=0&b=1").content.decode()
    assert "% alike" in body
    assert '<ins class="diff-ins">' in body or '<del class="diff-del">' in body
    same = _client(alice).get(f"/runs/{finished_run.code}/diff/?a=0&b=0").content.decode()
    assert "100.0% alike" in same and 'diff-ins">' not in same.split("word-diff")[1]


def test_it_opens_compare_with_a_column_as_the_prefix(finished_run: Run, alice: Any) -> None:
    column = finished_run.columns.get(position=1)
    body = _client(alice).get(f"/runs/?run={finished_run.code}&use=1").content.decode()
    import html as htmllib

    assert htmllib.escape(column.full_text, quote=False) in body


def test_it_shares_a_run_read_only_and_revokes_it(
    finished_run: Run, alice: Any, client: Client
) -> None:
    owner = _client(alice)
    owner.post(f"/runs/{finished_run.code}/share/", {"action": "share"})
    finished_run.refresh_from_db()
    token = finished_run.share_token
    assert token and len(token) >= 30

    public = client.get(f"/runs/shared/{token}/")  # logged out
    body = public.content.decode()
    assert public.status_code == 200
    assert "Shared run" in body
    text = finished_run.columns.get(position=0).text
    assert text.strip().splitlines()[0] in body
    assert "deepseek sim" not in body  # credential labels stay private
    assert "Inspect" not in body and "Continue" not in body and "/stream/" not in body
    assert SECRET not in body
    # The link reaches nothing else.
    assert client.get(f"/runs/{finished_run.code}/").status_code == 302
    assert client.get(f"/runs/{finished_run.code}/columns/0/inspect/").status_code == 302
    assert client.get("/runs/shared/not-a-real-token/").status_code == 404

    owner.post(f"/runs/{finished_run.code}/share/", {"action": "revoke"})
    assert client.get(f"/runs/shared/{token}/").status_code == 404


def test_it_keeps_every_tool_to_the_runs_owner(finished_run: Run, bob: Any) -> None:
    other = _client(bob)
    code = finished_run.code
    for url in (
        f"/runs/{code}/columns/0/inspect/",
        f"/runs/{code}/columns/0/code/",
        f"/runs/{code}/diff/",
    ):
        assert other.get(url).status_code == 404
    for url in (
        f"/runs/{code}/columns/0/continue/",
        f"/runs/{code}/columns/0/segments/0/retry/",
        f"/runs/{code}/share/",
    ):
        assert other.post(url).status_code == 404
