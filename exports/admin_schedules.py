"""Schedules in the admin: admins see every schedule and its runs, pause, resume or delete it.

Every change goes through exports.schedules (and so writes its audit event); the rest is read-only
here: recurrences, recipients and specs are edited by their owners (the schedule pages, or
`manage.py schedule_export`). Imported from exports/admin.py.
"""

from __future__ import annotations

from django.contrib import admin, messages

from exports import schedules
from exports.admin_history import ReadOnlyMixin
from exports.models import Schedule, ScheduleRun, ScheduleRunRecipient


class ScheduleRunInline(ReadOnlyMixin, admin.TabularInline):
    model = ScheduleRun
    fields = ("scheduled_for", "status", "is_late", "missed", "message", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("-scheduled_for",)


class ScheduleRunRecipientInline(ReadOnlyMixin, admin.TabularInline):
    model = ScheduleRunRecipient
    fields = ("user", "export", "skip_code", "skip_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("dashboard", "owner", "recurrence", "next_run_at", "is_paused", "consecutive_failures")
    list_filter = ("is_paused", "kind", "delivery", "dashboard")
    list_select_related = ("dashboard", "owner")
    search_fields = ("owner__username", "dashboard__name", "dashboard__dashboard_id")
    inlines = [ScheduleRunInline]
    actions = ["pause", "resume"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # view only: changes go through the actions below, with their audit events

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Schedule._meta.fields] + ["recurrence", "recipient_users", "recipient_groups"]

    @admin.display(description="Recurrence")
    def recurrence(self, schedule: Schedule) -> str:
        return schedules.words(schedule)

    @admin.action(description="Pause the selected schedules", permissions=["view"])
    def pause(self, request, queryset) -> None:
        paused = sum(
            schedules.schedule_pause(schedule=s, actor=request.user, reason=f"Paused by {request.user.username}.")
            for s in queryset.select_related("dashboard", "owner")
        )
        self.message_user(request, f"{paused} schedule(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume the selected schedules", permissions=["view"])
    def resume(self, request, queryset) -> None:
        resumed = sum(schedules.schedule_resume(schedule=s, actor=request.user) for s in queryset)
        self.message_user(request, f"{resumed} schedule(s) resumed.", messages.SUCCESS)

    def delete_model(self, request, obj) -> None:
        schedules.schedule_delete(schedule=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for schedule in queryset:
            schedules.schedule_delete(schedule=schedule, actor=request.user)


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("schedule", "scheduled_for", "status", "is_late", "missed")
    list_filter = ("status", "is_late")
    list_select_related = ("schedule__dashboard", "schedule__owner")
    readonly_fields = [f.name for f in ScheduleRun._meta.fields]
    inlines = [ScheduleRunRecipientInline]
    actions = None
