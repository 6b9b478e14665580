from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from playground.accounts.models import Role, Team
from tests.conftest import screenshot
from tests.factories import add_member, make_user

pytestmark = pytest.mark.browser

LONG_NAME = "Prefix research & evaluation — Shanghai and Berlin offices"


def _sign_up(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/accounts/signup/")
    page.fill("#id_username", "grace")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_password1", "a-long-and-unusual-passphrase")
    page.fill("#id_password2", "a-long-and-unusual-passphrase")
    screenshot(page, "signup")
    page.fill("#id_password2", "a-different-passphrase")
    page.click("main button[type=submit]")
    expect(page.locator("#id_password2_error")).to_contain_text("didn’t match")
    expect(page.locator("#id_username")).to_have_value("grace")
    screenshot(page, "signup-error")
    page.fill("#id_password1", "a-long-and-unusual-passphrase")
    page.fill("#id_password2", "a-long-and-unusual-passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_url}/home/")


def _create_team(page: Any, live_url: str) -> Team:
    page.goto(f"{live_url}/accounts/teams/")
    screenshot(page, "teams-empty")
    page.fill("#id_name", LONG_NAME)
    page.click("text=Create team")
    page.wait_for_url(re.compile(r"/accounts/teams/[0-9a-f-]{36}/$"))
    team = Team.objects.get(name=LONG_NAME)
    add_member(team, make_user("bartholomew", email="bartholomew.longsurname@example.com"))
    add_member(team, make_user("victor"), Role.VIEWER)
    return team


def test_it_signs_up_creates_a_team_and_invites_a_member(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/")
    expect(page.locator("h1")).to_contain_text("Write the start of the answer")
    screenshot(page, "landing")
    page.get_by_role("link", name="Log in").first.click()
    expect(page.locator("h1")).to_have_text("Log in")
    screenshot(page, "login")

    _sign_up(page, live_url)
    expect(page.locator("h1")).to_contain_text("Hello, grace")
    screenshot(page, "home-new-user")
    team = _create_team(page, live_url)
    page.reload()

    page.click("text=Invite member")
    dialog = page.locator("#invite-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, "team-invite-form")
    dialog.locator("select[name=role]").select_option("viewer")
    dialog.locator("text=Create invite link").click()
    link = dialog.locator("#invite-url")
    expect(link).to_have_value(re.compile(r"/accounts/invites/[\w-]{43}/$"))
    screenshot(page, "team-invite-link")
    dialog.locator("text=Done").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#invites tbody tr")).to_have_count(1)

    page.evaluate("window.__marker = 1")
    victor = team.memberships.get(user__username="victor")
    page.select_option(f"#role-{victor.pk}", "editor")
    expect(page.locator("#members")).to_contain_text("victor is now editor.")
    assert page.evaluate("window.__marker") == 1
    victor.refresh_from_db()
    assert victor.role == Role.EDITOR
    screenshot(page, "team-detail")

    page.goto(f"{live_url}/home/")
    expect(page.locator(".team-list")).to_contain_text(LONG_NAME)
    screenshot(page, "home")
    page.click("text=grace")
    expect(page.locator("h2")).to_have_text("Change password")
    screenshot(page, "password-change")


def test_it_lets_an_invited_visitor_sign_up_and_join(page: Any, live_url: str) -> None:
    owner = make_user("olga")
    team = Team.objects.create_with_owner(owner, "Acme")
    _, token = team.create_invite(Role.EDITOR, owner)

    page.goto(f"{live_url}/accounts/invites/{token}/")
    expect(page.locator("h1")).to_have_text("Join Acme")
    screenshot(page, "invite-accept")
    page.get_by_role("link", name="Create an account").click()
    page.fill("#id_username", "newcomer")
    page.fill("#id_password1", "a-long-and-unusual-passphrase")
    page.fill("#id_password2", "a-long-and-unusual-passphrase")
    page.click("main button[type=submit]")
    page.get_by_role("button", name="Join Acme as newcomer").click()

    expect(page.locator(".alert-success")).to_contain_text("You joined Acme as editor.")
    assert team.memberships.get(user__username="newcomer").role == Role.EDITOR
    expect(page.locator("select[name=role]")).to_have_count(0)
    screenshot(page, "team-detail-member")
    page.click("text=Leave team")
    expect(page.locator("h1")).to_have_text("Leave Acme?")
    screenshot(page, "team-leave")
