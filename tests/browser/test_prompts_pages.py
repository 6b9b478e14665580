"""The library's htmx behaviour in a real browser, and screenshots of its other pages."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from playground.accounts.models import User
from playground.prompts import views as editor_views
from playground.prompts.management.commands.load_starter_library import load_starter_library
from playground.prompts.models import PrefixTemplate
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.waiting import HANG_GUARD

pytestmark = pytest.mark.browser


def _screenshot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def test_it_searches_the_library_as_you_type(page: Any, live_url: str, alice: User) -> None:
    load_starter_library()
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/templates/")

    page.fill("input[name=q]", "code fence")
    # Predicates are functions, not expression strings: Playwright evals a bare expression
    # inside the page, which the site's Content-Security-Policy (no 'unsafe-eval') refuses.
    page.wait_for_function("() => document.querySelectorAll('.library-table tbody tr').length < 10")

    names = page.locator(".library-name > a").all_inner_texts()
    assert "Python code fence" in names
    assert "Story opener (English)" not in names
    assert "/templates/?q=code%20fence&" in page.url  # the search is in the address bar


def test_it_adds_moves_and_removes_turns_keeping_what_was_typed(
    page: Any, live_url: str, alice: User
) -> None:
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/templates/new/")
    page.fill("input[name=name]", "Turns")
    page.fill("textarea[name=prefix]", "kept \n")
    page.fill("textarea[name=turns-0-content]", "first")

    page.click("button[value=add]")
    page.wait_for_selector("textarea[name=turns-1-content]")
    page.fill("textarea[name=turns-1-content]", "second")
    page.click("button[value=up-1]")
    page.wait_for_function(
        "() => document.querySelector('textarea[name=turns-0-content]').value === 'second'"
    )

    assert page.input_value("textarea[name=turns-1-content]") == "first"
    assert page.input_value("textarea[name=prefix]") == "kept \n"
    assert page.input_value("input[name=name]") == "Turns"
    page.click("button[value=remove-0]")
    page.wait_for_selector("textarea[name=turns-1-content]", state="detached")
    page.click("button.btn-primary[type=submit]")
    page.wait_for_url(f"{live_url}/templates/*/")
    template = PrefixTemplate.objects.get(name="Turns")
    assert [turn["content"] for turn in template.turns] == ["first"]
    assert template.prefix == "kept \n"


def test_a_preview_fired_while_a_turn_moves_does_not_cancel_the_move(
    page: Any, live_url: str, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a slow server the live preview (300 ms after typing) used to abort a Move in flight."""
    template = PrefixTemplate(owner=alice, name="Two turns", prefix="Well,")
    template.turns = [
        {"role": "user", "content": "first", "images": []},
        {"role": "assistant", "content": "second", "images": []},
    ]
    template.save(author=alice)
    preview_sent = threading.Event()
    real_action = editor_views.apply_turn_action

    def slow_action(turns: Any, action: str) -> Any:
        # The server answers the move only once the browser has sent a preview meanwhile.
        assert preview_sent.wait(HANG_GUARD), "no preview was sent while the move was pending"
        return real_action(turns, action)

    monkeypatch.setattr(editor_views, "apply_turn_action", slow_action)
    log_in(page, live_url, "alice", PASSWORD)
    page.goto(f"{live_url}/templates/{template.code}/edit/")

    page.fill("textarea[name=turns-1-content]", "second, edited")  # the preview is due
    with page.expect_request(lambda request: "/templates/preview/" in request.url):
        page.click("button[value=up-1]")
    preview_sent.set()

    page.wait_for_function(  # a function, not a string: the CSP forbids eval
        "() => document.querySelector('textarea[name=turns-0-content]').value === 'second, edited'"
    )
    assert page.input_value("textarea[name=turns-1-content]") == "first"


def test_it_shows_a_starter_with_an_image_turn_and_its_history(
    page: Any, live_url: str, alice: User
) -> None:
    load_starter_library()
    template = PrefixTemplate.objects.get(key="image-caption-prefix")
    log_in(page, live_url, "alice", PASSWORD)

    page.goto(f"{live_url}/templates/{template.code}/")
    assert page.locator(".image-list code").inner_text().startswith("https://img.alicdn.com/")
    assert page.locator("a.btn", has_text="Edit").count() == 0
    _screenshot(page, "template-starter-detail")

    page.click("form[action$='/fork/'] button")
    page.wait_for_url(f"{live_url}/templates/*/")
    fork = PrefixTemplate.objects.get(owner=alice)
    page.goto(f"{live_url}/templates/{fork.code}/revisions/")
    assert page.locator("tbody tr").count() == 1
    _screenshot(page, "template-revisions")


def test_it_lists_import_problems_by_field(page: Any, live_url: str, alice: User) -> None:
    log_in(page, live_url, "alice", PASSWORD)
    document = {
        "schema": "prefix-playground/templates",
        "version": 1,
        "templates": [{"name": "Fine", "prefix": "{"}, {"name": "Broken", "category": "x"}],
    }
    page.goto(f"{live_url}/templates/import/")
    page.fill("textarea[name=text]", json.dumps(document, indent=2))
    page.click("button.btn-primary[type=submit]")

    problems = page.locator(".import-problems li").all_inner_texts()
    assert problems == [
        "templates[1].category: must be one of code_fence, story, json, roleplay, fim, other",
        "templates[1].prefix: required",
    ]
    assert not PrefixTemplate.objects.exists()
    _screenshot(page, "template-import-errors")
