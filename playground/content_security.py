"""django-csp's middleware without its two thread hops per request.

django-csp's CSPMiddleware is a MiddlewareMixin: under ASGI it runs process_request and
process_response through sync_to_async on the one thread-sensitive worker, which every sync ORM
call also waits for. Both steps only read settings and set attributes and a header, so here
they run directly on the event loop. The policy itself is CONTENT_SECURITY_POLICY in settings.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import cast

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class CSPMiddleware(BaseCSPMiddleware):
    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)
        # MiddlewareMixin calls __acall__ only when get_response is a coroutine function
        # (its async_mode), which the stubs' one type for either kind of handler cannot say.
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        return self.process_response(request, response)
