"""A user's effective row-level-security identity for one dashboard, from server-side mappings only.

Precedence, strongest first: the user's dashboard-scoped mapping, the user's global mapping,
a group's dashboard-scoped mapping, a group's global mapping. Where two groups disagree at the
same level, the group whose name sorts first wins, and the disagreement is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from exports.models import Dashboard, RlsTagMapping
from exports.rls_rules import TagConfiguration, TagRule, describe_groups
from exports.snapshot_rules import MAX_RLS_TAGS


@dataclass(frozen=True)
class TagConflict:
    key: str
    chosen_value: str
    chosen_from: str
    overridden: tuple[tuple[str, str], ...]  # (group name, value) that lost


@dataclass(frozen=True)
class TagCandidate:
    """One mapping that applies to the user for the dashboard, and whether it won its key."""

    key: str
    value: str
    source: str
    used: bool


@dataclass(frozen=True)
class RlsIdentity:
    tags: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    conflicts: tuple[TagConflict, ...] = ()
    candidates: tuple[TagCandidate, ...] = ()

    def as_session_tags(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in sorted(self.tags.items())]


def _level(mapping: RlsTagMapping) -> int:
    return (0 if mapping.user_id else 2) + (0 if mapping.dashboard_id else 1)


def _source(mapping: RlsTagMapping, dashboard: Dashboard) -> str:
    scope = f"for {dashboard.name}" if mapping.dashboard_id else "for every dashboard"
    return f"{mapping.subject} {scope}"


def _user_mappings(user, dashboard_pks: Iterable[int]) -> list[RlsTagMapping]:
    return list(
        RlsTagMapping.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
        .filter(Q(dashboard__in=list(dashboard_pks)) | Q(dashboard__isnull=True))
        .select_related("user", "group")
    )


def _resolve(mappings: Iterable[RlsTagMapping], dashboard: Dashboard) -> RlsIdentity:
    by_key: dict[str, list[RlsTagMapping]] = {}
    for mapping in mappings:
        if mapping.dashboard_id in (None, dashboard.pk):
            by_key.setdefault(mapping.tag_key, []).append(mapping)

    tags, sources, conflicts, candidates = {}, {}, [], []
    for key, found in sorted(by_key.items()):
        found.sort(key=lambda m: (_level(m), m.group.name if m.group_id else ""))
        winner = found[0]
        tags[key] = winner.tag_value
        sources[key] = _source(winner, dashboard)
        candidates.extend(TagCandidate(key, m.tag_value, _source(m, dashboard), m is winner) for m in found)
        rivals = tuple(
            (m.group.name, m.tag_value)
            for m in found[1:]
            if m.group_id and _level(m) == _level(winner) and m.tag_value != winner.tag_value
        )
        if winner.group_id and rivals:
            conflicts.append(TagConflict(key, winner.tag_value, winner.group.name, rivals))
    return RlsIdentity(tags=tags, sources=sources, conflicts=tuple(conflicts), candidates=tuple(candidates))


def effective_identity(user, dashboard: Dashboard) -> RlsIdentity:
    return _resolve(_user_mappings(user, [dashboard.pk]), dashboard)


def effective_identities(user, dashboards: Iterable[Dashboard]) -> dict[int, RlsIdentity]:
    """effective_identity for many dashboards in one query (list pages), keyed by dashboard pk."""
    dashboards = list(dashboards)
    mappings = _user_mappings(user, [d.pk for d in dashboards]) if dashboards else []
    return {d.pk: _resolve(mappings, d) for d in dashboards}


@dataclass(frozen=True)
class DataSetRules:
    """One data set of a dashboard as the last sync read it: its RLS rules, or why they are unknown."""

    data_set_id: str
    name: str
    rules: TagConfiguration | None = None
    error_code: str = ""
    error: str = ""


def data_set_rules(dashboard: Dashboard) -> list[DataSetRules]:
    """The dashboard's data sets with their RLS rules, from the last sync."""
    if not dashboard.data_sets and dashboard.rls_tag_keys:
        # Synced before rules were kept per data set: only the keys are known. Until the next sync,
        # require every key, QuickSight's rule for a data set without TagRuleConfigurations.
        legacy = TagConfiguration(True, tuple(TagRule(key, key) for key in dashboard.rls_tag_keys))
        return [DataSetRules("", "", legacy)]
    return [
        DataSetRules(
            entry.get("data_set_id", ""),
            entry.get("name") or entry.get("data_set_id", ""),
            TagConfiguration.from_api(entry.get("rls")),
            entry.get("error_code", ""),
            entry.get("error", ""),
        )
        for entry in dashboard.data_sets
    ]


def unreadable_data_sets(dashboard: Dashboard) -> str | None:
    """Why no export of the dashboard may run whoever asks (a data set's rules unknown); None if none."""
    failed = [d for d in data_set_rules(dashboard) if d.error_code]
    if not failed:
        return None
    names = ", ".join(f"“{d.name}” ({d.error_code})" for d in failed)
    return (
        f"{dashboard.name} cannot be exported for now: QuickSight did not let the portal read the "
        f"row-level security rules of its data set {names}. An administrator must fix that and sync again."
    )


def export_blocker(identity: RlsIdentity, dashboard: Dashboard, *, who: str | None = None) -> str | None:
    """Why this identity cannot export the dashboard, in plain words; None when it can.

    Every data set that uses RLS must let the identity see rows (exports/rls_rules.py says when):
    QuickSight evaluates each data set on its own, and a visual over a data set the identity fails
    comes back empty, so such an export is refused before it is built or started. `who`: the
    user's name when an admin reads it (the preview); None speaks to the user.
    """
    they_have, their = (f"{who} has", f"{who}'s") if who else ("you have", "your")
    if len(identity.tags) > MAX_RLS_TAGS:
        has = f"{who} has" if who else "You have"
        return f"{has} {len(identity.tags)} row-level security tags; QuickSight accepts at most {MAX_RLS_TAGS}."
    unreadable = unreadable_data_sets(dashboard)
    if unreadable:
        return unreadable
    unmet = []
    for data_set in data_set_rules(dashboard):
        missing = data_set.rules.unmet(identity.tags) if data_set.rules else ()
        if missing:
            lacking = ", ".join(dict.fromkeys(key for group in missing for key in group))
            subject = f"Its data set “{data_set.name}”" if data_set.name else "It"
            unmet.append(
                f"{subject} needs the tags {describe_groups(data_set.rules.required_groups)}; "
                f"{they_have} no value for {lacking}."
            )
    if unmet:
        keys = ", ".join(dashboard.rls_tag_keys)
        ask = f"Add a mapping for {who} or one of their groups." if who else "Ask an administrator to map your tags."
        return (
            f"{dashboard.name} shows only the rows {their} row-level security tags allow ({keys}). {' '.join(unmet)} "
            + ask
        )
    return None


def _condition_words(column: str, values: tuple[str, ...]) -> str:
    return f"{column} is {' or '.join(values)}" if values else f"{column} is nothing (no value matches)"


def rows_in_words(identity: RlsIdentity, dashboard: Dashboard, *, who: str) -> list[str]:
    """For the admin: which rows each data set will show this user ("alice will see rows where region is EMEA")."""
    lines = []
    for data_set in data_set_rules(dashboard):
        of = f" of “{data_set.name}”" if data_set.name else ""
        if data_set.error_code:
            lines.append(f"{who} will see nothing{of} yet: its rules could not be read ({data_set.error_code}).")
            continue
        alternatives = data_set.rules.row_filter(identity.tags) if data_set.rules else None
        if alternatives is None:
            lines.append(f"{who} will see every row{of}.")
        elif not alternatives:
            lines.append(f"{who} will see no rows{of}.")
        else:
            where = " — or where ".join(
                " and ".join(_condition_words(c, v) for c, v in group) for group in alternatives
            )
            lines.append(f"{who} will see rows{of} where {where}.")
    return lines
