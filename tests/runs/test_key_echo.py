"""A model that echoes the request's API key (the simulator's `echokey` fault): the key, plain
or escaped, never reaches the database, the run page, the share page, Diff or Inspect, and the
column says that a secret was removed."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.runs.models import Run, Segment
from playground.runs.streaming import SECRET_REMOVED
from playground.simulator.faults import json_escaped
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import read_stream

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_upstream"),
]

KEY = "sim-ECHO-SecretKey-9f8e7d6c5b4a3210"
ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})")


def assert_no_key(text: str) -> None:
    """Fail if `text` holds the key or an 8-character piece of it, plain or \\u-escaped."""
    for candidate in (text, ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)):
        pieces = [KEY[i : i + 8] for i in range(len(KEY) - 7)]
        found = [piece for piece in pieces if piece in candidate]
        assert not found, f"key pieces {found} in {candidate[:300]!r}"


async def test_the_simulator_echoes_the_key_plain_and_escaped(sim: Sim) -> None:
    body = {
        "model": "deepseek-chat-fault-echokey",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sim.base_url("deepseek") + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert KEY in response.text
    assert json_escaped(KEY) in response.text


async def test_an_echoed_key_is_scrubbed_everywhere_it_is_kept_or_shown(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        deepseek = make_sim_credential(alice, sim, "deepseek", key=KEY)
        mistral = make_sim_credential(alice, sim, "mistral", key=KEY)
        return start_run(
            alice,
            [
                (deepseek, "deepseek-chat-fault-echokey"),
                (mistral, "mistral-small-latest-fault-echokey"),
            ],
            prefix="",
        )

    run = await setup()
    await async_client.aforce_login(alice)
    stream = await read_stream(async_client, run)
    assert_no_key(html.unescape(stream))  # the live frames too, not only what is saved

    @sync_to_async
    def check() -> None:
        segments = list(Segment.objects.filter(column__run=run).order_by("column__position"))
        assert len(segments) == 2
        for segment in segments:
            assert segment.status == "done", segment.error_message
            assert "Your key is [key], once more: [key]" in segment.text
            assert SECRET_REMOVED in segment.notes
            for value in (
                segment.text,
                segment.reasoning,
                segment.response_raw,
                segment.error_message,
                json.dumps(segment.request_dump),
            ):
                assert_no_key(value)

        client = Client()
        client.force_login(alice)
        run.refresh_from_db()
        pages = {
            "run": client.get(f"/runs/{run.code}/"),
            "diff": client.get(f"/runs/{run.code}/diff/"),
            "inspect": client.get(f"/runs/{run.code}/columns/0/inspect/"),
            "inspect-1": client.get(f"/runs/{run.code}/columns/1/inspect/"),
        }
        token = run.enable_sharing()
        pages["share"] = Client().get(f"/runs/shared/{token}/")
        for name, response in pages.items():
            assert response.status_code == 200, name
            assert_no_key(response.content.decode())
        assert SECRET_REMOVED.replace("'", "&#x27;") in pages["run"].content.decode()

    await check()
