"""The offline demo's simulator credentials: one click on the vault page, or `setup_demo`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from playground.accounts.models import User
from playground.keys.models import SIMULATOR_SET, Credential
from playground.prompts.models import PrefixTemplate

pytestmark = pytest.mark.django_db


def test_it_adds_one_simulator_credential_per_dialect(alice_client: Client, alice: Any) -> None:
    response = alice_client.post("/keys/add/simulator/")
    assert response.status_code == 302
    credentials = Credential.objects.for_user(alice)
    assert sorted(c.provider for c in credentials) == sorted(p for p, _ in SIMULATOR_SET)
    assert len({c.effective_dialect for c in credentials}) >= 3
    for credential in credentials:
        assert credential.is_simulator
        assert credential.base_url.startswith(f"http://testserver/sim/{credential.provider}")
    page = alice_client.get("/keys/").content.decode()
    assert page.count("badge-sim") >= len(SIMULATOR_SET)

    alice_client.post("/keys/add/simulator/")  # again: updated, not duplicated
    assert Credential.objects.for_user(alice).count() == len(SIMULATOR_SET)


def test_it_offers_no_simulator_when_it_is_off(
    alice_client: Client, alice: Any, settings: Any
) -> None:
    settings.SIMULATOR_ENABLED = False
    assert "Add simulator keys" not in alice_client.get("/keys/").content.decode()
    assert alice_client.post("/keys/add/simulator/").status_code == 404
    assert not Credential.objects.exists()


def test_it_sets_up_the_demo_account_for_an_offline_first_run() -> None:
    out = StringIO()
    call_command("setup_demo", "--origin", "http://127.0.0.1:9000", stdout=out)
    call_command("setup_demo", "--origin", "http://127.0.0.1:9000", stdout=out)

    demo = User.objects.get(username="demo")
    assert demo.check_password("prefix-playground-demo")
    credentials = Credential.objects.for_user(demo)
    assert credentials.count() == len(SIMULATOR_SET)
    assert all(c.base_url.startswith("http://127.0.0.1:9000/sim/") for c in credentials)
    assert PrefixTemplate.objects.filter(owner=None, visibility="public").count() >= 15
    assert "username 'demo', password 'prefix-playground-demo'" in out.getvalue()
