"""A run page whose session has signed out since it was rendered: its stream opens (the token's
first byte goes out before the session is looked up), then ends with a run-done frame that says
"Signed out" with a sign-in link back to the run, and the page does not reconnect to be refused
again (docs/streaming.md, "Stream tokens")."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session

from playground.runs.models import Segment
from tests.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user
from tests.keys.factories import make_credential
from tests.runs.conftest import start_run

pytestmark = pytest.mark.browser

RETRY_SECONDS = 3  # the stream's `retry:` (playground/runs/relay.py OPEN_FRAME)


@pytest.mark.parametrize("dark", [False, True])
def test_a_signed_out_page_is_told_so_and_stops_reconnecting(
    _browser: Any, live_url: str, dark: bool
) -> None:
    user = make_user("leaver")
    run = start_run(user, [(make_credential(user), "deepseek-chat")], prefix="Dear diary,")
    context = _browser.new_context(
        viewport={"width": 390, "height": 844} if dark else {"width": 1360, "height": 900},
        color_scheme="dark" if dark else "light",
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        log_in(page, live_url, "leaver", PASSWORD)
        streams: list[str] = []

        def sign_out_first(route: Any) -> None:
            # The session ends (as by signing out in another tab) after the page was rendered
            # with its token and before its stream request reaches the server.
            Session.objects.all().delete()
            streams.append(route.request.url)
            route.continue_()

        page.route(f"**/runs/{run.code}/stream/**", sign_out_first)
        page.goto(f"{live_url}/runs/{run.code}/")

        status = page.locator(f"#run-status-{run.code}")
        status.get_by_text("Signed out").wait_for()
        link = status.get_by_role("link", name="Sign in")
        assert link.get_attribute("href") == f"/accounts/login/?next=/runs/{run.code}/"
        assert "Stop all" not in status.inner_text()
        screenshot(page, f"stream-signed-out-{'390-dark' if dark else 'desktop'}")

        # An EventSource that was not closed would try again after `retry:`; run-done closed it.
        page.wait_for_timeout((RETRY_SECONDS + 2) * 1000)
        assert len(streams) == 1, streams
        # Nothing was claimed: the run still waits for its owner to come back.
        assert Segment.objects.get(column__run=run).status == "pending"

        link.click()
        page.wait_for_url(f"**/accounts/login/?next=/runs/{run.code}/")
    finally:
        context.close()
