"""Who may see what. Views ask here; anything not allowed is NotFound (a 404, never a 403 that leaks existence)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db.models import Model, Q, QuerySet

from exports.models import Dashboard, Export, S3Destination, Schedule


class NotFound(Exception):
    """No such object, or not one this user may see: the two must look alike (views answer 404)."""


def _get[M: Model](objects: QuerySet[M], message: str, **lookup) -> M:
    try:
        return objects.get(**lookup)
    except objects.model.DoesNotExist:
        raise NotFound(message) from None


AUDITOR_PERMISSION = ("exports", "view_history")  # (app label, codename); exports.backends reads it too


def auditor_grants(user) -> QuerySet[Permission]:
    """exports.view_history granted to the user directly or through a group (a user, or OuterRef("pk"))."""
    app_label, codename = AUDITOR_PERMISSION
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return granted.filter(Q(user=user) | Q(group__user=user))


def remember_auditor(user, granted: bool) -> None:
    """Whether the user is an auditor, kept on the user object for the rest of the request."""
    user._is_auditor = user.is_active and (user.is_superuser or granted)


def is_auditor(user) -> bool:
    """user.has_perm("exports.view_history") in at most one query, remembered on the user object as Django
    remembers permissions (ModelBackend would read every permission of the user and of their groups,
    two queries, for this one question). A user loaded by exports.backends.PortalBackend comes with it."""
    if not user.is_authenticated:
        return False
    if not hasattr(user, "_is_auditor"):
        remember_auditor(user, auditor_grants(user).exists())
    return user._is_auditor


def is_admin(user) -> bool:
    return user.is_authenticated and user.is_superuser


def sees_everything(user) -> bool:
    """Auditors and admins: every export, the RLS tag values sent, the history and the audit log."""
    return is_auditor(user) or is_admin(user)


def granted_dashboards(user) -> QuerySet[Dashboard]:
    """Dashboards granted to the user directly or through a group, not gone from QuickSight."""
    if not user.is_authenticated:
        return Dashboard.objects.none()
    groups = user.groups.all()
    return (
        Dashboard.objects.filter(is_stale=False).filter(Q(grants__user=user) | Q(grants__group__in=groups)).distinct()
    )


def granted_dashboard(user, dashboard_id: str) -> Dashboard | None:
    """The granted dashboard a DashboardId names, for the preview and the export alike.

    Users and specs name a dashboard by its DashboardId; should two granted accounts or regions
    share one, answer the same one every time (by account, then region) rather than fail."""
    return granted_dashboards(user).filter(dashboard_id=dashboard_id).order_by("aws_account_id", "region").first()


def get_dashboard_for_user(user, dashboard_id: str) -> Dashboard:
    dashboard = granted_dashboard(user, dashboard_id)
    if dashboard is None:
        raise NotFound("No such dashboard, or it is not shared with you.")
    return dashboard


def allowed_destinations(user, dashboard: Dashboard) -> QuerySet[S3Destination]:
    """Destinations open to one of the user's groups and in the dashboard's region (the API's rule)."""
    return (
        S3Destination.objects.filter(allowed_groups__in=user.groups.all(), region=dashboard.region)
        .distinct()
        .order_by("name")
    )


def visible_exports(user) -> QuerySet[Export]:
    if sees_everything(user):
        return Export.objects.all()
    return Export.objects.filter(user=user)


def get_export_for_user(user, export_id) -> Export:
    """The requester sees their own exports; admins and auditors see all."""
    return _get(visible_exports(user), "No such export.", pk=export_id)


def can_download(user, export: Export) -> bool:
    if export.user_id == user.pk or is_admin(user):
        return True
    return settings.AUDITORS_CAN_DOWNLOAD and is_auditor(user)


def owned_schedules(user) -> QuerySet[Schedule]:
    """The schedules a user may see and change on their pages: their own (admins use the Django admin)."""
    if not user.is_authenticated:
        return Schedule.objects.none()
    return Schedule.objects.filter(owner=user)


def get_schedule_for_owner(user, schedule_id) -> Schedule:
    return _get(owned_schedules(user).select_related("dashboard", "owner"), "No such schedule.", pk=schedule_id)


def received_schedules(user) -> QuerySet[Schedule]:
    """Schedules that name the user as a recipient, directly or through a group, and that they do not own."""
    if not user.is_authenticated:
        return Schedule.objects.none()
    named = Q(recipient_users=user) | Q(recipient_groups__in=user.groups.all())
    ids = Schedule.objects.filter(named).exclude(owner=user).values("pk")
    return Schedule.objects.filter(pk__in=ids)


def get_received_schedule(user, schedule_id) -> Schedule:
    return _get(received_schedules(user).select_related("dashboard", "owner"), "No such schedule.", pk=schedule_id)
