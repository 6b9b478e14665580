"""Log filters. Imported by the LOGGING setting, before Django's apps load: no models here."""

from __future__ import annotations

import logging
import re

# The paths whose last part is a secret: invite links (accounts/urls.py, invite_accept) and
# share links (runs/urls.py, shared), also URL-encoded as in a login page's ?next=.
# tests/deploy/test_logging.py checks them against the URL configuration.
_SLASH = "(?:/|%2F)"
TOKEN_PATHS = re.compile(
    rf"({_SLASH}accounts{_SLASH}invites{_SLASH}|{_SLASH}runs{_SLASH}shared{_SLASH})"
    r"[^/?#&%\s\"']+",
    re.IGNORECASE,
)
REDACTED = r"\1[token]"
# A run's stream and Stop URLs carry a stream token in their query (runs/stream_tokens.py).
# It is worth nothing without its session's cookie; it stays out of the logs all the same.
QUERY_TOKEN = re.compile(r"([?&]t=)[^&#\s\"']+")


def redact(text: str) -> str:
    """Return `text` with the token of every invite or share path, and every stream token,
    replaced by "[token]"."""
    if "t=" in text:
        text = QUERY_TOKEN.sub(REDACTED, text)
    lowered = text.lower()
    if "invites" not in lowered and "shared" not in lowered:
        return text
    return TOKEN_PATHS.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites invite and share tokens in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
