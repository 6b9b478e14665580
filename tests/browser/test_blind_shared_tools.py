"""A blind run with tools, shared with a team, in headless Chromium (issues 15 and 17 together).

The owner starts the tools starter blind on three targets; the calls stream, "Answer all with
canned results" continues every column; neither the page nor any event-stream frame (the calls,
the answer forms, the continued segments) names a provider, model, key or provider-shaped call
id. The owner shares the run with their team; a teammate sees it lettered, is offered no Stop,
Continue, Retry, Answer or Answer all, gives their verdict, and then sees the names.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command

from playground.accounts.models import Membership, Role, Team
from playground.keys.models import Credential
from playground.runs.models import Run
from tests.browser.test_blind_run import _canaries, _leaks
from tests.conftest import log_in, record_streams, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

CALLS_DONE = (
    "() => [...document.querySelectorAll('#run-area .segment[data-index=\"1\"] .continuation')]"
    ".filter(el => el.textContent.includes('Thanks for the results.')).length === 3"
)
OWNER_ONLY = ("Answer all with canned results", "Answer and continue", "Continue", "Retry")


def test_a_blind_tools_run_shared_with_a_team_names_nothing_until_each_verdict(
    page: Any, _browser: Any, live_url: str
) -> None:
    call_command("load_starter_library", verbosity=0)
    owner = make_user("blindowner")
    mate = make_user("blindmate")
    team = Team.objects.create_with_owner(owner, "Judges")
    Membership.objects.create(team=team, user=mate, role=Role.EDITOR)
    Credential.objects.add_simulator_set(owner, f"{live_url}/sim")

    bodies = record_streams(page)  # every run stream, whole, as received
    log_in(page, live_url, "blindowner", PASSWORD)
    page.goto(f"{live_url}/runs/")
    page.select_option("#pick-template", label="Tool calls: weather and unit conversion")
    page.wait_for_selector("details.tools-area[open] textarea[name=tools]")
    page.select_option("select[name=t0-credential]", label="Simulator · DeepSeek")
    page.fill("input[name=t0-model]", "deepseek-chat")
    page.select_option("select[name=t1-credential]", label="Simulator · Qwen")
    page.fill("input[name=t1-model]", "qwen-plus")
    page.select_option("select[name=t2-credential]", label="Simulator · Anthropic")
    page.fill("input[name=t2-model]", "claude-haiku-4-5")
    page.check("input[name=blind]")
    page.click("#run-button")
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}/$"))
    run = Run.objects.get(code=page.url.rstrip("/").rsplit("/", 1)[1])
    canaries = [*_canaries(run), "toolu_", "call_0_"]  # Anthropic's and DeepSeek's call ids

    answer_all = page.get_by_role("button", name="Answer all with canned results")
    answer_all.wait_for()
    assert page.locator("#run-area form.tool-answer").count() == 3
    assert _leaks(page.content(), canaries) == [], "the page names a target"
    assert _leaks("".join(bodies), canaries) == [], "the calls' frames name a target"
    answer_all.click()
    page.wait_for_function(CALLS_DONE)
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for()
    page.locator("form.verdict-form").wait_for()
    assert len(bodies) >= 2, "the answers streamed"
    assert _leaks(page.content(), canaries) == [], "the answered page names a target"
    assert _leaks("".join(bodies), canaries) == [], "the answers' frames name a target"

    page.reload()
    page.get_by_role("button", name="Share with team").click()
    page.get_by_text("Shared with").first.wait_for()
    assert _leaks(page.content(), canaries) == []
    screenshot(page, "blind-tools-owner-shared")

    context = _browser.new_context(viewport={"width": 390, "height": 900}, color_scheme="dark")
    try:
        teammate = context.new_page()
        log_in(teammate, live_url, "blindmate", PASSWORD)
        teammate.goto(f"{live_url}/runs/{run.code}/")
        teammate.locator("form.verdict-form").wait_for()
        assert _leaks(teammate.content(), canaries) == [], "the teammate's page names a target"
        for name in OWNER_ONLY:
            assert teammate.get_by_role("button", name=name, exact=True).count() == 0, name
        assert teammate.locator(".column .tool-call").count() >= 3  # the calls are shown
        assert teammate.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(teammate, "blind-tools-teammate-390-dark")
        teammate.locator("select[name^=rank-]").nth(0).select_option(label="1st (best)")
        teammate.get_by_role("button", name="Give verdict").click()
        teammate.locator(".verdict-ranking").wait_for()
        revealed = teammate.content()
        for column in run.columns.all():
            assert column.provider_name in revealed and column.model in revealed
            assert column.credential_label not in revealed  # the owner's key labels never
    finally:
        context.close()
    # The teammate's verdict reveals nothing to the owner.
    page.reload()
    assert _leaks(page.content(), canaries) == []
