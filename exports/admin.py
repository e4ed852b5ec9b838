"""The admin: the catalog (synced from QuickSight), grants, RLS tag mappings, S3 destinations.

Catalog rows come from QuickSight: their ids are read-only and they are never deleted here
(exports point at them; a sync marks what disappeared as stale). Grants, mappings and destinations
are saved and deleted through exports/services.py, which writes their audit events.
"""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from exports import services
from exports.access import granted_dashboards
from exports.admin_history import ReadOnlyMixin
from exports.models import (
    Dashboard,
    DashboardParameter,
    Grant,
    RlsTagMapping,
    S3Destination,
    Sheet,
    Visual,
)
from exports.rls import data_set_rules, effective_identity, export_blocker, rows_in_words, unreadable_data_sets
from exports.rls_rules import describe_groups
from exports.snapshot_rules import MAX_RLS_TAGS
from exports.sync import SyncReport, catalog_accounts, sync_all, sync_dashboards
from exports.views.http import client_address

SYNCED_DASHBOARD_FIELDS = (
    "name",
    "aws_account_id",
    "region",
    "dashboard_id",
    "arn",
    "version_number",
    "rls_tag_keys",
    "last_synced_at",
    "is_stale",
)


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """Synced from QuickSight: shown, never edited or deleted by hand."""

    extra = 0
    can_delete = False


def _formats(visual: Visual) -> str:
    return "PDF, CSV, Excel" if visual.is_tabular else "PDF only"


class SheetInline(ReadOnlyInline):
    """Each sheet with its visuals (Django has no nested inlines; the sheet's own page has a Visual inline)."""

    model = Sheet
    fields = ("position", "sheet_id", "name", "visual_list", "is_stale")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="Visuals")
    def visual_list(self, sheet: Sheet) -> str:
        rows = format_html_join(
            "",
            '<li class="{}">{} <code>{}</code> · {} · {}{}</li>',
            (
                (
                    "stale" if v.is_stale else "",
                    v.title or v.visual_id,
                    v.visual_id,
                    v.visual_type,
                    _formats(v),
                    " · stale" if v.is_stale else "",
                )
                for v in sheet.visuals.all()
            ),
        )
        return format_html('<ul class="visuals">{}</ul>', rows) if rows else "none"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("visuals")


class VisualInline(ReadOnlyInline):
    model = Visual
    fields = ("position", "visual_id", "title", "visual_type", "formats", "is_stale")
    readonly_fields = fields

    @admin.display(description="Formats")
    def formats(self, visual: Visual) -> str:
        return _formats(visual)


class ParameterInline(ReadOnlyInline):
    model = DashboardParameter
    fields = ("name", "param_type", "multi_valued", "default_values", "is_stale")
    readonly_fields = fields


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "dashboard_id",
        "aws_account_id",
        "region",
        "version_number",
        "rls_keys",
        "exports_blocked",
        "last_synced_at",
        "is_stale",
    )
    list_filter = ("is_stale", "region", "aws_account_id")
    search_fields = ("name", "dashboard_id", "arn", "sheets__name", "sheets__visuals__title")
    exclude = ("data_sets",)  # shown in words by data_set_list; written only by a sync
    inlines = [SheetInline, ParameterInline]
    change_form_template = "admin/exports/dashboard/change_form.html"
    change_list_template = "admin/exports/dashboard/change_list.html"
    actions = ["sync_from_quicksight"]

    @admin.display(description="RLS tag keys")
    def rls_keys(self, dashboard: Dashboard) -> str:
        return ", ".join(dashboard.rls_tag_keys) or "none"

    @admin.display(description="Exports blocked")
    def exports_blocked(self, dashboard: Dashboard) -> str:
        return unreadable_data_sets(dashboard) or ""

    @admin.display(description="Data sets and their RLS rules")
    def data_set_list(self, dashboard: Dashboard) -> str:
        rows = []
        for data_set in data_set_rules(dashboard):
            if data_set.error_code:
                verdict = format_html(
                    '<strong class="errornote">not readable: {}: {}</strong> (exports blocked until a sync reads it)',
                    data_set.error_code,
                    data_set.error,
                )
            elif data_set.rules and data_set.rules.applies:
                verdict = format_html("needs {}", describe_groups(data_set.rules.required_groups))
            elif data_set.rules:
                verdict = "RLS rules disabled: not filtered"
            else:
                verdict = "no row-level security"
            rows.append(
                (data_set.name or "(synced before rules were kept per data set)", data_set.data_set_id, verdict)
            )
        items = format_html_join("", "<li>{} <code>{}</code>: {}</li>", rows)
        return format_html('<ul class="data-sets">{}</ul>', items) if rows else "none"

    @admin.display(description="Granted to")
    def granted_to(self, dashboard: Dashboard) -> str:
        grants = dashboard.grants.select_related("user", "group").order_by("group__name", "user__username")
        url = reverse("admin:exports_grant_changelist") + "?" + urlencode({"dashboard__id__exact": dashboard.pk})
        subjects = format_html_join(", ", "{}", ((g.subject,) for g in grants)) or "nobody"
        return format_html('{} (<a href="{}">grants</a>)', subjects, url)

    readonly_fields = (*SYNCED_DASHBOARD_FIELDS, "exports_blocked", "data_set_list", "granted_to")

    # Dashboards, sheets and visuals belong to QuickSight: a sync adds and changes them, never a person
    # (no "Add dashboard", no Save); history points at them, so they are never deleted either.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_sync_permission(self, request) -> bool:
        return request.user.has_perm("exports.change_dashboard")

    def get_urls(self):
        return [
            path("sync-now/", self.admin_site.admin_view(self.sync_now_view), name="exports_dashboard_sync_now"),
            path(
                "rls-preview/",
                self.admin_site.admin_view(self.rls_preview_view),
                name="exports_dashboard_rls_preview",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Sync from QuickSight", permissions=["sync"])
    def sync_from_quicksight(self, request, queryset) -> None:
        wanted: dict[tuple[str, str], list[str]] = defaultdict(list)
        for account_id, region, dashboard_id in queryset.values_list("aws_account_id", "region", "dashboard_id"):
            wanted[(account_id, region)].append(dashboard_id)
        for (account_id, region), dashboard_ids in sorted(wanted.items()):
            report = sync_dashboards(
                account_id=account_id, region=region, dashboard_ids=dashboard_ids, actor=request.user
            )
            self._report(request, report)

    def _report(self, request, report: SyncReport, *, quiet: bool = False) -> None:
        """A message per dashboard; `quiet` leaves out those synced without news (a whole account's sync)."""
        for result in report.dashboards:
            if result.ok and result.problems:
                self.message_user(request, f"Synced, exports blocked: {result.line()}", messages.WARNING)
            elif result.ok and result.new:
                self.message_user(request, f"New in QuickSight: {result.name}: {result.line()}", messages.SUCCESS)
            elif result.ok and not quiet:
                self.message_user(request, f"Synced {result.line()}", messages.SUCCESS)
            elif not result.ok:
                self.message_user(request, f"Not synced: {result.line()}", messages.ERROR)
        for dashboard_id in report.gone:
            self.message_user(request, f"{dashboard_id}: gone from QuickSight, marked stale", messages.WARNING)

    def sync_now_view(self, request):
        """Every dashboard of the catalog's accounts, and those new in QuickSight (a button, confirmed by POST)."""
        if not self.has_sync_permission(request):
            raise PermissionDenied
        accounts = catalog_accounts(settings.QUICKSIGHT_LOCAL_ACCOUNT_ID, settings.AWS_REGION)
        if request.method == "POST" and request.POST.get("sync"):
            for report in sync_all(accounts=accounts, actor=request.user):
                self._report(request, report, quiet=True)
                self.message_user(request, report.lines()[-1], messages.INFO)
            return HttpResponseRedirect(reverse("admin:exports_dashboard_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync the catalog from QuickSight",
            "opts": self.model._meta,
            "accounts": accounts,
        }
        return TemplateResponse(request, "admin/exports/dashboard/sync_now.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_sync": self.has_sync_permission(request)}
        return super().changelist_view(request, extra_context)

    def rls_preview_view(self, request):
        if not self.has_view_permission(request) or not request.user.has_perm("exports.view_rlstagmapping"):
            raise PermissionDenied
        form = RlsPreviewForm(request.GET or None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Effective RLS identity",
            "opts": self.model._meta,
            "form": form,
            "max_tags": MAX_RLS_TAGS,
        }
        if form.is_valid():
            user, dashboard = form.cleaned_data["user"], form.cleaned_data["dashboard"]
            identity = effective_identity(user, dashboard)
            who = user.get_username()
            context.update(
                preview_user=user,
                dashboard=dashboard,
                identity=identity,
                tags=[
                    {"key": key, "value": value, "source": identity.sources[key], "used": key in dashboard.rls_tag_keys}
                    for key, value in sorted(identity.tags.items())
                ],
                overridden=[c for c in identity.candidates if not c.used],
                blocker=export_blocker(identity, dashboard, who=who),
                rows=rows_in_words(identity, dashboard, who=who),
                granted=granted_dashboards(user).filter(pk=dashboard.pk).exists(),
            )
        return TemplateResponse(request, "admin/exports/rls_preview.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["rls_preview_url"] = (
                reverse("admin:exports_dashboard_rls_preview") + "?" + urlencode({"dashboard": obj.pk})
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class RlsPreviewForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"))
    dashboard = forms.ModelChoiceField(queryset=Dashboard.objects.order_by("name"))


@admin.register(Sheet)
class SheetAdmin(admin.ModelAdmin):
    list_display = ("name", "sheet_id", "dashboard", "position", "is_stale")
    list_filter = ("is_stale", "dashboard")
    list_select_related = ("dashboard",)
    search_fields = ("name", "sheet_id", "dashboard__name", "visuals__title", "visuals__visual_id")
    readonly_fields = ("dashboard", "sheet_id", "name", "position", "is_stale")
    inlines = [VisualInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- grants, mappings, destinations: written by exports/services.py, which audits them ---


class AuditedAdmin(admin.ModelAdmin):
    """Saves and deletes through the services, which write `<name>.created|changed|deleted` with the
    values before and after, inside the admin's transaction."""

    @staticmethod
    def _ip(request) -> str | None:
        return client_address(request)

    def save_model(self, request, obj, form, change) -> None:
        many = {f.name: form.cleaned_data[f.name] for f in obj._meta.many_to_many if f.name in form.cleaned_data}
        services.setting_save(obj=obj, actor=request.user, ip_address=self._ip(request), many=many)

    def save_related(self, request, form, formsets, change) -> None:
        # The service set the many-to-many values with the row; only inlines are left (none today).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj) -> None:
        services.setting_delete(obj=obj, actor=request.user, ip_address=self._ip(request))

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for obj in queryset:
                services.setting_delete(obj=obj, actor=request.user, ip_address=self._ip(request))


@admin.register(Grant)
class GrantAdmin(AuditedAdmin):
    list_display = ("dashboard", "user", "group", "created_at")
    list_filter = ("dashboard", "group")
    list_select_related = ("dashboard", "user", "group")
    search_fields = ("dashboard__name", "dashboard__dashboard_id", "user__username", "group__name")
    autocomplete_fields = ("dashboard", "user", "group")
    fields = ("dashboard", "user", "group")


@admin.register(RlsTagMapping)
class RlsTagMappingAdmin(AuditedAdmin):
    list_display = ("tag_key", "tag_value", "user", "group", "scope")
    list_filter = ("tag_key", "group", "dashboard")
    list_select_related = ("dashboard", "user", "group")
    search_fields = ("tag_key", "tag_value", "user__username", "group__name", "dashboard__name")
    autocomplete_fields = ("dashboard", "user", "group")
    fields = ("user", "group", "dashboard", "tag_key", "tag_value")
    change_list_template = "admin/exports/rlstagmapping/change_list.html"

    @admin.display(description="Applies to", ordering="dashboard__name")
    def scope(self, mapping: RlsTagMapping) -> str:
        return mapping.dashboard.name if mapping.dashboard_id else "every dashboard"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "rls_preview_url": reverse("admin:exports_dashboard_rls_preview")}
        return super().changelist_view(request, extra_context)


@admin.register(S3Destination)
class S3DestinationAdmin(AuditedAdmin):
    list_display = ("name", "bucket_name", "bucket_prefix", "region", "groups")
    list_filter = ("region", "allowed_groups")
    search_fields = ("name", "bucket_name", "allowed_groups__name")
    filter_horizontal = ("allowed_groups",)

    @admin.display(description="Allowed groups")
    def groups(self, destination: S3Destination) -> str:
        return format_html_join(", ", "{}", ((g.name,) for g in destination.allowed_groups.all())) or "nobody"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("allowed_groups")


import exports.admin_tokens  # noqa: E402, F401  (registers the API tokens admin)
from exports import admin_schedules  # noqa: E402, F401  (registers the schedules admin)
