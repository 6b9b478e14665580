from __future__ import annotations

from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.keys.models import Credential
from tests.keys.factories import make_credential

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_asks_for_confirmation_without_javascript(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Doomed")
    url = reverse("keys:delete", args=[credential.code])
    page = alice_client.get(url).content.decode()
    assert "Delete “Doomed”?" in page
    assert f'action="{url}"' in page
    assert Credential.objects.filter(pk=credential.pk).exists()
    response = alice_client.post(url)
    assert response.status_code == 302
    assert not Credential.objects.filter(pk=credential.pk).exists()
    assert "Deleted “Doomed”." in alice_client.get(response["Location"]).content.decode()


def test_it_swaps_the_row_out(alice_client: Client, alice: User) -> None:
    doomed = make_credential(alice, label="Doomed")
    make_credential(alice, label="Kept")
    response = alice_client.post(reverse("keys:delete", args=[doomed.code]), **HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip() == ""
    assert list(Credential.objects.values_list("label", flat=True)) == ["Kept"]


def test_it_shows_the_empty_state_after_the_last_one(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice)
    body = alice_client.post(reverse("keys:delete", args=[credential.code]), **HTMX)
    assert 'hx-swap-oob="true"' in body.content.decode()
    assert "No API keys yet" in body.content.decode()


def test_it_offers_delete_with_a_confirmation_prompt(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Doomed")
    body = alice_client.get(reverse("keys:list")).content.decode()
    assert f'hx-post="{reverse("keys:delete", args=[credential.code])}"' in body
    assert 'hx-confirm="Delete “Doomed”' in body
