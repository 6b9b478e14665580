"""Responses to a signed-in user are never stored by the browser or a shared cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

Handler = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


def no_store_for_users(get_response: Handler) -> Handler:
    """Add `Cache-Control: no-store, private` to every response to an authenticated user.

    Static files never get here: WhiteNoise answers them earlier in the chain.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            response = await get_response(request)  # type: ignore[misc]
            # The user the view already loaded, if any, saves a session and a user query.
            user = getattr(request, "_cached_user", None) or await request.auser()
            if user.is_authenticated:
                patch_cache_control(response, no_store=True, private=True)
            return response

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response  # type: ignore[return-value]

    return sync_middleware


no_store_for_users.async_capable = True  # type: ignore[attr-defined]
no_store_for_users.sync_capable = True  # type: ignore[attr-defined]
