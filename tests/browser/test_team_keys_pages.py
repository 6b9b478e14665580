"""The team keys and team usage pages in Chromium: no sideways scrolling at 390 px or 1440 px,
no serious or critical axe violation in either theme, the chart drawn; screenshots of each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from playground.accounts.models import Role, Team
from playground.keys.models import TeamBudget, TeamUse
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, add_member, make_team, make_user
from tests.keys.team_helpers import make_team_credential
from tests.runs.conftest import start_run

pytestmark = pytest.mark.browser

WIDTHS = (1440, 390)
SCHEMES = ("light", "dark")
BLOCKING = ("serious", "critical")


def _make_team() -> Team:
    alice = make_user("alice")
    team = make_team(alice, "Acme Research")
    bob, victor = make_user("bob"), make_user("victor")
    add_member(team, bob, Role.EDITOR)
    add_member(team, victor, Role.VIEWER)
    deepseek = make_team_credential(team, alice, label="Shared DeepSeek")
    claude = make_team_credential(
        team, alice, provider="anthropic", label="Team Anthropic", key="sk-ant-test-0000-4321"
    )
    TeamBudget.objects.create(team=team, user=victor, monthly_tokens=200_000)
    TeamBudget.objects.create(team=team, credential=claude, monthly_tokens=1_000_000)
    now = timezone.now()
    for day, (member, credential, model, tokens) in enumerate(
        [
            (victor, deepseek, "deepseek-chat", 1800),
            (bob, claude, "claude-sonnet-4-5", 5200),
            (victor, claude, "claude-sonnet-4-5", 3900),
            (alice, deepseek, "deepseek-reasoner", 2600),
            (bob, deepseek, "deepseek-chat", 800),
            (victor, deepseek, "deepseek-chat", 4100),
        ]
    ):
        run = start_run(member, [(credential, model)], params={"max_tokens": 500})
        TeamUse.objects.filter(run=run).update(
            created_at=now - timedelta(days=2 * (5 - day)),
            settled_at=now,
            status="done",
            input_tokens=tokens // 4,
            output_tokens=tokens - tokens // 4,
            tokens=tokens,
            cost=Decimal(tokens) / Decimal(200_000) if credential == claude else None,
            currency="USD" if credential == claude else "",
        )
    return team


def test_the_team_keys_pages_fit_every_screen_and_pass_axe(
    browser_context: Any, live_url: str
) -> None:
    team = _make_team()
    page = browser_context.new_page()
    log_in(page, live_url, "alice", PASSWORD)
    axe = Axe()
    problems: list[str] = []
    pages = {
        "team-keys": f"/keys/teams/{team.code}/",
        "team-usage": f"/keys/teams/{team.code}/usage/",
    }
    for name, path in pages.items():
        response = page.goto(live_url + path)
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                if scroll_width > width:
                    problems.append(f"{name} at {width} px ({scheme}): {scroll_width} px wide")
                for violation in axe.run(page).response["violations"]:
                    if violation["impact"] in BLOCKING:
                        targets = [node["target"] for node in violation["nodes"][:3]]
                        problems.append(
                            f"{name} at {width} px ({scheme}): {violation['id']} {targets}"
                        )
                screenshot(page, f"{name}-{scheme}-{width}")
    assert problems == [], "\n".join(problems)
    page.goto(f"{live_url}/keys/teams/{team.code}/usage/")
    assert page.locator("svg.usage-chart rect.chart-bar").count() == 6
    assert page.locator(".chart-legend li").count() == 3
