from __future__ import annotations

from typing import Any

import pytest

from playground.accounts.models import User
from playground.keys.models import Credential
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.keys.factories import SECRET, make_credential

pytestmark = pytest.mark.browser

REPLACEMENT = "sk-test-REPLACED-KEY-abcd"


def test_it_manages_keys_without_reloading_the_page(
    page: Any, live_url: str, alice: User, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = True
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/keys/")
    assert page.locator(".keys-empty").is_visible()
    screenshot(page, "vault-empty")
    page.evaluate("window.__marker = 1")

    page.select_option("#id_provider", "openai_compatible")
    page.wait_for_selector("#id_dialect")
    page.fill("#id_label", "Self-hosted vLLM")
    page.fill("#id_api_key", SECRET)
    page.fill("#id_base_url", "http://127.0.0.1:8000/v1")
    page.select_option("#id_dialect", "vllm")
    page.click("#add-form button[type=submit]")
    page.wait_for_selector(".keys-table td:has-text('Self-hosted vLLM')")
    assert page.evaluate("window.__marker") == 1
    assert page.input_value("#id_label") == ""
    assert page.input_value("#id_api_key") == ""
    assert "…7890" in page.inner_text(".keys-table")
    assert SECRET not in page.content()
    credential = Credential.objects.get(user=alice)
    assert (credential.dialect, credential.reveal_key()) == ("vllm", SECRET)

    row = f"#cred-{credential.code}"
    page.click(f"{row} a:has-text('Rename')")
    page.wait_for_selector(f"{row} input[name=label]")
    page.fill(f"{row} input[name=label]", "GPU box")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(f"{row} .keys-label:has-text('GPU box')")

    page.click(f"{row} a:has-text('Replace key')")
    page.wait_for_selector(f"{row} input[name=api_key]")
    page.fill(f"{row} input[name=api_key]", REPLACEMENT)
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(f"{row} .key-mask:has-text('…abcd')")
    assert page.evaluate("window.__marker") == 1
    credential.refresh_from_db()
    assert (credential.label, credential.reveal_key()) == ("GPU box", REPLACEMENT)

    make_credential(
        alice,
        provider="dashscope",
        label="Qwen Singapore",
        base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    )
    make_credential(
        alice,
        provider="deepseek",
        label="Offline demo",
        base_url=f"{live_url}/sim/deepseek",
        key="sim-demo-key-5678",
    )
    page.goto(f"{live_url}/keys/")
    screenshot(page, "vault")
    page.evaluate("window.__marker = 2")

    page.click(f"{row} a:has-text('Endpoint')")
    page.wait_for_selector(f"{row} input[name=base_url]")
    page.fill(f"{row} input[name=base_url]", "ftp://nowhere")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(f"{row} .errorlist")
    screenshot(page, "vault-edit")

    page.once("dialog", lambda dialog: dialog.accept())
    qwen = Credential.objects.get(label="Qwen Singapore")
    page.click(f"#cred-{qwen.code} a:has-text('Delete')")
    page.wait_for_selector(f"#cred-{qwen.code}", state="detached")
    assert not Credential.objects.filter(pk=qwen.pk).exists()
    assert page.evaluate("window.__marker") == 2


def test_it_asks_for_the_key_again_after_a_refused_submission(
    page: Any, live_url: str, alice: User, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/keys/")
    page.select_option("#id_provider", "dashscope")
    page.wait_for_selector("#endpoint-fields option[value*='dashscope-intl']", state="attached")
    page.fill("#id_label", "Qwen")
    page.fill("#id_api_key", SECRET)
    page.fill("#id_base_url", "http://dashscope.example.com/v1")
    page.click("#add-form button[type=submit]")
    page.wait_for_selector("#add-form .keys-dropped")
    assert page.input_value("#id_label") == "Qwen"
    assert page.input_value("#id_provider") == "dashscope"
    assert page.input_value("#id_base_url") == "http://dashscope.example.com/v1"
    assert page.input_value("#id_api_key") == ""
    assert SECRET not in page.content()
    assert not Credential.objects.exists()
    screenshot(page, "vault-add-refused")


def test_it_has_finished_pages_for_browsers_without_javascript(
    page: Any, live_url: str, alice: User
) -> None:
    credential = make_credential(alice, label="Personal")
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/keys/{credential.code}/endpoint/")
    assert page.locator("input[name=base_url]").is_visible()
    screenshot(page, "vault-endpoint-page")
    page.goto(f"{live_url}/keys/{credential.code}/delete/")
    screenshot(page, "vault-delete-page")
    page.click("main button[type=submit]")
    page.wait_for_selector(".keys-empty")
    assert not Credential.objects.exists()
