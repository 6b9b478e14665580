"""Rate limits and the login lockout page: what is counted, and what a refused request reads.

Counting is django-ratelimit's, in the "ratelimit" cache that every web process shares (Redis
when REDIS_URL is set, else a database table). The rates are settings.RATE_LIMITS; each group
is counted per client address (sign-up) or per user (everything else), POSTs only. Failed logins
are django-axes' (settings, "Login lockout"); `lockout_response` is the page it shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

_PER_CLIENT = frozenset({"signup"})
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
_WHAT = {
    "signup": "Too many sign-ups from your network",
    "password_change": "Too many password changes tried",
    "runs": "You are starting runs faster than this site allows",
    "probe": "Too many probes",
}


@dataclass(frozen=True)
class Refusal:
    """A refused request: the sentence to show, and the seconds until it may be tried again."""

    message: str
    retry_after: int


def _key(group: str, request: HttpRequest) -> str:
    if group in _PER_CLIENT:
        return request.META.get("REMOTE_ADDR") or "unknown"
    return f"user:{request.user.pk}"


def rate_words(rate: str) -> str:
    """Return "10 an hour" for "10/h", "5 every 10 minutes" for "5/10m"."""
    count, _, period = rate.partition("/")
    multiple, unit = period[:-1], _UNITS[period[-1]]
    if multiple and multiple != "1":
        return f"{count} every {multiple} {unit}s"
    return f"{count} {'an' if unit == 'hour' else 'a'} {unit}"


def wait_words(seconds: int) -> str:
    """Return how long to wait in words: "in 40 seconds", "in 12 minutes", "in 2 hours"."""
    seconds = max(seconds, 1)
    if seconds < 90:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"in {minutes} minutes"
    return f"in {math.ceil(minutes / 60)} hours"


def check(request: HttpRequest, group: str) -> Refusal | None:
    """Count this POST in `group`; return a Refusal when it is over the group's rate."""
    rate = settings.RATE_LIMITS[group]
    usage = get_usage(request, group=group, key=_key, rate=rate, method="POST", increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    retry_after = max(int(usage["time_left"]), 1)
    message = f"{_WHAT[group]} (at most {rate_words(rate)}). Try again {wait_words(retry_after)}."
    return Refusal(message=message, retry_after=retry_after)


def refused(
    request: HttpRequest, template: str, context: dict[str, Any], refusal: Refusal
) -> HttpResponse:
    """Render `template` with the refusal's message, as 429 Too Many Requests with Retry-After."""
    response = render(request, template, {**context, "refusal": refusal.message}, status=429)
    response["Retry-After"] = str(refusal.retry_after)
    return response


def lockout_response(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Return the page for a login refused by the lockout (the site's and the admin's).

    django-axes also passes the refused response and the credentials; the page needs neither.
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "minutes": minutes,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "admin": request.path.startswith("/admin/"),
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
