"""A user's effective row-level-security identity for one dashboard, from server-side mappings only.

Precedence, strongest first: the user's dashboard-scoped mapping, the user's global mapping,
a group's dashboard-scoped mapping, a group's global mapping. Where two groups disagree at the
same level, the group whose name sorts first wins, and the disagreement is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from exports.models import Dashboard, RlsTagMapping

MAX_TAGS = 50


@dataclass(frozen=True)
class TagConflict:
    key: str
    chosen_value: str
    chosen_from: str
    overridden: tuple[tuple[str, str], ...]  # (group name, value) that lost


@dataclass(frozen=True)
class RlsIdentity:
    tags: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    conflicts: tuple[TagConflict, ...] = ()

    def as_session_tags(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in sorted(self.tags.items())]


def _level(mapping: RlsTagMapping) -> int:
    return (0 if mapping.user_id else 2) + (0 if mapping.dashboard_id else 1)


def effective_identity(user, dashboard: Dashboard) -> RlsIdentity:
    mappings = (
        RlsTagMapping.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
        .filter(Q(dashboard=dashboard) | Q(dashboard__isnull=True))
        .select_related("group", "dashboard")
    )
    by_key: dict[str, list[RlsTagMapping]] = {}
    for mapping in mappings:
        by_key.setdefault(mapping.tag_key, []).append(mapping)

    tags, sources, conflicts = {}, {}, []
    for key, candidates in sorted(by_key.items()):
        candidates.sort(key=lambda m: (_level(m), m.group.name if m.group_id else ""))
        winner = candidates[0]
        tags[key] = winner.tag_value
        scope = f"for {dashboard.name}" if winner.dashboard_id else "for every dashboard"
        sources[key] = f"{winner.subject} {scope}"
        rivals = tuple(
            (m.group.name, m.tag_value)
            for m in candidates[1:]
            if m.group_id and _level(m) == _level(winner) and m.tag_value != winner.tag_value
        )
        if winner.group_id and rivals:
            conflicts.append(TagConflict(key, winner.tag_value, winner.group.name, rivals))
    return RlsIdentity(tags=tags, sources=sources, conflicts=tuple(conflicts))


def export_blocker(identity: RlsIdentity, dashboard: Dashboard) -> str | None:
    """Why this identity cannot export the dashboard, in plain words; None when it can."""
    if len(identity.tags) > MAX_TAGS:
        return f"You have {len(identity.tags)} row-level security tags; QuickSight accepts at most {MAX_TAGS}."
    if dashboard.uses_rls and not set(identity.tags) & set(dashboard.rls_tag_keys):
        keys = ", ".join(dashboard.rls_tag_keys)
        return (
            f"{dashboard.name} shows only the rows your row-level security tags allow ({keys}), "
            "and you have none for it yet. Ask an administrator to map your tags."
        )
    return None
