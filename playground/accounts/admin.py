from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from .models import Invite, Membership, Team, User

admin.site.register(User, UserAdmin)


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "code", "created_at"]
    search_fields = ["name", "code"]
    readonly_fields = ["code", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin[Invite]):
    list_display = ["team", "role", "created_by", "created_at", "expires_at", "status"]
    list_filter = ["role"]
    search_fields = ["team__name", "created_by__username"]
    readonly_fields = ["token_hash", "created_at", "used_at", "used_by"]
    raw_id_fields = ["team", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An invite's token is shown once, on the team page; one made here would be unusable.
        return False
