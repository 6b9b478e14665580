"""Shared fixtures.

alice owns team Acme; bob is an editor and victor a viewer in Acme; charlie is an outsider
who owns his own team, Other. Each has a logged-in test client (`alice_client`, ...).
`live_url` serves the whole ASGI site (Django + simulator) with uvicorn on a free loopback port;
`page` is a headless Chromium page driven by Playwright.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from playground.accounts.models import Role, Team, User
from tests.factories import add_member, make_team, make_user
from tests.servers import serving

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _fast_and_plain(settings: Any) -> None:
    # A fast hasher, and static files without the manifest (which needs collectstatic).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: Any, settings: Any, django_db_blocker: Any) -> None:
    """Generous rate limits, counted from zero in every test that uses the database.

    The counters live in a cache table that no model owns, so a database flush between tests
    leaves them; tests of the limits themselves set small ones (tests/accounts/test_rate_limits).
    """
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "100000/m")
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        from django.core.cache import caches

        with django_db_blocker.unblock():
            caches["ratelimit"].clear()


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Close connections other threads left open, so PostgreSQL can drop the test database.

    Async tests run their sync ORM calls on asgiref's worker thread, and the live server on its
    own; their connections outlive the tests, and DROP DATABASE refuses while they exist.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def alice(db: None) -> User:
    return make_user("alice")


@pytest.fixture
def team(alice: User) -> Team:
    return make_team(alice, "Acme")


@pytest.fixture
def bob(team: Team) -> User:
    user = make_user("bob")
    add_member(team, user, Role.EDITOR)
    return user


@pytest.fixture
def victor(team: Team) -> User:
    user = make_user("victor")
    add_member(team, user, Role.VIEWER)
    return user


@pytest.fixture
def charlie(db: None) -> User:
    user = make_user("charlie")
    make_team(user, "Other")
    return user


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice: User, team: Team) -> Client:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return _client_for(bob)


@pytest.fixture
def victor_client(victor: User) -> Client:
    return _client_for(victor)


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    return _client_for(charlie)


@pytest.fixture(scope="session")
def _uvicorn_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Serve the ASGI app from a thread of this process, against the test database."""
    from django.conf import settings

    # Static files come straight from static/ and the apps, as under `make run`.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    with (
        django_db_blocker.unblock(),
        serving(
            "playground.asgi:application",
            name="uvicorn-live",
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        ) as url,
    ):
        yield url


@pytest.fixture
def live_url(_uvicorn_server: str, transactional_db: None) -> str:
    """Return the base URL of the live site; data the test saves is visible to it."""
    return _uvicorn_server


@pytest.fixture(scope="module")
def _browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while
    # it is open, and async tests in later modules need to start loops of their own.
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(browser tests are never skipped)."
        )
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(_browser: Any) -> Iterator[Any]:
    context = _browser.new_context(viewport={"width": 1360, "height": 900})
    # A hang guard, not a speed limit: every wait is for something to show, and on a busy
    # machine a first page render may take a while.
    context.set_default_timeout(60_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: Any) -> Any:
    return browser_context.new_page()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # From the top: a full-page shot taken mid-scroll paints the sticky header mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, live_url: str, username: str, password: str) -> None:
    """Log `username` in through the real login form."""
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def sign_up(page: Any, live_url: str, username: str, password: str) -> None:
    """Sign `username` up through the real sign-up form."""
    page.goto(f"{live_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_url}/home/")


def add_simulator_keys(page: Any, live_url: str) -> None:
    """Give the signed-in user the simulator keys with the Keys page's button."""
    page.goto(f"{live_url}/keys/")
    page.click("text=Add simulator keys")
    page.wait_for_selector("text=Simulator · Mistral")


def record_streams(page: Any) -> list[str]:
    """Return a list that receives every run stream's response body, whole, as the page gets it."""
    import re

    bodies: list[str] = []

    def record(route: Any) -> None:
        response = route.fetch(timeout=60_000)
        body = response.text()
        bodies.append(body)
        route.fulfill(response=response, body=body)

    page.route(re.compile(r".*/runs/[0-9a-f-]+/stream/.*"), record)
    return bodies
