"""Every page, in Chromium: no sideways scrolling at 390 px or 1440 px, and no serious or critical
accessibility violation (axe-core, bundled by axe-playwright-python) in the light or the dark
theme. Also the theme toggle, which is remembered, and the skip link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from playground.accounts.models import Role, Team
from playground.runs.models import Run, Segment
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, add_member, make_team, make_user
from tests.keys.factories import make_credential
from tests.prompts.factories import make_template
from tests.runs.conftest import start_run

pytestmark = pytest.mark.browser

WIDTHS = (390, 1440)
SCHEMES = ("light", "dark")
BLOCKING = ("serious", "critical")


@dataclass
class Site:
    """The data every page needs, and the pages' paths."""

    team: Team
    run: Run
    invite_token: str
    template_code: str
    credential_code: str

    def pages(self) -> dict[str, str]:
        run, template = f"/runs/{self.run.code}/", f"/templates/{self.template_code}/"
        return {
            "home": "/home/",
            "compare": f"/runs/?run={self.run.code}",
            "run": run,
            "history": "/runs/history/",
            "library": "/templates/",
            "template": template,
            "editor": f"{template}edit/",
            "new-template": "/templates/new/",
            "revisions": f"{template}revisions/",
            "revision": f"{template}revisions/1/",
            "diff": f"{template}revisions/2/diff/",
            "import": "/templates/import/",
            "keys": "/keys/",
            "key-edit": f"/keys/{self.credential_code}/rename/",
            "teams": "/accounts/teams/",
            "team": f"/accounts/teams/{self.team.code}/",
            "team-new": "/accounts/teams/new/",
            "invite": f"/accounts/teams/{self.team.code}/invites/new/",
            "invite-accept": f"/accounts/invites/{self.invite_token}/",
            "password": "/accounts/password/",
            "inspect": f"{run}columns/0/inspect/",
            "code": f"{run}columns/0/code/",
            "shared": f"/runs/shared/{self.run.share_token}/",
            "404": "/no-such-page/",
        }


ANONYMOUS = {"landing": "/", "login": "/accounts/login/", "signup": "/accounts/signup/"}


def _make_site() -> Site:
    alice = make_user("alice")
    team = make_team(alice, "Acme")
    add_member(team, make_user("bob"), Role.EDITOR)
    _, token = team.create_invite(Role.VIEWER, alice)
    template = make_template(
        alice,
        name="Tea party opener",
        description="A role-play opener, with a speaker name.",
        prefix="Good evening, ",
        speaker_name="Kelsey",
        turns=[{"role": "user", "content": "Greet the {{guests}}.", "images": []}],
        variable_notes=[{"name": "guests", "default": "guests\nand friends", "description": ""}],
    )
    template.prefix = "Good evening, my dear "
    template.save(author=alice, note="Warmer")
    deepseek = make_credential(alice, label="Personal DeepSeek")
    kimi = make_credential(alice, provider="moonshot", label="Kimi")
    run = start_run(
        alice,
        [(deepseek, "deepseek-chat"), (kimi, "kimi-k2.5"), (deepseek, "deepseek-reasoner")],
        speaker_name="Kelsey",
    )
    segments = list(Segment.objects.filter(column__run=run).order_by("column__position"))
    finished = {"status": "done", "finish_reason": "stop", "input_tokens": 12, "elapsed_ms": 900}
    Segment.objects.filter(pk=segments[0].pk).update(
        text="def quick_sort(xs):\n    return sorted(xs)\n```",
        output_tokens=14,
        cost=Decimal("0.000020"),
        currency="USD",
        ttft_ms=300,
        **finished,
    )
    Segment.objects.filter(pk=segments[1].pk).update(
        status="error", error_kind="rate_limit", error_message="Moonshot answered 429: slow down."
    )
    Segment.objects.filter(pk=segments[2].pk).update(
        text="def quick_sort(xs): ...",
        caveats=["1 unreadable chunk skipped"],
        output_tokens=7,
        ttft_ms=250,
        **finished,
    )
    run.refresh_status()
    run.enable_sharing()
    return Site(team, run, token, str(template.code), str(deepseek.code))


@pytest.fixture
def site(live_url: str) -> Site:
    return _make_site()


@pytest.fixture
def member(browser_context: Any, live_url: str, site: Site) -> Iterator[Any]:
    page = browser_context.new_page()
    log_in(page, live_url, "alice", PASSWORD)
    yield page
    page.close()


def _check(page: Any, url: str, name: str, problems: list[str], axe: Axe | None) -> None:
    """Load `url` once; at each width and in each theme, record what is too wide or inaccessible."""
    page.set_viewport_size({"width": 1440, "height": 900})
    response = page.goto(url)
    assert response is not None
    expected = 404 if name == "404" else 200
    assert response.status == expected, f"{name}: {url} answered {response.status}"
    page.wait_for_load_state("networkidle")
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                problems.append(f"{name} at {width} px ({scheme}): {scroll_width} px wide")
            if axe is not None:
                for violation in axe.run(page).response["violations"]:
                    if violation["impact"] in BLOCKING:
                        targets = [node["target"] for node in violation["nodes"][:3]]
                        problems.append(
                            f"{name} at {width} px ({scheme}): {violation['id']} "
                            f"({violation['impact']}) {violation['help']} {targets}"
                        )
        if scheme == "dark":
            screenshot(page, f"site-{name}-dark-{width}")


def test_no_page_is_wider_than_the_screen_or_fails_axe(
    member: Any, browser_context: Any, _browser: Any, live_url: str, site: Site
) -> None:
    axe = Axe()
    problems: list[str] = []
    for name, path in site.pages().items():
        _check(member, live_url + path, name, problems, axe)
    visitor = _browser.new_context()
    try:
        anonymous = visitor.new_page()
        for name, path in ANONYMOUS.items():
            _check(anonymous, live_url + path, name, problems, axe)
    finally:
        visitor.close()
    assert problems == [], "\n".join(problems)


def test_axe_finds_what_it_should(page: Any, live_url: str) -> None:
    # The check above can fail: a page with a low-contrast line and an unlabelled field is caught.
    page.goto(f"{live_url}/accounts/login/")
    page.evaluate(
        """() => {
          const p = document.createElement('p');
          p.textContent = 'barely there';
          p.style.color = '#d8dde3';
          document.querySelector('main').append(p, document.createElement('input'));
        }"""
    )
    found = {v["id"]: v["impact"] for v in Axe().run(page).response["violations"]}
    assert found.get("color-contrast") == "serious"
    assert found.get("label") == "critical"


def test_the_theme_follows_the_system_until_the_toggle_pins_one(
    browser_context: Any, live_url: str
) -> None:
    page = browser_context.new_page()
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_url}/accounts/login/")

    def background() -> str:
        return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))

    dark = background()
    assert page.evaluate("document.documentElement.dataset.theme") is None
    toggle = page.locator("[data-theme-toggle]")
    assert toggle.get_attribute("aria-label").startswith("Colour theme: Auto")
    toggle.click()  # auto -> light
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    light = background()
    assert light != dark
    page.reload()  # remembered, and applied before the page is drawn
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert background() == light
    assert toggle.get_attribute("aria-label").startswith("Colour theme: Light")
    toggle.click()  # light -> dark, even though the system is light now
    page.emulate_media(color_scheme="light")
    assert background() == dark
    toggle.click()  # dark -> auto: the system's (light) scheme again
    assert page.evaluate("document.documentElement.dataset.theme") is None
    assert background() == light
    assert page.evaluate("localStorage.length") == 0


def test_the_skip_link_is_the_first_stop_and_moves_past_the_header(
    member: Any, live_url: str
) -> None:
    member.goto(f"{live_url}/keys/")
    member.keyboard.press("Tab")
    skip = member.locator(".skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # visible once focused
    member.keyboard.press("Enter")
    assert member.evaluate("document.activeElement.id") == "main"
    member.keyboard.press("Tab")
    in_header = member.evaluate("!!document.activeElement.closest('header')")
    assert not in_header


def test_every_control_shows_where_the_focus_is(member: Any, live_url: str) -> None:
    member.goto(f"{live_url}/keys/")
    unmarked = []
    for _ in range(25):
        member.keyboard.press("Tab")
        style = member.evaluate(
            """() => {
              const el = document.activeElement, s = getComputedStyle(el);
              return {tag: el.tagName + '.' + el.className, outline: s.outlineStyle,
                      width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
            }"""
        )
        no_outline = style["outline"] in ("none", "") or style["width"] < 1
        if no_outline and style["shadow"] in ("none", ""):
            unmarked.append(style["tag"])
    assert unmarked == []
