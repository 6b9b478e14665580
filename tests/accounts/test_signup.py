from __future__ import annotations

import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from tests.factories import make_user

pytestmark = pytest.mark.django_db

SIGNUP = reverse("accounts:signup")
GOOD = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def test_it_creates_the_account_logs_in_and_lands_on_home(client: Client) -> None:
    response = client.post(SIGNUP, GOOD)

    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert user.check_password("a-long-and-unusual-passphrase")
    assert get_user(client).pk == user.pk


def test_it_allows_an_empty_email(client: Client) -> None:
    response = client.post(SIGNUP, {**GOOD, "email": ""})

    assert response.status_code == 302
    assert User.objects.get(username="newbie").email == ""


def test_it_keeps_the_username_and_shows_the_error_when_passwords_differ(client: Client) -> None:
    response = client.post(SIGNUP, {**GOOD, "password2": "something-else-entirely"})

    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="newbie"' in body
    assert "The two password fields didn’t match." in body
    assert not User.objects.filter(username="newbie").exists()


def test_it_applies_the_password_validators(client: Client) -> None:
    response = client.post(SIGNUP, {**GOOD, "password1": "12345678", "password2": "12345678"})

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_it_refuses_a_taken_username_whatever_its_case(client: Client) -> None:
    make_user("newbie")

    response = client.post(SIGNUP, {**GOOD, "username": "NewBie"})

    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()
    assert User.objects.filter(username__iexact="newbie").count() == 1


def test_it_follows_a_safe_next_and_ignores_an_unsafe_one(client: Client) -> None:
    response = client.post(SIGNUP + "?next=/accounts/teams/", GOOD)
    assert response.url == "/accounts/teams/"

    other = Client()
    response = other.post(SIGNUP, {**GOOD, "username": "second", "next": "https://evil.test/"})
    assert response.url == reverse("home")


def test_it_sends_a_signed_in_user_home(alice_client: Client) -> None:
    response = alice_client.get(SIGNUP)

    assert response.status_code == 302
    assert response.url == reverse("home")
