from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def placeholder(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"heading": "Accounts"})


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"heading": "Prefix Playground"})


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"heading": "Home"})
