"""Team credentials (team_views.py), under /keys/teams/<team code>/."""

from __future__ import annotations

from django.urls import path

from . import team_views

app_name = "teamkeys"
urlpatterns = [
    path("<uuid:code>/", team_views.team_keys, name="index"),
    path("<uuid:code>/add/", team_views.team_add, name="add"),
    path("<uuid:code>/settings/", team_views.team_settings, name="settings"),
    path("<uuid:code>/usage/", team_views.team_usage, name="usage"),
    path("<uuid:code>/audit.csv", team_views.team_audit_csv, name="audit_csv"),
    path("<uuid:code>/budgets/<str:kind>/<int:pk>/", team_views.team_budget, name="budget"),
    path("<uuid:code>/<uuid:credential>/key/", team_views.team_replace_key, name="replace_key"),
    path("<uuid:code>/<uuid:credential>/delete/", team_views.team_delete, name="delete"),
]
