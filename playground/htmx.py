"""The request type of the site's views: Django's request with django-htmx's `request.htmx`.

django-htmx's middleware sets `request.htmx` on every request (playground/settings.py); views
that read it annotate their request as `HtmxHttpRequest` so the type checker knows it is there.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
