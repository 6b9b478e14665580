"""django-csp's middleware without its two thread hops per request.

django-csp's CSPMiddleware is a MiddlewareMixin: under ASGI it runs process_request and
process_response through sync_to_async on the one thread-sensitive worker, which every sync ORM
call also waits for. Both steps only read settings and set attributes and a header, so here
they run directly on the event loop. The policy itself is CONTENT_SECURITY_POLICY in settings.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class CSPMiddleware(BaseCSPMiddleware):
    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:  # type: ignore[override]
        self.process_request(request)
        response = await self.get_response(request)  # type: ignore[misc]
        return self.process_response(request, response)
