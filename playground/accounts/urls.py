from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("teams/", views.teams, name="teams"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<uuid:code>/", views.team_detail, name="team_detail"),
    path("teams/<uuid:code>/rename/", views.team_rename, name="team_rename"),
    path("teams/<uuid:code>/delete/", views.team_delete, name="team_delete"),
    path("teams/<uuid:code>/leave/", views.team_leave, name="team_leave"),
    path("teams/<uuid:code>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("teams/<uuid:code>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("teams/<uuid:code>/invites/new/", views.invite_create, name="invite_create"),
    path("teams/<uuid:code>/invites/<int:pk>/revoke/", views.invite_revoke, name="invite_revoke"),
    path("invites/<str:token>/", views.invite_accept, name="invite_accept"),
]
