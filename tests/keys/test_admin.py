from __future__ import annotations

from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from tests.factories import make_user
from tests.keys.factories import SECRET, make_credential


def _admin_client() -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_it_lists_credentials_masked(alice: User) -> None:
    credential = make_credential(alice, label="Alice's DeepSeek")
    body = _admin_client().get(reverse("admin:keys_credential_changelist")).content.decode()
    assert "Alice&#x27;s DeepSeek" in body
    assert "…7890" in body
    assert SECRET not in body
    assert credential.key_ciphertext not in body


def test_it_shows_neither_the_key_nor_its_ciphertext(alice: User) -> None:
    credential = make_credential(alice)
    url = reverse("admin:keys_credential_change", args=[credential.pk])
    body = _admin_client().get(url).content.decode()
    assert "…7890" in body
    assert SECRET not in body
    assert credential.key_ciphertext not in body
    assert 'name="key_ciphertext"' not in body
    assert 'name="provider"' not in body  # fixed after creation


def test_it_lets_staff_rename_but_not_change_where_requests_go(alice: User) -> None:
    credential = make_credential(alice, label="Old")
    url = reverse("admin:keys_credential_change", args=[credential.pk])
    response = _admin_client().post(
        url, {"label": "New", "base_url": "http://169.254.169.254", "provider": "openai"}
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.label, credential.base_url, credential.provider) == ("New", "", "deepseek")
    assert credential.reveal_key() == SECRET


def test_it_adds_credentials_only_through_the_vault(db: None) -> None:
    assert _admin_client().get(reverse("admin:keys_credential_add")).status_code == 403
