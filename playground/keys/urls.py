from __future__ import annotations

from django.urls import path

from . import team_views, views

app_name = "keys"
urlpatterns = [
    path("", views.credential_list, name="list"),
    path("add/", views.add, name="add"),
    path("add/endpoint/", views.endpoint_fields, name="endpoint_fields"),
    path("add/simulator/", views.add_simulator, name="add_simulator"),
    path("<uuid:code>/", views.row, name="row"),
    path("<uuid:code>/rename/", views.rename, name="rename"),
    path("<uuid:code>/key/", views.replace_key, name="replace_key"),
    path("<uuid:code>/endpoint/", views.endpoint, name="endpoint"),
    path("<uuid:code>/delete/", views.delete, name="delete"),
    path("<uuid:code>/probe/", views.probe, name="probe"),
]

# Team credentials (team_views.py): under the team's code.
urlpatterns += [
    path("teams/<uuid:code>/", team_views.team_keys, name="team"),
    path("teams/<uuid:code>/add/", team_views.team_add, name="team_add"),
    path("teams/<uuid:code>/settings/", team_views.team_settings, name="team_settings"),
    path("teams/<uuid:code>/usage/", team_views.team_usage, name="team_usage"),
    path("teams/<uuid:code>/audit.csv", team_views.team_audit_csv, name="team_audit_csv"),
    path(
        "teams/<uuid:code>/budgets/<str:kind>/<int:pk>/",
        team_views.team_budget,
        name="team_budget",
    ),
    path(
        "teams/<uuid:code>/<uuid:credential>/key/",
        team_views.team_replace_key,
        name="team_replace_key",
    ),
    path(
        "teams/<uuid:code>/<uuid:credential>/delete/",
        team_views.team_delete,
        name="team_delete",
    ),
]
