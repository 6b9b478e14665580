"""A prefix ending in a space and a newline survives the editor, a save and a reload, visibly."""

from __future__ import annotations

from typing import Any

import pytest

from playground.accounts.models import User
from playground.prompts.management.commands.load_starter_library import load_starter_library
from playground.prompts.models import PrefixTemplate
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PREFIX = "Here is the fixed code: \n"


def _prefix_text(page: Any, selector: str) -> str:
    # textContent holds the real characters; the ·/↵ markers are CSS and are not part of it.
    return str(page.locator(selector).first.evaluate("node => node.textContent"))


def _screenshot(page: Any, name: str) -> None:
    # From the top, so the sticky header and editor sidebar sit where a reader expects them.
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def test_it_keeps_a_trailing_space_and_newline_through_save_and_reload(
    page: Any, live_url: str, alice: User
) -> None:
    load_starter_library()
    log_in(page, live_url, "alice", PASSWORD)

    page.goto(f"{live_url}/templates/")
    assert page.locator(".library-table tbody tr").count() >= 15
    _screenshot(page, "library")

    page.goto(f"{live_url}/templates/new/")
    page.fill("input[name=name]", "Fix the bug")
    page.fill("textarea[name=system]", "You fix {{language}} code.")
    page.fill("textarea[name=turns-0-content]", "This function crashes on empty lists:\n{{code}}")
    page.fill("textarea[name=prefix]", PREFIX)
    page.fill("textarea[name=stop]", "```")
    # The live preview (htmx) shows the prefix with its whitespace and lists the variables.
    page.wait_for_selector("#prefix-preview .ws-nl")
    assert _prefix_text(page, "#prefix-preview") == PREFIX
    assert page.locator(".variable-name").all_inner_texts() == ["{{language}}", "{{code}}"]
    page.fill("textarea[name=var-language-default]", "Python")
    _screenshot(page, "template-editor")

    page.click("button.btn-primary[type=submit]")
    page.wait_for_url(f"{live_url}/templates/*/")
    template = PrefixTemplate.objects.get(name="Fix the bug")
    assert template.prefix == PREFIX
    assert [v.default for v in template.variables()] == ["Python", None]

    page.reload()
    block = "pre.prefix-block[data-field=prefix]"
    assert _prefix_text(page, block) == PREFIX
    markers = page.locator(f"{block} .ws").evaluate_all("nodes => nodes.map(n => n.className)")
    assert markers[-2:] == ["ws ws-space", "ws ws-nl"]
    _screenshot(page, "template-detail")

    page.goto(f"{live_url}/templates/{template.code}/edit/")
    assert page.input_value("textarea[name=prefix]") == PREFIX
    page.fill("textarea[name=prefix]", PREFIX.rstrip(" \n"))
    page.click("button.btn-primary[type=submit]")
    page.wait_for_url(f"{live_url}/templates/{template.code}/")

    page.goto(f"{live_url}/templates/{template.code}/revisions/2/diff/")
    changed = page.locator(".diff-insert mark, .diff-delete mark")
    assert changed.locator(".ws-space").count() == 1
    assert changed.locator(".ws-nl").count() == 1
    _screenshot(page, "template-diff")
