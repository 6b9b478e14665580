"""Another user's credential answers 404 on every URL, whether they share a team or not."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from playground.accounts.models import User
from playground.keys import urls
from playground.keys.models import Credential
from tests.keys.factories import make_credential

CODE_URL_NAMES = [
    pattern.name
    for pattern in urls.urlpatterns
    if isinstance(pattern, URLPattern) and "code" in pattern.pattern.converters
]


def test_it_knows_every_url_that_takes_a_code() -> None:
    assert set(CODE_URL_NAMES) == {"row", "rename", "replace_key", "endpoint", "delete", "probe"}


@pytest.mark.parametrize("name", CODE_URL_NAMES)
@pytest.mark.parametrize("other", ["bob_client", "charlie_client"])
def test_it_answers_404_to_anyone_but_the_owner(
    request: pytest.FixtureRequest, alice: User, name: str, other: str
) -> None:
    client: Client = request.getfixturevalue(other)
    credential = make_credential(alice, label="Alice's")
    url = reverse(f"keys:{name}", args=[credential.code])
    payload = {"label": "Hijacked", "api_key": "sk-hijack-key-0000", "base_url": ""}
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        assert client.get(url, **headers).status_code == 404
        assert client.post(url, payload, **headers).status_code == 404
    after = Credential.objects.get(pk=credential.pk)
    assert (after.label, after.key_ciphertext) == ("Alice's", credential.key_ciphertext)


@pytest.mark.parametrize("name", CODE_URL_NAMES)
def test_it_answers_404_for_an_unknown_code(alice_client: Client, name: str) -> None:
    url = reverse(f"keys:{name}", args=["00000000-0000-0000-0000-000000000000"])
    assert alice_client.get(url).status_code == 404


@pytest.mark.parametrize("pattern", urls.urlpatterns, ids=lambda pattern: pattern.name)
def test_it_sends_anonymous_visitors_to_log_in(
    client: Client, alice: User, pattern: URLPattern
) -> None:
    credential = make_credential(alice)
    args = [credential.code] if pattern.name in CODE_URL_NAMES else []
    url = reverse(f"keys:{pattern.name}", args=args)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert Credential.objects.filter(pk=credential.pk).exists()
