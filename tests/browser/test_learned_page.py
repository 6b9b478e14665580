"""A run shared with the team, pinned and judged, and the template's page in Chromium: the win
table and the reference load into it by htmx, the revision filter swaps it, and it fits a phone
in the dark theme (screenshots under test-artifacts/)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from playground.accounts.models import Role, Team, User
from playground.prompts.models import PrefixTemplate, Visibility
from playground.runs.models import Run, Segment
from playground.runs.verdicts import ReferencePin
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, add_member, make_user
from tests.prompts.factories import make_template
from tests.runs.team_runs import finished_run, judge
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def _serious_violations(page: Any) -> list[str]:
    """Return axe-core's serious and critical findings on the page as it is now."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def _runs(alice: User, bob: User, team: Team) -> tuple[PrefixTemplate, Run]:
    template = make_template(
        alice, name="Python fence", visibility=Visibility.TEAM, team=team, prefix="```python\n"
    )
    first = finished_run(alice, template, ("chat", "reasoner", "qwen"), team=team)
    judge(first, alice, 1, 0, 2)
    judge(first, bob, 1, 2)
    second = finished_run(bob, template, ("chat", "qwen"), team=team)
    judge(second, bob, 1)
    blind = finished_run(alice, template, ("chat", "reasoner"), team=team, blind=True)
    judge(blind, alice, 0)
    reference = (
        "def quick_sort(items):\n    if len(items) < 2:\n        return items\n"
        "    pivot, *rest = items\n    smaller = [x for x in rest if x < pivot]\n"
        "    larger = [x for x in rest if x >= pivot]\n"
        "    return quick_sort(smaller) + [pivot] + quick_sort(larger)\n```"
    )
    Segment.objects.filter(column__run=first, column__position=1).update(text=reference)
    template.prefix = "```python\n# sorted\n"
    template.save(author=alice)
    latest = finished_run(alice, template, ("reasoner", "qwen"), team=team)
    judge(latest, alice, 0)
    return template, first


def test_the_template_page_shows_what_the_team_has_learned(
    page: Any, live_url: str, alice: User, team: Team
) -> None:
    bob = make_user("bob")
    add_member(team, bob, Role.EDITOR)
    victor = make_user("victor")
    add_member(team, victor, Role.VIEWER)
    template, first = _runs(alice, bob, team)

    # bob, an editor, pins the reasoner's column from the run page (htmx).
    log_in(page, live_url, "bob", PASSWORD)
    page.goto(f"{live_url}/runs/{first.code}/")
    page.locator(f"#pin-{first.code}-1 button").click()
    page.wait_for_selector(f"#pin-{first.code}-1 .badge")
    wait_until(lambda: ReferencePin.objects.filter(template=template).exists(), "the pin")
    screenshot(page, "learned-run-page-member-1440")

    # victor, a viewer, reads the template's page.
    page.context.clear_cookies()
    log_in(page, live_url, "victor", PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_url}/templates/{template.code}/")
    page.wait_for_selector("#wins table")
    rows = page.locator(".wins-table tbody tr").all_inner_texts()
    assert len(rows) == 3 and "deepseek-reasoner" in rows[0] and "75 %" in rows[0]
    assert page.locator("svg.wins-chart rect").count() == 3
    assert "quick_sort" in page.locator(".reference-text").inner_text()
    assert "pinned by bob" in page.locator(".reference-meta").inner_text()
    assert "blind run of" in page.locator(".wins-blind").inner_text()
    assert _serious_violations(page) == []
    screenshot(page, "learned-template-1440")

    page.get_by_role("link", name="Current revision (r2)").click()
    page.wait_for_selector("#learned a[aria-current='true']:has-text('Current revision')")
    assert page.locator(".wins-table tbody tr").count() == 2

    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_url}/templates/{template.code}/")
    page.wait_for_selector("#wins table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _serious_violations(page) == []
    screenshot(page, "learned-template-dark-390")


def test_the_owner_shares_a_run_with_the_team_from_its_page(
    page: Any, live_url: str, alice: User, team: Team
) -> None:
    template = make_template(alice, visibility=Visibility.TEAM, team=team)
    run = finished_run(alice, template)
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/runs/{run.code}/")
    assert page.locator("#share-team select").input_value() == str(team.code)
    page.get_by_role("button", name="Share with team").click()
    page.wait_for_selector("#share-team :text('Shared with')")
    wait_until(lambda: Run.objects.filter(pk=run.pk, team=team).exists(), "the run shared")
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "learned-run-share-dark-390")
    page.get_by_role("button", name="Make private").click()
    wait_until(lambda: Run.objects.filter(pk=run.pk, team=None).exists(), "the run private")
