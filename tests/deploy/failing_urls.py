"""A URLconf whose one view fails, to see the 500 page as the site serves it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from playground.urls import handler500  # noqa: F401 - Django reads it from the URLconf


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a deliberate failure")


urlpatterns = [path("boom/", boom)]
