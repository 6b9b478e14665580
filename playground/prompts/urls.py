from __future__ import annotations

from django.urls import path

from . import views

app_name = "prompts"
urlpatterns = [path("", views.placeholder, name="list")]
