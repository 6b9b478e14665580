"""Invite and share tokens are redacted from log lines (playground/accounts/logfilters.py)."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from playground.accounts.logfilters import RedactTokens, redact


@pytest.mark.parametrize(
    ("route", "token"),
    [("accounts:invite_accept", "inv-Tok_3n5ecret"), ("runs:shared", "shAreT0ken-xyz_")],
)
def test_it_redacts_the_token_of_the_real_routes(route: str, token: str) -> None:
    path = reverse(route, args=[token])

    assert token not in redact(path)
    assert redact(path).endswith("[token]/")
    quoted = "/accounts/login/?next=" + path.replace("/", "%2F")
    assert token not in redact(quoted)


def test_it_leaves_other_paths_alone() -> None:
    for text in ("/runs/", "/runs/history/?q=shared", "/accounts/teams/", "/templates/x/"):
        assert redact(text) == text


def test_the_filter_rewrites_a_uvicorn_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.7:0", "GET", "/runs/shared/SeCrEt123/", "1.1", 200),
        None,
    )

    assert RedactTokens().filter(record)

    assert record.getMessage() == '203.0.113.7:0 - "GET /runs/shared/[token]/ HTTP/1.1" 200'


def test_the_settings_attach_the_filter_to_the_access_and_request_logs() -> None:
    from django.conf import settings

    loggers = settings.LOGGING["loggers"]
    assert "redact_tokens" in loggers["uvicorn.access"]["filters"]
    assert "redact_tokens" in loggers["django.request"]["filters"]
    assert any(isinstance(f, RedactTokens) for f in logging.getLogger("uvicorn.access").filters)
