from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.placeholder, name="signup"),
    path("password/", views.placeholder, name="password_change"),
    path("teams/", views.placeholder, name="teams"),
]
