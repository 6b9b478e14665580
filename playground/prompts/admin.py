from __future__ import annotations

from django.contrib import admin

from .models import PrefixTemplate, TemplateRevision


@admin.register(PrefixTemplate)
class PrefixTemplateAdmin(admin.ModelAdmin[PrefixTemplate]):
    list_display = ["name", "category", "visibility", "owner", "team", "updated_at"]
    list_filter = ["category", "visibility"]
    search_fields = ["name", "description"]
    raw_id_fields = ["owner", "team", "forked_from"]
    readonly_fields = ["code", "key", "created_at", "updated_at"]


@admin.register(TemplateRevision)
class TemplateRevisionAdmin(admin.ModelAdmin[TemplateRevision]):
    list_display = ["template", "number", "author", "created_at"]
    raw_id_fields = ["template", "author"]
