"""Responses to a signed-in user are never stored by the browser or a shared cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

SyncHandler = Callable[[HttpRequest], HttpResponseBase]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponseBase]]
Handler = SyncHandler | AsyncHandler


def no_store_for_users(get_response: Handler) -> Handler:
    """Add `Cache-Control: no-store, private` to every response to an authenticated user.

    Static files never get here: WhiteNoise answers them earlier in the chain.
    """
    if iscoroutinefunction(get_response):
        # asgiref tells a coroutine function by a marker (markcoroutinefunction) that types
        # cannot express, so the narrowing it does is stated here.
        get_async_response = cast(AsyncHandler, get_response)

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            response = await get_async_response(request)
            # The user the view already loaded, if any, saves a session and a user query.
            user = getattr(request, "_cached_user", None) or await request.auser()
            if user.is_authenticated:
                patch_cache_control(response, no_store=True, private=True)
            return response

        markcoroutinefunction(middleware)
        return middleware

    get_sync_response = cast(SyncHandler, get_response)  # not a coroutine function: see above

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_sync_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response

    return sync_middleware


# Django reads these flags off the middleware factory; a function's attributes are not typed.
no_store_for_users.async_capable = True  # type: ignore[attr-defined]
no_store_for_users.sync_capable = True  # type: ignore[attr-defined]
