"""Read-only admin for exports and the audit log: history is looked at here, never edited.

Imported from exports/admin.py. The audit log refuses add, change and delete (and bulk delete);
on PostgreSQL the database refuses UPDATE and DELETE as well (migration 0002).
"""

from __future__ import annotations

from django.contrib import admin

from exports import events
from exports.models import AuditEvent, Export, ExportFile


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ExportFileInline(ReadOnlyMixin, admin.TabularInline):
    model = ExportFile
    # s3_uri stays out: result links are never shown, only served through the download view.
    fields = (
        "index",
        "part",
        "parts",
        "format",
        "sheet_ids",
        "visual_ids",
        "size_bytes",
        "sha256",
        "error_code",
        "error_message",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


class ExportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "user", "dashboard", "status", "aws_job_status", "error_code")
    list_filter = ("status", "dashboard")
    list_select_related = ("user", "dashboard")
    search_fields = (
        "snapshot_job_id",
        "start_request_id",
        "error_request_id",
        "job_arn",
        "user__username",
        "dashboard__name",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = [ExportFileInline]
    actions = None


class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("seq", "created_at", "actor_username", "what", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_username", "action", "object_id")
    ordering = ("-seq",)
    actions = None
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    @admin.display(description="What", ordering="action")
    def what(self, event: AuditEvent) -> str:
        return events.words(event.action)


# The catalog's admin may register Export first; the audit log is ours alone.
if not admin.site.is_registered(Export):
    admin.site.register(Export, ExportAdmin)
admin.site.register(AuditEvent, AuditEventAdmin)
