from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def placeholder(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"heading": "prompts"})
