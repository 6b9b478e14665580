from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin[Credential]):
    """Credentials for staff: who owns what, never the key (not even its ciphertext)."""

    list_display = ["label", "provider", "user", "key", "created_at"]
    list_filter = ["provider"]
    search_fields = ["label", "user__username"]
    # Only the label may change here. The key, the provider and where requests go are the
    # owner's to set through the vault, where the base-URL policy applies.
    fields = ["label", "user", "provider", "dialect", "base_url", "key", "code", "created_at"]
    readonly_fields = ["user", "provider", "dialect", "base_url", "key", "code", "created_at"]

    @admin.display(description="Key")
    def key(self, credential: Credential) -> str:
        """Return the masked key."""
        return credential.masked_key

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A credential needs an encrypted key, which only its owner can paste in the vault.
        return False
