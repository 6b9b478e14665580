"""The speaker name on the prefix: from a template or the compare form to Moonshot's `name`;
every other dialect sends the prefix without it and says so in its column."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from playground.prompts.models import PrefixTemplate, Visibility
from playground.runs.models import Run, Segment
from tests.keys.factories import make_credential
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import read_stream

HX = {"HX-Request": "true"}


def _post(client: Client, credential: Any, **fields: str) -> Any:
    data = {
        "prefix": "Good evening,",
        "turns-0-role": "user",
        "turns-0-content": "Greet the guests.",
        "t0-credential": str(credential.code),
        "t0-model": "kimi-k2.5",
        **fields,
    }
    return client.post("/runs/new/", data, headers=HX)


@pytest.mark.django_db
def test_the_compare_form_saves_the_speaker_name_exactly(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice, provider="moonshot")
    _post(alice_client, credential, speaker_name=" Dr. Kelsey ")
    assert Run.objects.get().speaker_name == " Dr. Kelsey "


@pytest.mark.django_db
def test_the_compare_form_refuses_a_speaker_name_on_two_lines(
    alice_client: Client, alice: Any
) -> None:
    credential = make_credential(alice, provider="moonshot")
    response = _post(alice_client, credential, speaker_name="Kelsey\r\nAmiya")
    body = response.content.decode()
    assert "The speaker name must be one line." in body
    assert "Kelsey\r\nAmiya" in body or "Kelsey\nAmiya" in body  # what was typed is kept
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_templates_speaker_name_fills_the_compare_form(alice_client: Client, alice: Any) -> None:
    template = PrefixTemplate(
        name="Tea party",
        owner=alice,
        visibility=Visibility.PRIVATE,
        prefix="Good evening,",
        speaker_name="凯尔希",
    )
    template.save()
    page = alice_client.get(f"/runs/?template={template.code}").content.decode()
    assert 'name="speaker_name"' in page
    assert 'value="凯尔希"' in page


@pytest.mark.django_db
def test_rerun_keeps_the_speaker_name(alice_client: Client, alice: Any) -> None:
    credential = make_credential(alice, provider="moonshot")
    run = start_run(alice, [(credential, "kimi-k2.5")], speaker_name="Amiya")
    Segment.objects.filter(column__run=run).update(status="done")
    run.refresh_status()
    alice_client.post(f"/runs/{run.code}/rerun/")
    assert Run.objects.exclude(pk=run.pk).get().speaker_name == "Amiya"
    page = alice_client.get(f"/runs/{run.code}/").content.decode()
    assert '<code class="speaker-name">Amiya</code>' in page


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_moonshot_gets_the_name_and_the_others_say_they_did_not_send_it(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        kimi = make_sim_credential(alice, sim, "moonshot")
        deepseek = make_sim_credential(alice, sim, "deepseek")
        return start_run(
            alice,
            [(kimi, "kimi-k2.5"), (deepseek, "deepseek-chat")],
            prefix="Good evening,",
            speaker_name="凯尔希",
        )

    run = await setup()
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)

    kimi = next(r for r in reversed(sim.app.requests) if r.model == "kimi-k2.5")
    prefix_message = kimi.body["messages"][-1]
    assert prefix_message == {
        "role": "assistant",
        "content": "Good evening,",
        "partial": True,
        "name": "凯尔希",
    }
    deepseek = next(r for r in reversed(sim.app.requests) if r.model == "deepseek-chat")
    assert "name" not in deepseek.body["messages"][-1]
    segments = [
        s async for s in Segment.objects.filter(column__run=run).order_by("column__position")
    ]
    assert [s.status for s in segments] == ["done", "done"]
    assert not any("speaker name" in note for note in segments[0].notes)
    note = "The speaker name is a Moonshot feature; it was not sent to DeepSeek."
    assert note in segments[1].notes
    assert note in body  # shown in the column as it ends
