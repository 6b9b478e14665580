from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from playground.accounts import urls as accounts_urls

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "signup", "invite_accept"}
SAMPLE_KWARGS = {"code": uuid.uuid4(), "pk": 1, "token": "some-token"}


def _accounts_url_names() -> list[str]:
    return [p.name for p in accounts_urls.urlpatterns if isinstance(p, URLPattern) and p.name]


def _url(name: str) -> str:
    pattern = next(p for p in accounts_urls.urlpatterns if p.name == name)
    kwargs = {key: SAMPLE_KWARGS[key] for key in pattern.pattern.converters}
    return reverse(f"accounts:{name}", kwargs=kwargs)


@pytest.mark.parametrize("name", sorted(set(_accounts_url_names()) - PUBLIC))
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_visitors_to_login(client: Client, name: str, method: str) -> None:
    url = _url(name)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login") + "?next=")


def test_it_names_only_existing_urls_as_public() -> None:
    # A renamed public URL would otherwise drop out of both lists unnoticed.
    assert PUBLIC.issubset(_accounts_url_names())


def test_it_requires_login_for_home(client: Client) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ["landing", "accounts:login", "accounts:signup"])
def test_it_serves_the_public_pages_to_anonymous_visitors(client: Client, name: str) -> None:
    assert client.get(reverse(name)).status_code == 200
