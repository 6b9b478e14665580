"""The compare page as a workbench, in Chromium: keys, copy, Rendered, layout, and the CSP.

Every test here watches for `securitypolicyviolation` events and console errors, and fails on
any: the site runs under a strict Content-Security-Policy and must not need more.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from playground.keys.models import Credential
from playground.runs.models import Run, RunColumn
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_team, make_user

pytestmark = pytest.mark.browser

WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__problems.push(`CSP ${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`);
});
"""
XSS = "<img src=x onerror=\"document.title='pwned'\">"


class Watcher:
    """Collects CSP violations and console errors of every page of a browser context."""

    def __init__(self, context: Any) -> None:
        self.problems: list[str] = []
        context.add_init_script(WATCH)
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def check(self, page: Any) -> None:
        found = self.problems + page.evaluate("() => window.__problems || []")
        assert found == []


@pytest.fixture
def watcher(browser_context: Any) -> Watcher:
    return Watcher(browser_context)


def _sign_in(page: Any, live_url: str, name: str) -> Any:
    user = make_user(name)
    Credential.objects.add_simulator_set(user, f"{live_url}/sim")
    log_in(page, live_url, name, PASSWORD)
    return user


def _one_target(page: Any, key: str, model: str) -> None:
    for _ in range(page.locator(".target-row").count() - 1):
        page.locator(".target-row").last.get_by_role("button", name="Remove this target").click()
    page.select_option("select[name=t0-credential]", label=key)
    page.fill("input[name=t0-model]", model)


def test_ctrl_enter_runs_and_esc_stops(page: Any, live_url: str, watcher: Watcher) -> None:
    _sign_in(page, live_url, "keyboard")
    page.goto(f"{live_url}/runs/")
    page.fill("textarea[name=prefix]", "Once upon a time")
    _one_target(page, "Simulator · DeepSeek", "deepseek-chat-long-tps20")
    page.locator("textarea[name=prefix]").press("Control+Enter")  # from inside a text field
    page.locator("#run-area .column .continuation:not(:empty)").wait_for()
    assert Run.objects.count() == 1
    page.locator("body").press("Escape")
    page.locator("#run-area .run-controls .badge:has-text('Stopped')").wait_for(timeout=20_000)
    column = RunColumn.objects.prefetch_related("segments").get()
    assert column.last_segment is not None and column.last_segment.status == "stopped"

    # `?` lists the shortcuts (outside text fields); Esc closes the list, not a run.
    page.locator("textarea[name=prefix]").press("?")  # typed into the field: no dialog
    assert not page.locator("#shortcuts").is_visible()
    page.locator("h1").click()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible()
    watcher.check(page)


def test_copy_puts_the_exact_column_text_on_the_clipboard(
    page: Any, browser_context: Any, live_url: str, watcher: Watcher
) -> None:
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    _sign_in(page, live_url, "copier")
    page.goto(f"{live_url}/runs/?blank=1")
    # The simulator answers a speaker tag with one line of dialogue: " <line>\n".
    page.fill("textarea[name=prefix]", "Scene one. \nAlice:")
    _one_target(page, "Simulator · DeepSeek", "deepseek-chat")
    page.click("#run-button")
    column = page.locator("#run-area .column").first
    column.get_by_role("button", name="Copy", exact=True).wait_for(timeout=20_000)

    saved = RunColumn.objects.prefetch_related("segments").select_related("run").get()
    assert saved.text.startswith(" ") and saved.text.endswith("\n")
    column.get_by_role("button", name="Copy", exact=True).click()
    column.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == saved.text
    column.get_by_role("button", name="Copy all").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == saved.full_text == "Scene one. \nAlice:" + saved.text
    watcher.check(page)


def test_the_rendered_view_shows_html_as_text_and_highlights_code(
    page: Any, live_url: str, watcher: Watcher
) -> None:
    _sign_in(page, live_url, "renderer")
    page.goto(f"{live_url}/runs/?blank=1")
    page.fill("textarea[name=prefix]", f"Intro {XSS}\n\n```html\n{XSS}\n```\n\nBob:")
    _one_target(page, "Simulator · Mistral", "mistral-small-latest")
    page.click("#run-button")
    column = page.locator("#run-area .column").first
    column.get_by_role("button", name="Rendered").wait_for(timeout=20_000)
    assert column.locator(".column-body .output").is_visible()  # Raw is the default
    column.get_by_role("button", name="Rendered").click()
    rendered = column.locator(".column-rendered .markdown-body")
    rendered.wait_for()
    assert not column.locator(".column-body").is_visible()
    assert rendered.locator("img").count() == 0
    assert page.locator("img").count() == 0
    paragraph = rendered.locator("p").first.text_content() or ""
    assert "<img src=x onerror=" in paragraph  # shown as text
    code = rendered.locator("pre.highlight")
    assert "<img src=x onerror=" in (code.text_content() or "")
    assert code.locator("span.nt").first.text_content() == "img"  # highlighted as HTML
    assert page.title() != "pwned"
    screenshot(page, "workbench-rendered")
    column.get_by_role("button", name="Raw").click()
    assert column.locator(".column-body .output").is_visible()
    watcher.check(page)


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_three_columns_fit_the_viewport(
    _browser: Any, live_url: str, width: int, height: int
) -> None:
    context = _browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    watcher = Watcher(context)
    try:
        page = context.new_page()
        _sign_in(page, live_url, f"viewer{width}")
        page.goto(f"{live_url}/runs/?blank=1")
        page.fill("textarea[name=prefix]", "Dear team, ")
        page.keyboard.press("Control+Enter")
        page.locator("#run-area .column").nth(2).wait_for()
        page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for(
            timeout=30_000
        )
        assert page.locator("#run-area .column").count() == 3
        sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], sizes
        if width >= 1440:
            # Side by side: the prompt and every column are in view at once, no scrolling.
            for selector in ("textarea[name=prefix]", "#run-button"):
                assert page.locator(selector).is_visible()
                box = page.locator(selector).bounding_box()
                assert box is not None and 0 <= box["y"] < height
            for index in range(3):
                box = page.locator("#run-area .column").nth(index).bounding_box()
                assert box is not None and box["x"] + box["width"] <= width
                assert box["y"] < height
        screenshot(page, f"workbench-{width}")
        watcher.check(page)
    finally:
        context.close()


def test_override_chips_follow_the_fields(page: Any, live_url: str, watcher: Watcher) -> None:
    _sign_in(page, live_url, "chips")
    page.goto(f"{live_url}/runs/?blank=1")
    row = page.locator(".target-row").first
    assert not row.locator("[data-override-chips]").is_visible()
    row.locator("summary").click()
    row.locator("input[name$=-json_mode]").check()
    page.fill("input[name=t0-temperature]", "0.4")
    assert row.locator(".chip").all_text_contents() == ["temp 0.4✕", "JSON mode✕"]
    row.get_by_role("button", name="Clear JSON mode").click()
    assert not row.locator("input[name$=-json_mode]").is_checked()
    assert row.locator(".chip").all_text_contents() == ["temp 0.4✕"]
    # Added rows and the Targets count work without inline script too.
    page.click("#add-target")
    page.locator(".target-row").nth(3).wait_for()
    assert page.locator("[data-count-of]").inner_text() == "4"
    watcher.check(page)


def test_a_click_through_the_site_breaks_no_policy(
    page: Any, browser_context: Any, live_url: str, watcher: Watcher
) -> None:
    """Compare, every run tool, library, editor, keys and team, under the strict policy."""
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    call_command("load_starter_library", verbosity=0)
    user = _sign_in(page, live_url, "clicker")
    page.goto(f"{live_url}/runs/?blank=1")
    page.select_option("#pick-template", index=1)  # the picker submits itself on change
    page.wait_for_url("**/runs/?template=*")
    page.goto(f"{live_url}/runs/?blank=1")
    page.fill("textarea[name=prefix]", "Once upon a time")
    page.click("#add-turn")
    page.locator(".turn-row").first.wait_for()
    page.locator(".turn-row").first.get_by_role("button", name="Remove this turn").click()
    row = page.locator(".target-row").first
    page.select_option("select[name=t0-credential]", label="Simulator · Qwen")
    page.fill("input[name=t0-model]", "qwen-plus-long")
    row.locator("summary").click()
    page.fill("input[name=t0-max_tokens]", "12")
    page.click("#run-button")
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for(
        timeout=30_000
    )

    first = page.locator("#run-area .column").first
    first.get_by_role("button", name="Continue").click()
    page.locator("#run-area .segment[data-index='1']").wait_for()
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for(
        timeout=30_000
    )
    page.evaluate("() => document.querySelector('#run-area .run').dataset.status = 'seen'")
    page.locator("#run-area .column").nth(1).get_by_role("button", name="Retry").click()
    page.locator("#run-area .run[data-status=running]").wait_for()  # the run, re-rendered
    page.locator("#run-area .run-controls .run-summary[data-run-state=done]").wait_for(
        timeout=30_000
    )
    first = page.locator("#run-area .column").first
    first.get_by_role("button", name="Copy", exact=True).click()
    first.get_by_role("button", name="Rendered").click()
    first.locator(".markdown-body").wait_for()

    for tool, heading in (("Inspect", "Inspect"), ("View code", "View code")):
        first.get_by_role("link", name=tool).click()
        page.locator(f"#modal[open] h2:has-text('{heading}')").wait_for()
        if tool == "View code":
            page.locator("#modal .code-section button").first.click()
            assert "curl" in page.evaluate("() => navigator.clipboard.readText()")
        page.keyboard.press("Escape")
        page.locator("#modal[open]").wait_for(state="detached")
    page.locator("#run-area .run-controls").get_by_role("link", name="Diff").click()
    page.locator("#modal[open] #diff-tool").wait_for()
    page.select_option("#modal select[name=b]", index=2)
    page.locator("#modal[open] #diff-tool").wait_for()
    page.keyboard.press("Escape")

    page.locator("#run-area").get_by_role("link", name="Permalink").click()
    page.get_by_role("button", name="Create share link").click()
    page.locator("input.share-url").click()
    assert page.evaluate("() => document.activeElement.selectionEnd > 0")  # selected on focus

    page.goto(f"{live_url}/templates/")
    page.fill("input[name=q]", "code")
    page.wait_for_url("**q=code**")
    page.goto(f"{live_url}/templates/new/")
    page.fill("textarea[name=prefix]", "Live {{thing}} ")
    page.locator("#editor-preview:has-text('thing')").wait_for()

    page.goto(f"{live_url}/keys/")
    panel = page.locator(".keys-probe").first
    panel.get_by_role("button", name="Probe").click()
    panel.locator(".badge").first.wait_for(timeout=20_000)

    team = make_team(user, "Clickers")
    page.goto(f"{live_url}/accounts/teams/")
    page.goto(f"{live_url}/accounts/teams/{team.code}/")
    page.get_by_role("link", name="Invite member").click()
    page.locator("#invite-dialog[open]").wait_for()
    page.get_by_role("button", name="Create invite link").click()
    page.locator("#invite-url").wait_for()
    page.locator("#invite-dialog").get_by_role("button", name="Copy").click()
    assert "/accounts/invites/" in page.evaluate("() => navigator.clipboard.readText()")
    watcher.check(page)
