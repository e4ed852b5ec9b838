"""API tokens in the admin: admins list every user's tokens and revoke any (through exports.tokens,
which audits it). Secrets are never stored, so there is nothing to show or edit. Imported from
exports/admin.py."""

from __future__ import annotations

from django.contrib import admin, messages

from exports import tokens
from exports.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("user", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")
    exclude = ("secret_sha256",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is created by its owner, who alone sees it once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the audit events name the token's id

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke(self, request, queryset) -> None:
        ip = request.META.get("REMOTE_ADDR") or None
        revoked = sum(
            tokens.token_revoke(token=t, actor=request.user, ip_address=ip) for t in queryset.select_related("user")
        )
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
