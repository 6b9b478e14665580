from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.keys.models import Credential
from playground.providers.catalog import get_provider
from tests.keys.factories import SECRET

ADD = reverse("keys:add")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _post(client: Client, htmx: bool = True, **fields: str) -> Any:
    data = {"provider": "deepseek", "label": "Personal", "api_key": SECRET, "base_url": ""}
    data.update(fields)
    return client.post(ADD, data, **(HTMX if htmx else {}))


def test_it_adds_a_credential_without_javascript(alice_client: Client, alice: User) -> None:
    response = _post(alice_client, htmx=False, api_key=f"  {SECRET}\n")
    assert response.status_code == 302
    assert response["Location"] == reverse("keys:list")
    credential = Credential.objects.get(user=alice)
    assert credential.reveal_key() == SECRET
    assert (credential.provider, credential.label, credential.base_url) == (
        "deepseek",
        "Personal",
        "",
    )
    page = alice_client.get(response["Location"]).content.decode()
    assert "Added “Personal”" in page
    assert "…7890" in page


def test_it_swaps_in_the_new_row_and_a_fresh_form(alice_client: Client, alice: User) -> None:
    response = _post(alice_client, label="Work")
    assert response.status_code == 200
    body = response.content.decode()
    credential = Credential.objects.get(user=alice)
    assert f'id="cred-{credential.code}"' in body
    assert 'hx-swap-oob="true"' in body
    assert 'id="add-form"' in body
    assert "Added “Work”" in body
    assert 'value="Work"' not in body  # the form is reset
    assert "<html" not in body


@pytest.mark.parametrize("htmx", [True, False])
def test_it_keeps_the_typed_fields_but_not_the_key_when_refused(
    alice_client: Client, settings: Any, htmx: bool
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    response = _post(alice_client, htmx=htmx, label="Local", base_url="http://127.0.0.1:8000/v1")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="Local"' in body
    assert 'value="http://127.0.0.1:8000/v1"' in body
    assert "Base URLs must use https." in body
    assert "For your safety the key was not kept; paste it again." in body
    assert SECRET not in body
    assert not Credential.objects.exists()
    assert ("<html" in body) is not htmx


def test_it_allows_private_base_urls_when_the_site_does(
    alice_client: Client, alice: User, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = True
    _post(alice_client, base_url="http://127.0.0.1:8000/sim/deepseek/")
    assert Credential.objects.get(user=alice).base_url == "http://127.0.0.1:8000/sim/deepseek"


def test_it_refuses_private_addresses_over_https_too(alice_client: Client, settings: Any) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    body = _post(alice_client, base_url="https://10.0.0.5/v1").content.decode()
    assert "private, loopback or link-local" in body
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://127.1/v1", "https://0x7f000001/v1", "https://2130706433/v1"]
)
def test_it_refuses_numeric_forms_of_loopback_when_saved(
    alice_client: Client, settings: Any, url: str
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    body = _post(alice_client, base_url=url).content.decode()
    assert "private, loopback or link-local" in body
    assert not Credential.objects.exists()


def test_it_never_echoes_a_base_url_carrying_credentials(alice_client: Client) -> None:
    body = _post(alice_client, base_url=f"https://me:{SECRET}@llm.example.com/v1").content.decode()
    assert "Put the API key in the key field" in body
    assert SECRET not in body
    assert not Credential.objects.exists()


def test_it_refuses_a_base_url_it_cannot_parse(alice_client: Client) -> None:
    body = _post(alice_client, base_url="https://[::1/v1").content.decode()
    assert "Enter a valid URL" in body
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Paste the API key"),
        ("   ", "Paste the API key"),
        ("sk-has a-space-1234", "single line without spaces"),
        ("sk-two\nlines-1234", "single line without spaces"),
        ("sk-1", "at least 8 characters"),
    ],
)
def test_it_refuses_a_malformed_key(alice_client: Client, key: str, message: str) -> None:
    body = _post(alice_client, api_key=key).content.decode()
    assert message in body
    assert not Credential.objects.exists()
    if key.strip():
        assert key not in body


def test_it_refuses_an_unknown_provider(alice_client: Client) -> None:
    body = _post(alice_client, provider="nonesuch").content.decode()
    assert "Select a valid choice" in body
    assert not Credential.objects.exists()


def test_it_requires_a_label(alice_client: Client) -> None:
    body = _post(alice_client, label="").content.decode()
    assert "This field is required." in body
    assert not Credential.objects.exists()


def test_it_stores_the_chosen_dialect_of_a_generic_endpoint(
    alice_client: Client, alice: User
) -> None:
    _post(
        alice_client,
        provider="openai_compatible",
        base_url="https://llm.example.com/v1",
        dialect="vllm",
    )
    credential = Credential.objects.get(user=alice)
    assert credential.dialect == "vllm"
    assert credential.effective_dialect == "vllm"


def test_it_asks_a_generic_endpoint_for_its_base_url_and_dialect(alice_client: Client) -> None:
    body = _post(alice_client, provider="openai_compatible").content.decode()
    assert "This endpoint has no default: enter its base URL." in body
    assert "Choose how this endpoint takes a prefix." in body
    assert not Credential.objects.exists()


def test_it_ignores_a_dialect_for_a_provider_that_fixes_its_own(
    alice_client: Client, alice: User
) -> None:
    _post(alice_client, provider="mistral", dialect="vllm")
    credential = Credential.objects.get(user=alice)
    assert credential.dialect == ""
    assert credential.effective_dialect == get_provider("mistral").dialect


def test_it_shapes_the_endpoint_fields_for_the_chosen_provider(alice_client: Client) -> None:
    url = reverse("keys:endpoint_fields")
    deepseek = alice_client.get(url, {"provider": "deepseek"}, **HTMX).content.decode()
    assert f'placeholder="{get_provider("deepseek").default_base_url}"' in deepseek
    assert 'name="dialect"' not in deepseek
    generic = alice_client.get(url, {"provider": "openai_compatible"}, **HTMX).content.decode()
    assert 'name="dialect"' in generic
    assert 'value="sglang"' in generic
    openai = alice_client.get(url, {"provider": "openai"}, **HTMX).content.decode()
    assert "does not support prefix continuation" in openai
