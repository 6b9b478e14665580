from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.keys.models import Credential
from tests.keys.factories import SECRET, make_credential

HTMX = {"HTTP_HX_REQUEST": "true"}
NEW_KEY = "sk-replacement-NEWSECRET-abcd"


def test_it_turns_a_row_into_a_rename_form(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Old name")
    response = alice_client.get(reverse("keys:rename", args=[credential.code]), **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="cred-{credential.code}"')
    assert 'name="label"' in body
    assert 'value="Old name"' in body
    assert f'hx-get="{reverse("keys:row", args=[credential.code])}"' in body  # cancel


def test_it_renames_inline(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Old name")
    url = reverse("keys:rename", args=[credential.code])
    body = alice_client.post(url, {"label": "New name"}, **HTMX).content.decode()
    assert body.lstrip().startswith(f'<tr id="cred-{credential.code}"')
    assert "New name" in body
    assert 'name="label"' not in body
    credential.refresh_from_db()
    assert credential.label == "New name"
    assert credential.reveal_key() == SECRET


def test_it_keeps_the_inline_form_open_on_a_blank_name(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Old name")
    url = reverse("keys:rename", args=[credential.code])
    response = alice_client.post(url, {"label": "  "}, **HTMX)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    credential.refresh_from_db()
    assert credential.label == "Old name"


def test_it_renames_without_javascript(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Old name")
    url = reverse("keys:rename", args=[credential.code])
    page = alice_client.get(url).content.decode()
    assert "<html" in page
    assert f'action="{url}"' in page
    response = alice_client.post(url, {"label": "New name"})
    assert response.status_code == 302
    assert "Renamed to “New name”." in alice_client.get(response["Location"]).content.decode()


def test_it_replaces_the_key(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice)
    url = reverse("keys:replace_key", args=[credential.code])
    form = alice_client.get(url, **HTMX).content.decode()
    assert 'type="password"' in form
    body = alice_client.post(url, {"api_key": NEW_KEY}, **HTMX).content.decode()
    assert "…abcd" in body
    assert NEW_KEY not in body
    credential.refresh_from_db()
    assert credential.reveal_key() == NEW_KEY
    assert credential.key_last4 == "abcd"


def test_it_keeps_the_old_key_when_the_new_one_is_refused(
    alice_client: Client, alice: User
) -> None:
    credential = make_credential(alice)
    url = reverse("keys:replace_key", args=[credential.code])
    body = alice_client.post(url, {"api_key": "sk-with space-abcd"}, **HTMX).content.decode()
    assert "single line without spaces" in body
    assert "For your safety the key was not kept; paste it again." in body
    assert "sk-with space-abcd" not in body
    credential.refresh_from_db()
    assert credential.reveal_key() == SECRET


def test_it_changes_the_base_url(alice_client: Client, alice: User, settings: Any) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    credential = make_credential(alice, provider="dashscope")
    url = reverse("keys:endpoint", args=[credential.code])
    singapore = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    body = alice_client.post(url, {"base_url": singapore, "provider": "openai"}, **HTMX)
    assert singapore in body.content.decode()
    credential.refresh_from_db()
    assert credential.base_url == singapore
    assert credential.provider == "dashscope"  # fixed after creation


def test_it_applies_the_base_url_policy_when_editing(
    alice_client: Client, alice: User, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    credential = make_credential(alice)
    url = reverse("keys:endpoint", args=[credential.code])
    body = alice_client.post(url, {"base_url": "http://192.168.1.2/v1"}, **HTMX).content.decode()
    assert "Base URLs must use https." in body
    assert 'value="http://192.168.1.2/v1"' in body
    credential.refresh_from_db()
    assert credential.base_url == ""


def test_it_changes_the_dialect_of_a_generic_endpoint(alice_client: Client, alice: User) -> None:
    credential = make_credential(
        alice, provider="openai_compatible", base_url="https://llm.example.com/v1", dialect="plain"
    )
    url = reverse("keys:endpoint", args=[credential.code])
    form = alice_client.get(url, **HTMX).content.decode()
    assert 'name="dialect"' in form
    alice_client.post(url, {"base_url": "https://llm.example.com/v1", "dialect": "sglang"}, **HTMX)
    credential.refresh_from_db()
    assert credential.dialect == "sglang"


def test_it_offers_no_dialect_for_a_provider_that_fixes_its_own(
    alice_client: Client, alice: User
) -> None:
    credential = make_credential(alice, provider="mistral")
    url = reverse("keys:endpoint", args=[credential.code])
    assert 'name="dialect"' not in alice_client.get(url, **HTMX).content.decode()


def test_it_swaps_the_row_back_on_cancel(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, label="Kept")
    url = reverse("keys:row", args=[credential.code])
    body = alice_client.get(url, **HTMX).content.decode()
    assert body.lstrip().startswith(f'<tr id="cred-{credential.code}"')
    assert "Kept" in body
    assert alice_client.get(url)["Location"] == reverse("keys:list")


def test_it_leaves_other_credentials_alone(alice_client: Client, alice: User) -> None:
    target = make_credential(alice, label="Target")
    other = make_credential(alice, label="Other")
    alice_client.post(reverse("keys:rename", args=[target.code]), {"label": "Renamed"}, **HTMX)
    assert Credential.objects.get(pk=other.pk).label == "Other"
