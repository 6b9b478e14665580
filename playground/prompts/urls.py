from __future__ import annotations

from django.urls import path

from . import views

app_name = "prompts"
urlpatterns = [
    path("", views.library, name="list"),
    path("new/", views.new, name="new"),
    path("preview/", views.preview, name="preview"),
    path("import/", views.import_templates, name="import"),
    path("export/", views.export_library, name="export_library"),
    path("<uuid:code>/", views.detail, name="detail"),
    path("<uuid:code>/edit/", views.edit, name="edit"),
    path("<uuid:code>/fork/", views.fork, name="fork"),
    path("<uuid:code>/delete/", views.delete, name="delete"),
    path("<uuid:code>/export/", views.export_one, name="export"),
    path("<uuid:code>/revisions/", views.revisions, name="revisions"),
    path("<uuid:code>/revisions/<int:number>/", views.revision, name="revision"),
    path("<uuid:code>/revisions/<int:number>/diff/", views.diff, name="diff"),
    path("<uuid:code>/revisions/<int:number>/restore/", views.restore, name="restore"),
]
