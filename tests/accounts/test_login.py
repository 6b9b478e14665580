from __future__ import annotations

import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_logs_in_with_the_right_password(client: Client, alice: User) -> None:
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert get_user(client).pk == alice.pk


def test_it_refuses_a_wrong_password_and_says_so(client: Client, alice: User) -> None:
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not get_user(client).is_authenticated


def test_it_returns_to_next_after_login(client: Client, alice: User) -> None:
    data = {"username": "alice", "password": PASSWORD, "next": "/accounts/teams/"}

    response = client.post(reverse("accounts:login"), data)

    assert response.url == "/accounts/teams/"


def test_it_logs_out_on_post_only(alice_client: Client) -> None:
    assert alice_client.get(reverse("accounts:logout")).status_code == 405

    response = alice_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("landing")
    assert not get_user(alice_client).is_authenticated


def test_it_changes_the_password_and_keeps_the_session(alice_client: Client, alice: User) -> None:
    data = {
        "old_password": PASSWORD,
        "new_password1": "another-long-passphrase-42",
        "new_password2": "another-long-passphrase-42",
    }

    response = alice_client.post(reverse("accounts:password_change"), data, follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:password_change_done")
    assert "Your password has been changed" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase-42")
    assert get_user(alice_client).is_authenticated


def test_it_refuses_a_password_change_with_a_wrong_old_password(
    alice_client: Client, alice: User
) -> None:
    data = {
        "old_password": "wrong",
        "new_password1": "x-y-z-123456",
        "new_password2": "x-y-z-123456",
    }

    response = alice_client.post(reverse("accounts:password_change"), data)

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
