"""Login lockout (django-axes) and the rate limits on sign-up, password change, runs and probes.

Each refusal is a page or fragment that says what happened and when to try again, with
`Retry-After`; none is a 500 or an unexplained 403. The counters live in the shared database
(lockout) and the "ratelimit" cache (a database table here), so they hold across processes:
tests/deploy/test_procfile_site.py shows it with two uvicorn workers.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from playground.accounts.models import User
from playground.accounts.ratelimits import rate_words, wait_words
from playground.providers.prompt import Prompt
from playground.runs.models import Run
from tests.factories import PASSWORD, make_user
from tests.keys.factories import make_credential

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _small_limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.RATE_LIMITS = {
        "signup": "3/h",
        "password_change": "2/h",
        "runs": "2/m",
        "probe": "1/m",
    }


def _login(client: Client, username: str, password: str, **extra: Any) -> Any:
    data = {"username": username, "password": password}
    return client.post(reverse("accounts:login"), data, **extra)


def _retry_seconds(response: Any) -> int:
    return int(response["Retry-After"])


def test_it_locks_an_account_after_repeated_failures_even_for_the_right_password(
    client: Client, alice: User
) -> None:
    for _ in range(2):
        assert _login(client, "alice", "wrong").status_code == 200
    assert _login(client, "alice", "wrong").status_code == 429  # the third failure locks

    response = _login(client, "alice", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert "Login locked for 15 minutes" in body
    assert "Try again in 15 minutes" in body
    assert _retry_seconds(response) == 15 * 60
    assert not get_user(client).is_authenticated


def test_it_locks_a_client_address_that_tries_many_usernames(client: Client, alice: User) -> None:
    for name in ("nobody", "ghost", "admin"):
        _login(client, name, "guess", REMOTE_ADDR="203.0.113.9")

    locked = _login(client, "alice", PASSWORD, REMOTE_ADDR="203.0.113.9")
    elsewhere = _login(Client(), "alice", PASSWORD, REMOTE_ADDR="203.0.113.10")

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_it_locks_the_admin_login_too(client: Client) -> None:
    make_user("root", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "root", "password": "wrong", "next": "/admin/"})

    response = client.post(url, {"username": "root", "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 429
    body = response.content.decode()
    assert "Try again in 15 minutes" in body
    assert reverse("admin:login") in body
    assert not get_user(client).is_authenticated


def test_a_success_before_the_limit_clears_the_failures(client: Client, alice: User) -> None:
    for _ in range(2):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(2):
        _login(client, "alice", "wrong")

    assert _login(client, "alice", PASSWORD).status_code == 302


def _signup(client: Client, username: str) -> Any:
    data = {"username": username, "email": "", "password1": "x", "password2": "y"}
    return client.post(reverse("accounts:signup"), data)


def test_it_rate_limits_sign_ups_per_client_and_keeps_what_was_typed(
    client: Client, alice: User
) -> None:
    for name in ("one", "two", "three"):
        assert _signup(client, name).status_code == 200

    response = _signup(client, "alice")

    assert response.status_code == 429
    body = response.content.decode()
    assert re.search(
        r"Too many sign-ups from your network \(at most 3 an hour\)\. "
        r"Try again in \d+ (minutes|seconds)\.",
        body,
    )
    assert 0 < _retry_seconds(response) <= 3600
    assert 'value="alice"' in body
    # The refusal does not validate the form, so it cannot say the name is taken.
    assert "already exists" not in body
    other = _signup(Client(REMOTE_ADDR="198.51.100.4"), "four")
    assert other.status_code == 200


def test_it_rate_limits_password_changes(alice_client: Client) -> None:
    url = reverse("accounts:password_change")
    data = {"old_password": "guess", "new_password1": "x", "new_password2": "x"}
    for _ in range(2):
        assert alice_client.post(url, data).status_code == 200

    response = alice_client.post(url, data)

    assert response.status_code == 429
    assert "Too many password changes tried (at most 2 an hour)" in response.content.decode()
    assert alice_client.get(url).status_code == 200


def test_it_rate_limits_starting_runs_with_the_message_in_the_form(alice_client: Client) -> None:
    url = reverse("runs:create")
    for _ in range(2):
        assert alice_client.post(url, {}, **HTMX).status_code == 422  # refused as incomplete

    htmx = alice_client.post(url, {"prefix": "kept text"}, **HTMX)
    plain = alice_client.post(url, {})

    message = "You are starting runs faster than this site allows (at most 2 a minute)"
    assert htmx.status_code == 429  # htmx swaps 429 (templates/base.html): the form shows it
    assert message in htmx.content.decode()
    assert "Try again in" in htmx.content.decode()
    assert plain.status_code == 429
    assert message in plain.content.decode()
    assert not Run.objects.exists()


def test_it_counts_reruns_with_new_runs(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, provider="deepseek")
    run = Run.objects.start(
        user=alice,
        prompt=Prompt(prefix="Hello"),
        targets=[{"credential": credential, "model": "deepseek-chat", "overrides": {}}],
    )
    Run.objects.update(status="done")
    alice_client.post(reverse("runs:create"), {})
    alice_client.post(reverse("runs:create"), {})

    response = alice_client.post(reverse("runs:rerun", args=[run.code]))

    assert response.status_code == 429
    assert "at most 2 a minute" in response.content.decode()
    assert Run.objects.count() == 1


def test_it_rate_limits_probes_per_user(alice_client: Client, alice: User) -> None:
    credential = make_credential(alice, provider="openai")  # refused before anything is sent
    url = reverse("keys:probe", args=[credential.code])
    first = alice_client.post(url, {"model": "gpt-4o"}, **HTMX)
    second = alice_client.post(url, {"model": "gpt-4o"}, **HTMX)

    assert "Too many probes" not in first.content.decode()
    assert "Too many probes (at most 1 a minute). Try again in" in second.content.decode()
    assert credential.probes.count() == 1


def test_it_words_rates_and_waits() -> None:
    assert rate_words("10/h") == "10 an hour"
    assert rate_words("30/m") == "30 a minute"
    assert rate_words("5/10m") == "5 every 10 minutes"
    assert wait_words(1) == "in 1 second"
    assert wait_words(45) == "in 45 seconds"
    assert wait_words(600) == "in 10 minutes"
    assert wait_words(3 * 3600) == "in 3 hours"
