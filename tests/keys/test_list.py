from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.providers.catalog import provider_choices
from tests.keys.factories import SECRET, make_credential

LIST = reverse("keys:list")


def test_it_explains_credentials_when_there_are_none(alice_client: Client) -> None:
    response = alice_client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No API keys yet" in body
    assert "encrypted" in body
    assert "never shown again" in body


def test_it_lists_the_users_credentials_masked(alice_client: Client, alice: User) -> None:
    make_credential(alice, label="Work DeepSeek")
    make_credential(
        alice,
        provider="dashscope",
        label="Qwen Singapore",
        base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    )
    body = alice_client.get(LIST).content.decode()
    assert "Work DeepSeek" in body
    assert "Qwen Singapore" in body
    assert "https://dashscope-intl.aliyuncs.com/compatible-mode/v1" in body
    assert body.count('<span class="key-mask">…7890</span>') == 2
    assert SECRET not in body
    assert "THISISASECRETKEY" not in body


def test_it_shows_nobody_elses_credentials(alice_client: Client, bob: User) -> None:
    make_credential(bob, label="Bob's own")
    body = alice_client.get(LIST).content.decode()
    assert "Bob's own" not in body
    assert "No API keys yet" in body


def test_it_offers_every_catalog_provider(alice_client: Client) -> None:
    body = alice_client.get(LIST).content.decode()
    select = re.search(r'<select name="provider".*?</select>', body, re.S)
    assert select is not None
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))
    assert options == provider_choices()


def test_it_labels_a_simulator_credential(alice_client: Client, alice: User) -> None:
    make_credential(alice, base_url="http://127.0.0.1:8000/sim/deepseek")
    assert "badge-sim" in alice_client.get(LIST).content.decode()


def test_it_redirects_anonymous_visitors_to_log_in(client: Client, db: None) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
