"""What a business user sees of the catalog: granted dashboards, their live sheets and visuals, RLS verdicts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from exports import access
from exports.models import Dashboard, Sheet, Visual
from exports.rls import RlsIdentity, effective_identities, export_blocker


@dataclass(frozen=True)
class DashboardCard:
    dashboard: Dashboard
    sheets: list[Sheet]  # live sheets, each with .live_visuals
    identity: RlsIdentity
    blocker: str | None  # why the user cannot export it, in their words

    @property
    def can_export(self) -> bool:
        return self.blocker is None


def _with_live_parts(dashboards: QuerySet[Dashboard]) -> QuerySet[Dashboard]:
    visuals = Visual.objects.filter(is_stale=False).order_by("position", "title")
    sheets = (
        Sheet.objects.filter(is_stale=False)
        .order_by("position", "name")
        .prefetch_related(Prefetch("visuals", queryset=visuals, to_attr="live_visuals"))
    )
    return dashboards.prefetch_related(Prefetch("sheets", queryset=sheets, to_attr="live_sheets"))


def _cards(user, dashboards) -> list[DashboardCard]:
    dashboards = list(dashboards)
    identities = effective_identities(user, dashboards)
    return [DashboardCard(d, d.live_sheets, identities[d.pk], export_blocker(identities[d.pk], d)) for d in dashboards]


def granted_catalog(user, *, query: str = "") -> list[DashboardCard]:
    """The user's granted dashboards matching the query (name, id, sheet or visual title), in four queries."""
    dashboards = access.granted_dashboards(user)
    if query:
        dashboards = dashboards.filter(
            Q(name__icontains=query)
            | Q(dashboard_id__icontains=query)
            | Q(sheets__is_stale=False, sheets__name__icontains=query)
            | Q(sheets__visuals__is_stale=False, sheets__visuals__title__icontains=query)
        )
    return _cards(user, _with_live_parts(dashboards.order_by("name", "pk")))


def dashboard_card(user, dashboard_id: str) -> DashboardCard:
    """One granted dashboard; 404 when it is not granted to the user (or gone)."""
    dashboard = access.get_dashboard_for_user(user, dashboard_id)
    return _cards(user, _with_live_parts(Dashboard.objects.filter(pk=dashboard.pk)))[0]
