from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Team, User
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_it_shows_the_landing_page_with_the_providers_and_a_prefix(client: Client) -> None:
    body = client.get(reverse("landing")).content.decode()

    for name in (
        "DeepSeek",
        "DashScope",
        "Moonshot",
        "Mistral",
        "Anthropic",
        "OpenRouter",
        "vLLM",
        "SGLang",
        "llama.cpp",
        "Ollama",
        "CoresHub",
    ):
        assert name in body
    assert 'class="prefix-text"' in body
    assert reverse("accounts:signup") in body and reverse("accounts:login") in body


def test_it_sends_a_signed_in_visitor_from_landing_to_home(alice_client: Client) -> None:
    response = alice_client.get(reverse("landing"))

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_it_shows_the_checklist_and_my_teams_on_home(alice_client: Client, team: Team) -> None:
    body = alice_client.get(reverse("home")).content.decode()

    for name in ("keys:list", "prompts:list", "runs:compare"):
        assert f'href="{reverse(name)}"' in body
    assert reverse("accounts:team_detail", args=[team.code]) in body
    assert "1 member" in body


def test_it_shows_an_empty_state_on_home_without_teams(client: Client) -> None:
    client.force_login(make_user("dora"))

    body = client.get(reverse("home")).content.decode()

    assert "You are not in a team yet." in body


@pytest.mark.parametrize("model", ["user", "team", "membership", "invite"])
def test_it_registers_the_models_in_the_admin(client: Client, team: Team, model: str) -> None:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    team.create_invite("viewer", User.objects.get(username="alice"))

    response = client.get(reverse(f"admin:accounts_{model}_changelist"))

    assert response.status_code == 200
