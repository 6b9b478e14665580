"""The request types views are annotated with: what django-htmx's middleware and sign-in add.

Types only: django-htmx's HtmxMiddleware sets `request.htmx` on every request, and Django's
LoginRequiredMiddleware (settings.MIDDLEWARE) lets a request reach a view not marked
`@login_not_required` only when its user is signed in, so such a view's `request.user` is a
`User`, never the AnonymousUser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from playground.accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthedRequest(HtmxHttpRequest):
    """A request to a view that requires sign-in (every view not marked login_not_required)."""

    user: User
    auser: Callable[[], Awaitable[User]]
