"""Read-only admin for exports and the audit log: history is looked at here, never edited.

Imported from exports/admin.py. The audit log refuses add, change and delete (and bulk delete);
on PostgreSQL the database refuses UPDATE and DELETE as well (migration 0002).
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR
from django.urls import reverse
from django.utils.functional import cached_property

from exports import events
from exports.models import AuditEvent, Export, ExportFile
from exports.views.http import PAGES_COUNTED_AHEAD, CappedPaginator

PK_MARK = "__pk__"  # stands for a row's pk in its change URL, reversed once a page


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


class CappedCountAdmin(admin.ModelAdmin):
    """Changelists of 100,000s of rows: counts stop a few pages past the one shown (the pagination
    template says "More than N"), no second count of the whole table, 25 rows a page."""

    show_full_result_count = False
    list_per_page = 25  # as the portal's own lists; filters and search narrow the rest
    # The columns the changelist shows: only these are read (JSON columns decoded for 25 rows and
    # never shown were a tenth of the page's time at 100,000 rows). The change view reads every field.
    list_columns: tuple[str, ...] = ()
    change_list_template = "admin/exports/quick_change_list.html"  # rows built per column (admin_rows.py)

    def get_changelist(self, request, **kwargs):
        changelist, columns = super().get_changelist(request, **kwargs), self.list_columns

        class QuickChangeList(changelist):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # Each row's link keeps the list's filters. Django's add_preserved_filters resolves
                # every row's URL to learn it is not the changelist (about 1.5 ms a filtered page of 25):
                # the same query string is added here, once per page; the template tag then has none.
                self.row_query, self.preserved_filters = self.preserved_filters, ""

            def url_for_result(self, result) -> str:
                pk = getattr(result, self.pk_attname)
                if isinstance(pk, int | uuid.UUID):  # nothing in it to quote: the URL reversed once a page
                    url = self.change_url_around[0] + str(pk) + self.change_url_around[1]
                else:
                    url = super().url_for_result(result)
                return f"{url}?{self.row_query}" if self.row_query else url

            @cached_property
            def change_url_around(self) -> tuple[str, str]:
                name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
                url = reverse(name, args=(PK_MARK,), current_app=self.model_admin.admin_site.name)
                before, _, after = url.rpartition(PK_MARK)
                return before, after

            def get_queryset(self, request, exclude_parameters=None):
                rows = super().get_queryset(request, exclude_parameters)
                return rows.only(*columns) if columns else rows

        return QuickChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        asked = request.GET.get(PAGE_VAR, "")
        number = int(asked) if asked.isdigit() and len(asked) < 7 else 1
        cap = (number + PAGES_COUNTED_AHEAD) * per_page
        return CappedPaginator(queryset, per_page, cap=cap, orphans=orphans)


class DashboardFilter(admin.RelatedFieldListFilter):
    """Django's "By dashboard" filter, reading each dashboard's id and name only: the stock one loads
    every dashboard whole, its data sets and RLS tag keys (JSON) included, on each changelist view."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        dashboards = field.related_model._default_manager.only("pk", "name")
        return [(d.pk, str(d)) for d in (dashboards.order_by(*ordering) if ordering else dashboards)]


class ExportAdmin(ReadOnlyMixin, CappedCountAdmin):
    list_display = ("created_at", "user", "dashboard", "status", "aws_job_status", "error_code")
    list_columns = ("created_at", "user__username", "dashboard__name", "status", "aws_job_status", "error_code")
    list_filter = ("status", ("dashboard", DashboardFilter))
    list_select_related = ("user", "dashboard")
    search_fields = (
        "snapshot_job_id",
        "start_request_id",
        "error_request_id",
        "job_arn",
        "user__username",
        "dashboard__name",
    )
    # No date_hierarchy: its year links are a DISTINCT over every export on each page view.
    ordering = ("-created_at", "-id")  # export_newest_idx
    inlines = [ExportFileInline]
    actions = None


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(action, events.words(action)) for action in events.actions()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditEventAdmin(ReadOnlyMixin, CappedCountAdmin):
    list_display = ("seq", "created_at", "actor_username", "what", "action", "object_type", "object_id", "ip_address")
    list_columns = ("seq", "created_at", "actor_username", "action", "object_type", "object_id", "ip_address")
    list_filter = (ActionFilter,)
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
