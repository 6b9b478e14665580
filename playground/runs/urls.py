from __future__ import annotations

from django.urls import path

from . import views

app_name = "runs"
urlpatterns = [
    path("", views.placeholder, name="compare"),
    path("history/", views.placeholder, name="history"),
]
