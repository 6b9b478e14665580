from __future__ import annotations

from django.urls import path

from . import views

app_name = "batches"

urlpatterns = [
    path("", views.batch_list, name="list"),
    path("templates/<uuid:code>/", views.template_inputs, name="template"),
    path("inputs/<uuid:code>/", views.input_set, name="input_set"),
    path("inputs/<uuid:code>/edit/", views.edit_input_set, name="edit_input_set"),
    path("inputs/<uuid:code>/delete/", views.delete_input_set, name="delete_input_set"),
    path("inputs/<uuid:code>/download.csv", views.download_input_set, name="download_input_set"),
    path("<uuid:code>/", views.detail, name="detail"),
    path("<uuid:code>/poll/", views.poll, name="poll"),
    path("<uuid:code>/pause/", views.pause, name="pause"),
    path("<uuid:code>/resume/", views.resume, name="resume"),
    path("<uuid:code>/cancel/", views.cancel, name="cancel"),
    path("<uuid:code>/rerun-failed/", views.rerun_failed, name="rerun_failed"),
    path("<uuid:code>/export.<str:kind>", views.download, name="export"),
]
