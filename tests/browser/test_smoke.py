from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_it_serves_the_login_page_over_uvicorn(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/accounts/login/")
    assert page.locator("input[name=username]").count() == 1
    screenshot(page, "smoke-login")
