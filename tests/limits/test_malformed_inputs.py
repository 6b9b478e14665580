"""Inputs that once made a 500: junk filters, a malformed port, a junk upload reference, and
the per-user image quota."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground.keys.models import Credential, ProbeResult
from playground.runs.models import ImageUpload, Run
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run

HX = {"HX-Request": "true"}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.mark.django_db
@pytest.mark.parametrize("junk", ["x" * 36, "{" + "0" * 34 + "}", "ü" * 36, "\x00", "1" * 5000])
def test_the_history_filter_ignores_a_template_code_that_is_not_a_uuid(
    alice_client: Client, alice: Any, junk: str
) -> None:
    start_run(alice, [(make_credential(alice), "deepseek-chat")])
    response = alice_client.get("/runs/history/", {"template": junk})
    assert response.status_code == 200
    assert "match these filters" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["https://llm.example.com:80:8302/v1", "https://llm.example.com:99999", "https://x:0"]
)
def test_it_refuses_a_base_url_with_a_malformed_port_when_saved(
    alice_client: Client, url: str
) -> None:
    data = {"provider": "deepseek", "label": "x", "api_key": "sk-abcdefghijk", "base_url": url}
    response = alice_client.post("/keys/add/", data)
    assert "The port in the base URL is not a number from 1 to 65535." in response.content.decode()
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_it_probes_a_saved_malformed_port_into_an_error_not_a_500(
    alice_client: Client, alice: Any
) -> None:
    # Saved before the form checked ports.
    credential = make_credential(alice, base_url="http://127.0.0.1:80:8302/v1")
    response = alice_client.post(
        f"/keys/{credential.code}/probe/", {"model": "deepseek-chat"}, headers=HX
    )
    assert response.status_code == 200
    assert "The port in the base URL is not a number" in response.content.decode()
    assert ProbeResult.objects.get().verdict == "error"


@pytest.mark.django_db
def test_it_will_not_start_a_run_on_a_saved_malformed_port(
    alice_client: Client, alice: Any
) -> None:
    credential = make_credential(alice, base_url="http://127.0.0.1:80:8302/v1")
    data = {"prefix": "x", "t0-credential": str(credential.code), "t0-model": "deepseek-chat"}
    body = alice_client.post("/runs/new/", data, headers=HX).content.decode()
    assert "Target 1: The port in the base URL is not a number" in body
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_run_saved_with_a_junk_upload_reference_still_shows(
    alice_client: Client, alice: Any
) -> None:
    turns = [{"role": "user", "content": "Look", "images": ["upload:not-a-uuid"]}]
    run = start_run(alice, [(make_credential(alice), "deepseek-chat")], turns=turns)
    assert alice_client.get(f"/runs/{run.code}/").status_code == 200
    assert alice_client.get(f"/runs/{run.code}/columns/0/code/").status_code == 200


@pytest.mark.django_db
def test_uploads_stop_at_the_per_user_count(alice_client: Client, settings: Any) -> None:
    settings.MAX_IMAGES_PER_USER = 2
    for _ in range(2):
        alice_client.post("/runs/images/?turn=0", {"image": SimpleUploadedFile("a.png", PNG)})
    response = alice_client.post(
        "/runs/images/?turn=0", {"image": SimpleUploadedFile("a.png", PNG)}, headers=HX
    )
    assert "the most this site keeps per user (2, MAX_IMAGES_PER_USER)" in response.content.decode()
    assert ImageUpload.objects.count() == 2


@pytest.mark.django_db
def test_uploads_stop_at_the_per_user_storage(
    alice_client: Client, charlie_client: Client, settings: Any
) -> None:
    settings.MAX_IMAGE_STORAGE_MB = 1
    big = PNG + bytes(600_000)
    first = alice_client.post("/runs/images/?turn=0", {"image": SimpleUploadedFile("a.png", big)})
    assert first.status_code == 200
    response = alice_client.post(
        "/runs/images/?turn=0", {"image": SimpleUploadedFile("b.png", big)}, headers=HX
    )
    assert "each user may keep (MAX_IMAGE_STORAGE_MB)" in response.content.decode()
    assert ImageUpload.objects.count() == 1
    # The quota is per user: someone else still has room.
    charlie_client.post("/runs/images/?turn=0", {"image": SimpleUploadedFile("c.png", big)})
    assert ImageUpload.objects.count() == 2
