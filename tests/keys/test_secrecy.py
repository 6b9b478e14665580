"""The key never leaves the server: not in a response body of the vault, not in a log record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter
from django_htmx.middleware import HtmxDetails

from playground.accounts.models import User
from playground.keys import views
from playground.keys.models import Credential
from tests.keys.factories import SECRET, make_credential

REPLACEMENT = "sk-test-REPLACEMENTSECRET-0987654321"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _journey(client: Client, htmx: bool) -> Iterator[Any]:
    """Yield the response of every vault page and action, as one user goes through them."""
    headers = HTMX if htmx else {}
    add = reverse("keys:add")
    form = {"provider": "deepseek", "label": f"Key {htmx}", "api_key": SECRET, "base_url": ""}
    yield client.post(add, {**form, "base_url": "http://127.0.0.1/v1"}, **headers)
    yield client.post(add, {**form, "base_url": f"https://u:{SECRET}@example.com"}, **headers)
    yield client.post(add, {**form, "label": ""}, **headers)
    yield client.post(add, form, follow=not htmx, **headers)
    yield client.get(reverse("keys:list"))
    credential = Credential.objects.get(label=f"Key {htmx}")
    code = credential.code
    yield client.get(reverse("keys:row", args=[code]), follow=True, **headers)
    for name, data in [
        ("rename", {"label": "Renamed"}),
        ("rename", {"label": ""}),
        ("replace_key", {"api_key": "bad key with spaces"}),
        ("replace_key", {"api_key": REPLACEMENT}),
        ("endpoint", {"base_url": "https://proxy.example.com/v1"}),
        ("endpoint", {"base_url": "ftp://example.com"}),
    ]:
        url = reverse(f"keys:{name}", args=[code])
        yield client.get(url, **headers)
        yield client.post(url, data, follow=not htmx, **headers)
    yield client.get(reverse("keys:list"))
    yield client.get(reverse("keys:delete", args=[code]))
    yield client.post(reverse("keys:delete", args=[code]), follow=not htmx, **headers)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_it_never_sends_or_logs_the_key(
    alice_client: Client, alice: User, settings: Any, caplog: pytest.LogCaptureFixture, htmx: bool
) -> None:
    settings.ALLOW_PRIVATE_BASE_URLS = False
    settings.DEBUG = True  # so that every SQL statement and its parameters are logged too
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers default to INFO
    bodies = []
    for response in _journey(alice_client, htmx):
        assert response.status_code == 200, response.request
        bodies.append(response.content.decode())
    assert len(bodies) == 21
    assert any("…7890" in body for body in bodies)
    assert any("…4321" in body for body in bodies)
    assert any("For your safety the key was not kept" in body for body in bodies)
    assert any("keys_credential" in record.getMessage() for record in caplog.records)
    for secret in (SECRET, REPLACEMENT, "THISISASECRETKEY", "REPLACEMENTSECRET"):
        for body in bodies:
            assert secret not in body
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in repr(record.__dict__)


@pytest.mark.parametrize("name", ["add", "replace_key"])
def test_it_hides_the_key_from_error_reports(rf: RequestFactory, alice: User, name: str) -> None:
    credential = make_credential(alice)
    view = {"add": views.add, "replace_key": views.replace_key}[name]
    args = [] if name == "add" else [credential.code]
    # Refused input (no label, a space in the key), so both views render instead of redirecting.
    data = {"api_key": f"{SECRET} x", "label": ""}
    request = rf.post(reverse(f"keys:{name}", args=args), data)
    request.user = alice
    request.htmx = HtmxDetails(request)
    view(request, *args)
    reported = SafeExceptionReporterFilter().get_post_parameters(request)
    assert reported["api_key"] == SafeExceptionReporterFilter.cleansed_substitute
    assert SECRET not in str(reported)
