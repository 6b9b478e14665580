"""Stream tokens: a run's own page opens its stream and presses Stop without Django's middleware.

The page that shows a running run (rendered for its owner, in a session) carries a token in its
stream and Stop URLs (`?t=...`). The token is signed with the site's SECRET_KEY and names the
run, its owner and a tag of the session it was made for, so it is worth nothing without that
session's cookie, and it expires after `MAX_AGE`. playground/runs/stream_endpoint.py answers a
request whose token checks out; any other request (no token, expired, another session) goes
through Django's full request cycle exactly as before, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "playground.runs.stream-token"
# Long enough for a page's first stream and its reconnects; later ones take the slow path.
MAX_AGE = 600


@dataclass(frozen=True)
class StreamGrant:
    """What a valid token allows: this user's run, in this session."""

    run_pk: int
    code: str
    user_id: int


def _session_tag(session_key: str) -> str:
    return salted_hmac(f"{SALT}.session", session_key).hexdigest()[:24]


def mint(run_pk: int, code: str, user_id: int, session_key: str) -> str:
    """Return the token for run `code` of `user_id`, valid only with session `session_key`."""
    value = f"{run_pk}.{code}.{user_id}.{_session_tag(session_key)}"
    return signing.TimestampSigner(salt=SALT).sign(value)


def verify(token: str, code: str, session_key: str | None) -> StreamGrant | None:
    """Return the grant of a valid token for run `code` in session `session_key`, else None."""
    if not token or not session_key or len(token) > 300:
        return None
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired among them
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[1] != code:
        return None
    run_pk, _code, user_id, tag = parts
    if not constant_time_compare(tag, _session_tag(session_key)):
        return None
    try:
        return StreamGrant(int(run_pk), code, int(user_id))
    except ValueError:
        return None
