from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from playground.accounts import views as accounts_views

urlpatterns = [
    path("", accounts_views.landing, name="landing"),
    path("home/", accounts_views.home, name="home"),
    path("accounts/", include("playground.accounts.urls")),
    path("keys/teams/", include("playground.keys.team_urls")),
    path("keys/", include("playground.keys.urls")),
    path("templates/", include("playground.prompts.urls")),
    path("runs/", include("playground.runs.urls")),
    path("batches/", include("playground.batches.urls")),
    path("admin/", admin.site.urls),
]

# The 500 page needs the request for its CSP nonce; Django's default handler renders without one.
handler500 = "playground.errors.server_error"
handler404 = accounts_views.page_not_found
