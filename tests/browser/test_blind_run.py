"""Blind mode in headless Chromium: start a blind run on the compare page against the built-in
simulator, record every event-stream frame the page receives, check that neither the page nor
the frames name a provider, model or key until the verdict, give the verdict in the page, and
see the names appear (docs/verdicts.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from playground.runs.models import Run
from tests.conftest import add_simulator_keys, log_in, record_streams, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")


def _canaries(run: Run) -> list[str]:
    """Return what the page must not show before the verdict, lower-cased."""
    names: set[str] = set()
    for column in run.columns.all():
        names |= {column.provider, column.provider_name, column.model, column.credential_label}
        names |= {column.base_url, column.dialect}
    return sorted(name.lower() for name in names if name)


def _leaks(text: str, canaries: list[str]) -> list[str]:
    lowered = text.lower()
    return [name for name in canaries if name in lowered]


def _axe_problems(page: Any, label: str) -> list[str]:
    problems = []
    for violation in Axe().run(page).response["violations"]:
        nodes = [str(node["target"]) for node in violation["nodes"]]
        if violation["id"] == "scrollable-region-focusable" and all(
            ".output" in node for node in nodes
        ):
            # A column's long output scrolls inside its box: the column page's own matter
            # (tests/browser/test_site_pages.py checks it with short outputs), not blind mode's.
            continue
        if violation["impact"] in BLOCKING:
            targets = [node["target"] for node in violation["nodes"][:3]]
            problems.append(f"{label}: {violation['id']} {violation['help']} {targets}")
    return problems


def test_a_blind_run_names_nothing_in_page_or_frames_until_the_verdict(
    page: Any, _browser: Any, live_url: str
) -> None:
    make_user("judge")
    log_in(page, live_url, "judge", PASSWORD)
    add_simulator_keys(page, live_url)

    bodies = record_streams(page)  # every run stream, whole, as received

    page.goto(f"{live_url}/runs/?blank=1")
    page.fill("textarea[name=prefix]", "Once upon a time")
    targets = page.locator("#targets .target-row").count()
    assert targets >= 2
    page.check("input[name=blind]")
    page.click("#run-button")
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}/$"))
    code = page.url.rstrip("/").rsplit("/", 1)[1]
    run = Run.objects.get(code=code)
    assert run.blind and run.columns.count() == targets
    canaries = _canaries(run)

    # The run ends; the verdict form arrives with the run's last frame.
    page.locator("form.verdict-form").wait_for()
    assert bodies, "the page opened the run's stream"
    frames = "".join(bodies)
    assert "event: run-done" in frames and "-text\n" in frames
    assert _leaks(frames, canaries) == [], "the event stream names a target"
    assert _leaks(page.content(), canaries) == [], "the page names a target"
    assert _leaks(page.title(), canaries) == []
    letters = page.locator(".column .blind-letter").all_text_contents()
    assert letters == [chr(ord("A") + i) for i in range(targets)]
    assert page.locator(".column a:has-text('Inspect')").count() == 0
    screenshot(page, "blind-run-before-verdict")

    problems = _axe_problems(page, "before, light")
    small = _browser.new_context(viewport={"width": 390, "height": 900}, color_scheme="dark")
    try:
        phone = small.new_page()
        log_in(phone, live_url, "judge", PASSWORD)
        phone.goto(f"{live_url}/runs/{code}/")
        phone.locator("form.verdict-form").wait_for()
        assert _leaks(phone.content(), canaries) == []
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        problems += _axe_problems(phone, "before, 390 dark")
        screenshot(phone, "blind-run-before-verdict-390-dark")
        phone.locator(".verdict-card").screenshot(path="test-artifacts/blind-verdict-form-390.png")
    finally:
        small.close()

    # The verdict, by keyboard: column B is best, A second, with a note.
    page.locator("select[name^=rank-]").nth(1).focus()
    page.keyboard.press("ArrowDown")  # Not ranked -> 1st (best)
    page.locator("select[name^=rank-]").nth(0).select_option(label="2nd")
    page.fill("textarea[name=note]", "B keeps the voice; A drifts.")
    page.get_by_role("button", name="Give verdict").click()
    page.locator(".verdict-ranking").wait_for()

    revealed = page.content()
    for column in run.columns.all():
        assert column.provider_name in revealed and column.model in revealed
    ranking = page.locator(".verdict-ranking li").all_text_contents()
    best = run.in_blind_order(run.columns.all())[1]
    assert ranking[0].startswith("1st") and f"Column B: {best.provider_name}" in ranking[0]
    assert "B keeps the voice" in revealed
    assert page.locator(".column a:has-text('Inspect')").count() == targets
    screenshot(page, "blind-run-after-verdict")
    problems += _axe_problems(page, "after, light")

    small = _browser.new_context(viewport={"width": 390, "height": 900}, color_scheme="dark")
    try:
        phone = small.new_page()
        log_in(phone, live_url, "judge", PASSWORD)
        phone.goto(f"{live_url}/runs/{code}/")
        phone.locator(".verdict-ranking").wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        problems += _axe_problems(phone, "after, 390 dark")
        screenshot(phone, "blind-run-after-verdict-390-dark")
        phone.locator(".column").first.screenshot(path="test-artifacts/blind-column-390.png")
        phone.locator(".verdict-card").screenshot(path="test-artifacts/blind-verdict-390.png")
    finally:
        small.close()
    assert problems == [], "\n".join(problems)


def test_the_compare_page_offers_the_verdict_once_its_run_ends(page: Any, live_url: str) -> None:
    make_user("picker")
    log_in(page, live_url, "picker", PASSWORD)
    add_simulator_keys(page, live_url)
    page.goto(f"{live_url}/runs/?blank=1")
    page.fill("textarea[name=prefix]", "Once upon a time")
    assert not page.is_checked("input[name=blind]")
    page.click("#run-button")
    # Not blind: the run streams into the compare page, named, and the verdict form follows.
    page.locator("#run-area form.verdict-form").wait_for()
    assert page.url.endswith("/runs/?blank=1")
    run = Run.objects.get(user__username="picker")
    assert not run.blind
    first = run.columns.get(position=0)
    assert first.provider_name in page.locator("#run-area .column").first.text_content()
    page.locator("#run-area select[name=rank-1]").select_option("1")
    page.get_by_role("button", name="Give verdict").click()
    page.locator("#run-area .verdict-ranking").wait_for()
    second = run.columns.get(position=1)
    assert (
        f"{second.provider_name} · {second.model}"
        in page.locator(".verdict-ranking").text_content()
    )
    assert page.url.endswith("/runs/?blank=1"), "saved in place, no reload"
    assert run.verdicts.get().ranking == [1]
