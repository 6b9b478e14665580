"""Responses to a signed-in user carry Cache-Control: no-store; public pages and static files
keep their own caching."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["home", "keys:list", "runs:history", "accounts:teams"])
def test_it_forbids_storing_pages_for_a_signed_in_user(alice_client: Client, name: str) -> None:
    response = alice_client.get(reverse(name))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_marks_errors_and_redirects_for_a_signed_in_user_too(alice_client: Client) -> None:
    assert "no-store" in alice_client.get("/no-such-page/")["Cache-Control"]
    assert "no-store" in alice_client.get(reverse("accounts:login"))["Cache-Control"]


def test_it_leaves_anonymous_pages_alone(client: Client) -> None:
    response = client.get(reverse("landing"))

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_it_marks_responses_on_the_async_path(async_client: Any, alice: Any) -> None:
    await async_client.aforce_login(alice)

    response = await async_client.get(reverse("home"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_it_leaves_static_files_cacheable(settings: Any, alice: Any) -> None:
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()  # its middleware is built on the first request, with these settings
    client.force_login(alice)

    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
