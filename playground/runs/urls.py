from __future__ import annotations

from django.urls import path

from . import learned, team_sharing, views

app_name = "runs"

urlpatterns = [
    path("", views.compare, name="compare"),
    path("new/", views.create, name="create"),
    path("history/", views.history, name="history"),
    path("rows/turn/", views.turn_row, name="turn_row"),
    path("rows/target/", views.target_row, name="target_row"),
    path("variables/", views.variables, name="variables"),
    path("images/", views.upload_image, name="upload_image"),
    path("images/<uuid:code>/", views.image, name="image"),
    path("<uuid:code>/", views.detail, name="detail"),
    path("<uuid:code>/stream/", views.stream, name="stream"),
    path("<uuid:code>/stop/", views.stop, name="stop"),
    path("<uuid:code>/columns/<int:position>/stop/", views.stop_column, name="stop_column"),
    path("<uuid:code>/rerun/", views.rerun, name="rerun"),
    path("<uuid:code>/diff/", views.diff, name="diff"),
    path("<uuid:code>/share/", views.share, name="share"),
    path("<uuid:code>/verdict/", views.verdict, name="verdict"),
    path("<uuid:code>/columns/<int:position>/continue/", views.continue_column, name="continue"),
    path("<uuid:code>/columns/<int:position>/answer/", views.answer_column, name="answer"),
    path("<uuid:code>/answer-all/", views.answer_all, name="answer_all"),
    path(
        "<uuid:code>/columns/<int:position>/segments/<int:index>/retry/",
        views.retry_segment,
        name="retry",
    ),
    path("<uuid:code>/columns/<int:position>/inspect/", views.inspect, name="inspect"),
    path("<uuid:code>/columns/<int:position>/code/", views.code, name="code"),
    path("<uuid:code>/columns/<int:position>/rendered/", views.rendered, name="rendered"),
    path(
        "<uuid:code>/columns/<int:position>/download.<str:kind>",
        views.download,
        name="download",
    ),
    path("shared/<str:token>/", views.shared, name="shared"),
    path("<uuid:code>/team/", team_sharing.share_with_team, name="share_team"),
    path("<uuid:code>/columns/<int:position>/pin/", learned.pin_column, name="pin"),
    path("templates/<uuid:code>/learned/", learned.template_learned, name="template_learned"),
    path("templates/<uuid:code>/unpin/", learned.unpin, name="unpin"),
]
