from __future__ import annotations

from django.urls import path

from . import views

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
