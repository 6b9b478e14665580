"""Every mode the seed providers offer, over loopback HTTP to the simulator: fill in the middle,
images, JSON output, DeepSeek's reasoning prefix; and the upload rules for images."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground.providers.base import Turn
from playground.providers.prompt import Prompt
from playground.runs.models import ImageUpload, Run, Segment
from tests.runs.conftest import Sim, make_sim_credential, start_run
from tests.streams import data_of, event_names, read_stream

# A 1×1 transparent PNG, and one padded past what a saved request dump keeps inline.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
BIG_PNG = PNG + bytes(600)
HX = {"HX-Request": "true"}


def _record(sim: Sim, model: str) -> Any:
    return next(r for r in reversed(sim.app.requests) if r.model == model)


async def _segments(run: Run) -> list[Segment]:
    return [s async for s in Segment.objects.filter(column__run=run).order_by("column__position")]


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_it_fills_in_the_middle_where_it_can_and_says_why_not_elsewhere(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    prefix = "def fib(a):\n"
    suffix = "    return fib(a-1) + fib(a-2)\n"

    @sync_to_async
    def setup() -> Run:
        deepseek = make_sim_credential(alice, sim, "deepseek")
        qwen = make_sim_credential(alice, sim, "dashscope")
        return start_run(
            alice, [(deepseek, "deepseek-chat"), (qwen, "qwen-plus")], prefix=prefix, suffix=suffix
        )

    run = await setup()
    before = len(sim.app.requests)
    await async_client.aforce_login(alice)
    await read_stream(async_client, run)

    fim, refused = await _segments(run)
    assert fim.status == "done" and fim.text
    record = _record(sim, "deepseek-chat")
    assert record.path == "/deepseek/beta/completions"
    assert record.body["prompt"] == prefix and record.body["suffix"] == suffix
    assert refused.status == "skipped"
    assert "fill-in-the-middle" in refused.error_message.lower()
    assert len(sim.app.requests) == before + 1  # the second target sent nothing

    page = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    column = page[page.index('class="column"') :]
    middle = column.index('class="continuation fim-middle"')
    assert column.index('class="prefix-text"') < middle < column.index('class="suffix-text"')


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_it_sends_images_in_each_dialects_shape(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        upload = ImageUpload.objects.create(
            user=alice, name="dot.png", content_type="image/png", data=BIG_PNG, size=len(BIG_PNG)
        )
        qwen = make_sim_credential(alice, sim, "dashscope")
        claude = make_sim_credential(alice, sim, "anthropic")
        deepseek = make_sim_credential(alice, sim, "deepseek")
        turns = [
            {
                "role": "user",
                "content": "Write a caption for this picture.",
                "images": [upload.reference, "https://example.com/cat.png"],
            }
        ]
        return start_run(
            alice,
            [(qwen, "qwen3-vl-plus"), (claude, "claude-haiku-4-5"), (deepseek, "deepseek-chat")],
            prefix="Today I found",
            turns=turns,
        )

    run = await setup()
    await async_client.aforce_login(alice)
    await read_stream(async_client, run)

    qwen, claude, deepseek = await _segments(run)
    data_url = "data:image/png;base64," + base64.b64encode(BIG_PNG).decode()
    user = _record(sim, "qwen3-vl-plus").body["messages"][0]
    assert user["role"] == "user"
    assert {"type": "image_url", "image_url": {"url": data_url}} in user["content"]
    assert {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}} in user[
        "content"
    ]
    assert {"type": "text", "text": "Write a caption for this picture."} in user["content"]
    anthropic_user = _record(sim, "claude-haiku-4-5").body["messages"][0]
    kinds = [part["type"] for part in anthropic_user["content"]]
    assert kinds.count("image") == 2
    assert {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(BIG_PNG).decode(),
    } in [part.get("source") for part in anthropic_user["content"]]
    assert qwen.status == "done" and claude.status == "done"
    assert deepseek.status == "skipped" and "images" in deepseek.error_message
    # Inspect stays readable: the inline image is cut to its header in the saved dump.
    assert "… [" in str(qwen.request_dump)
    assert base64.b64encode(BIG_PNG).decode() not in str(qwen.request_dump)


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_it_refuses_moonshot_json_mode_with_a_prefix_before_sending(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        kimi = make_sim_credential(alice, sim, "moonshot")
        qwen = make_sim_credential(alice, sim, "dashscope")
        run = Run.objects.start(
            user=alice,
            prompt=Prompt(turns=(Turn("user", "Name, size, price as JSON."),), prefix="{"),
            targets=[
                {"credential": kimi, "model": "kimi-k2.5", "overrides": {"json_mode": True}},
                {"credential": qwen, "model": "qwen-plus", "overrides": {"json_mode": True}},
            ],
        )
        return run

    run = await setup()
    before = len(sim.app.requests)
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)

    kimi, qwen = await _segments(run)
    assert kimi.status == "skipped"
    assert "JSON" in kimi.error_message and "partial" in kimi.error_message.lower()
    assert qwen.status == "done"
    assert _record(sim, "qwen-plus").body["response_format"] == {"type": "json_object"}
    assert len(sim.app.requests) == before + 1
    page = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    assert "Valid JSON · pretty view" in page  # "{" + the continuation parses
    assert "Valid JSON · pretty view" in data_of(body, "col-1-end")  # while streaming too


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_it_sends_a_deepseek_reasoning_prefix_and_shows_reasoning_first(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    @sync_to_async
    def setup() -> Run:
        deepseek = make_sim_credential(alice, sim, "deepseek")
        return start_run(
            alice,
            [(deepseek, "deepseek-reasoner")],
            prefix="",
            reasoning_prefix="Compare the tenths digit first:",
            turns=[{"role": "user", "content": "9.11 and 9.8, which is greater?", "images": []}],
        )

    run = await setup()
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)

    record = _record(sim, "deepseek-reasoner")
    assert record.path == "/deepseek/beta/chat/completions"
    last = record.body["messages"][-1]
    assert last["role"] == "assistant" and last["prefix"] is True
    assert last["reasoning_content"] == "Compare the tenths digit first:"
    events = event_names(body)
    assert events.index("col-0-reasoning") < events.index("col-0-text")
    (segment,) = await _segments(run)
    assert segment.reasoning and segment.text
    page = (await async_client.get(f"/runs/{run.code}/")).content.decode()
    assert page.index("Compare the tenths digit first:") < page.index('class="reasoning-live"')
    assert page.index('class="reasoning-live"') < page.index('class="continuation')


@pytest.mark.django_db
def test_it_uploads_an_image_and_adds_it_to_the_turn(alice_client: Client, alice: Any) -> None:
    response = alice_client.post(
        "/runs/images/?turn=2",
        {
            "image": SimpleUploadedFile("dot.png", PNG),
            "turns-2-images": "https://example.com/a.png",
        },
        headers=HX,
    )
    body = response.content.decode()
    upload = ImageUpload.objects.get()
    assert upload.user == alice and upload.content_type == "image/png"
    assert "Added dot.png" in body
    assert f"https://example.com/a.png\nupload:{upload.code}" in body
    assert 'id="turns-2-images"' in body and 'hx-swap-oob="true"' in body
    image = alice_client.get(f"/runs/images/{upload.code}/")
    assert image.content == PNG and image["Content-Type"] == "image/png"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", "not a PNG, JPEG, GIF or WebP image"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * (1_048_576 + 10), "the limit is 1 MB"),
    ],
)
def test_it_refuses_bad_uploads_with_a_clear_message(
    alice_client: Client, settings: Any, content: bytes, message: str
) -> None:
    settings.MAX_IMAGE_UPLOAD_BYTES = 1_048_576
    response = alice_client.post(
        "/runs/images/?turn=0", {"image": SimpleUploadedFile("x.png", content)}, headers=HX
    )
    assert message in response.content.decode()
    assert not ImageUpload.objects.exists()


@pytest.mark.django_db
def test_it_keeps_uploads_private(client: Client, alice: Any, charlie: Any) -> None:
    upload = ImageUpload.objects.create(
        user=alice, content_type="image/png", data=PNG, size=len(PNG)
    )
    assert client.get(f"/runs/images/{upload.code}/").status_code == 302
    client.force_login(charlie)
    assert client.get(f"/runs/images/{upload.code}/").status_code == 404


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_upstream")
async def test_a_saved_malformed_upload_reference_refuses_the_column_instead_of_failing(
    async_client: Any, alice: Any, sim: Sim
) -> None:
    """Runs saved before references were checked may hold `upload:<junk>`: no 500 anywhere."""

    @sync_to_async
    def setup() -> Run:
        qwen = make_sim_credential(alice, sim, "dashscope")
        turns = [{"role": "user", "content": "Describe it.", "images": ["upload:not-a-uuid"]}]
        return start_run(alice, [(qwen, "qwen-vl-plus")], turns=turns)

    run = await setup()
    await async_client.aforce_login(alice)
    body = await read_stream(async_client, run)
    assert "run-done" in body
    (segment,) = await _segments(run)
    assert segment.status in {"skipped", "error"} and segment.error_message
    page = await async_client.get(f"/runs/{run.code}/")
    assert page.status_code == 200
