"""The catalog from QuickSight: dashboards, sheets, visuals, parameters and their data sets' RLS rules.

ListDashboards (every page), then per dashboard DescribeDashboardDefinition of the published
version and DescribeDataSet of each dataset it declares. Each dashboard is written in its own
transaction, so one that fails (AccessDenied, throttling, a malformed answer, a definition
QuickSight itself reports as failed) is reported and leaves its rows as they were while the others
go on. A data set QuickSight refuses to describe (access denied, a kind the API does not support)
is reported for that data set only: the dashboard still syncs, and the error stored with the data
set blocks its exports until a sync reads it. Nothing is deleted: what QuickSight no longer has is
marked stale, because exports and their history point at it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from exports import aws, events, quicksight, quota
from exports.models import Dashboard, DashboardParameter, Sheet, Visual
from exports.rls_rules import TagConfiguration

log = logging.getLogger(__name__)

PARAMETER_TYPES = {
    "StringParameterDeclaration": DashboardParameter.Type.STRING,
    "IntegerParameterDeclaration": DashboardParameter.Type.INTEGER,
    "DecimalParameterDeclaration": DashboardParameter.Type.DECIMAL,
    "DateTimeParameterDeclaration": DashboardParameter.Type.DATETIME,
}
# A sync runs in a command or an admin request, not a worker: it may wait for the shared quota.
QUOTA_MAX_WAIT_SECONDS = 30.0
_NO_RLS = TagConfiguration(enabled=False, rules=())


class SyncProblem(Exception):
    """QuickSight answered something we cannot turn into a catalog."""


@dataclass
class DashboardSync:
    dashboard_id: str
    name: str = ""
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    error_code: str = ""
    error: str = ""
    new: bool = False  # not in the catalog before this sync
    # Synced, but with data sets whose RLS rules could not be read: its exports are blocked.
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error_code

    def line(self) -> str:
        if not self.ok:
            return f"{self.dashboard_id}: FAILED {self.error_code}: {self.error}"
        line = (
            f"{self.dashboard_id}: {self.added} added, {self.changed} changed, "
            f"{self.unchanged} unchanged, {self.stale} stale"
        )
        if self.problems:
            line += "; exports blocked: " + "; ".join(self.problems)
        return line


@dataclass
class SyncReport:
    account_id: str
    region: str
    dashboards: list[DashboardSync] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # dashboards marked stale: no longer in QuickSight
    listing_failed: bool = False  # ListDashboards itself failed: nothing was synced

    @property
    def failed(self) -> list[DashboardSync]:
        return [d for d in self.dashboards if not d.ok]

    @property
    def with_problems(self) -> list[DashboardSync]:
        return [d for d in self.dashboards if d.ok and d.problems]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.with_problems

    def totals(self) -> dict[str, int]:
        keys = ("added", "changed", "unchanged", "stale")
        totals = {key: sum(getattr(d, key) for d in self.dashboards if d.ok) for key in keys}
        totals["stale"] += len(self.gone)
        return totals

    def lines(self) -> list[str]:
        out = [d.line() for d in self.dashboards]
        out += [f"{dashboard_id}: gone from QuickSight, marked stale" for dashboard_id in self.gone]
        if self.listing_failed:
            out.append(f"Nothing synced in {self.account_id}/{self.region}: QuickSight did not list its dashboards.")
            return out
        t = self.totals()
        out.append(
            f"{len(self.dashboards)} dashboard(s) in {self.account_id}/{self.region}: {t['added']} added, "
            f"{t['changed']} changed, {t['unchanged']} unchanged, {t['stale']} stale, {len(self.failed)} failed"
            + (f", {len(self.with_problems)} with unreadable data sets" if self.with_problems else "")
        )
        return out


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class _Catalog:
    """The gateway's catalog calls for one sync: a person's (or the command's) share of the quota,
    waiting for it; each data set described once per sync."""

    def __init__(self, account_id: str, region: str, who: str):
        self.account_id, self.region, self.who = account_id, region, who
        self._data_sets: dict[str, dict[str, Any]] = {}

    def dashboards(self) -> list[quicksight.DashboardSummary]:
        return quicksight.list_dashboards(self.account_id, self.region, who=self.who, max_wait=QUOTA_MAX_WAIT_SECONDS)

    def definition(self, summary: quicksight.DashboardSummary) -> dict[str, Any]:
        return quicksight.describe_definition(
            self.account_id, self.region, summary, who=self.who, max_wait=QUOTA_MAX_WAIT_SECONDS
        )

    def data_set(self, declaration: dict[str, Any]) -> dict[str, Any]:
        """One data set as Dashboard.data_sets keeps it (cached for this sync).

        A permanent refusal (access denied, a data set kind the API does not describe) is kept in
        the entry; a temporary one (throttling, 5xx) raises, so the dashboard keeps its last rules.
        """
        arn = declaration["DataSetArn"]
        if arn not in self._data_sets:
            data_set_id = arn.rsplit("/", 1)[-1]
            entry: dict[str, Any] = {"data_set_id": data_set_id, "name": declaration.get("Identifier") or data_set_id}
            try:
                data_set = quicksight.describe_data_set(
                    self.account_id, self.region, data_set_id, who=self.who, max_wait=QUOTA_MAX_WAIT_SECONDS
                )
            except aws.RetryableAwsError:
                raise
            except aws.AwsError as exc:
                log.warning("sync: DescribeDataSet %s refused: %s", data_set_id, exc.code)
                entry.update(rls=None, error_code=exc.code, error=exc.message or exc.user_message)
            else:
                TagConfiguration.from_api(
                    data_set.rls
                )  # a shape we cannot read fails the dashboard, not an export later
                entry.update(name=data_set.name or entry["name"], rls=data_set.rls, error_code="", error="")
            self._data_sets[arn] = entry
        return self._data_sets[arn]


def sync_dashboards(
    *,
    account_id: str,
    region: str,
    dashboard_id: str | None = None,
    dashboard_ids: Collection[str] | None = None,
    actor=None,
) -> SyncReport:
    """Bring the catalog of one account and region in line with QuickSight; only some dashboards if given.

    `actor` (an admin) is who the audit events name; a command run is the system.
    """
    report = SyncReport(account_id, region)
    wanted = {dashboard_id} if dashboard_id is not None else set(dashboard_ids) if dashboard_ids is not None else None
    catalog = _Catalog(account_id, region, who=quota.SHARED)
    try:
        summaries = catalog.dashboards()
    except aws.AwsError as exc:
        log.warning("sync of %s/%s: ListDashboards failed: %s", account_id, region, exc.code)
        what = ", ".join(sorted(wanted)) if wanted else "ListDashboards"
        report.dashboards.append(DashboardSync(what, error_code=exc.code, error=_reason(exc)))
        report.listing_failed = True
        return report

    listed = {s.dashboard_id for s in summaries}
    if wanted is not None:
        summaries = [s for s in summaries if s.dashboard_id in wanted]
        missing = sorted(wanted - listed)
        known = _mark_gone(account_id, region, missing, report, actor)
        for unknown in (m for m in missing if m not in known):
            report.dashboards.append(
                DashboardSync(
                    unknown,
                    error_code="ResourceNotFoundException",
                    error=f"QuickSight has no dashboard {unknown} in {account_id}/{region}.",
                )
            )

    for summary in summaries:
        result = DashboardSync(summary.dashboard_id, summary.name)
        try:
            body = catalog.definition(summary)
            data_sets = [catalog.data_set(d) for d in body.get("DataSetIdentifierDeclarations", [])]
            result.problems = [
                f"data set {d['data_set_id']}: {d['error_code']}: {d['error']}" for d in data_sets if d["error_code"]
            ]
            with transaction.atomic():
                _apply(account_id, region, summary, body, data_sets, result, actor)
        except aws.AwsError as exc:
            log.warning("sync of dashboard %s failed: %s", result.dashboard_id, exc.code)
            result.error_code, result.error = exc.code, _reason(exc)
        except IntegrityError:
            # Another sync wrote the same rows meanwhile; this dashboard's transaction rolled back.
            result.error_code, result.error = "ConcurrentSync", "Another sync changed this dashboard; run again."
        except (SyncProblem, KeyError, TypeError, StopIteration) as exc:
            log.warning("sync of dashboard %s: unexpected answer: %r", result.dashboard_id, exc)
            result.error_code, result.error = "UnexpectedResponse", f"QuickSight's answer could not be read: {exc!r}"
        report.dashboards.append(result)

    if wanted is None:
        known = Dashboard.objects.filter(aws_account_id=account_id, region=region, is_stale=False)
        _mark_gone(
            account_id,
            region,
            list(known.exclude(dashboard_id__in=listed).values_list("dashboard_id", flat=True)),
            report,
            actor,
        )
    return report


def catalog_accounts(default_account_id: str, default_region: str) -> list[tuple[str, str]]:
    """Every account and region the catalog holds, and the default one (where a first sync finds dashboards)."""
    pairs = set(Dashboard.objects.values_list("aws_account_id", "region").distinct())
    return sorted(pairs | {(default_account_id, default_region)})


def sync_all(*, accounts: list[tuple[str, str]], actor=None) -> list[SyncReport]:
    """Whole accounts: every dashboard QuickSight lists, new ones included; the gone ones marked stale."""
    return [sync_dashboards(account_id=account_id, region=region, actor=actor) for account_id, region in accounts]


def _reason(exc: aws.AwsError) -> str:
    later = " (temporary: run the sync again later)" if exc.retryable else ""
    return f"{exc.message or exc.user_message}{later}"


def _mark_gone(account_id: str, region: str, dashboard_ids: list[str], report: SyncReport, actor) -> set[str]:
    """Mark dashboards QuickSight no longer lists as stale; returns the ids that were in the catalog."""
    found = set()
    for dashboard in Dashboard.objects.filter(aws_account_id=account_id, region=region, dashboard_id__in=dashboard_ids):
        found.add(dashboard.dashboard_id)
        if dashboard.is_stale:
            continue
        with transaction.atomic():
            Dashboard.objects.filter(pk=dashboard.pk).update(is_stale=True, last_synced_at=timezone.now())
            events.dashboard_gone(dashboard=dashboard, actor=actor)
        report.gone.append(dashboard.dashboard_id)
    return found


def _save_if_changed(obj, values: dict[str, Any], counts: Counter) -> None:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
        counts["changed"] += 1
    else:
        counts["unchanged"] += 1


def _mark_stale(rows, counts: Counter) -> None:
    for row in rows:
        if not row.is_stale:
            row.is_stale = True
            row.save(update_fields=["is_stale"])
            counts["stale"] += 1


def _apply(
    account_id: str,
    region: str,
    summary: quicksight.DashboardSummary,
    body: dict[str, Any],
    data_sets: list[dict[str, Any]],
    result: DashboardSync,
    actor,
) -> None:
    counts: Counter = Counter()
    rls_tag_keys = sorted(
        {
            rule.tag_key
            for entry in data_sets
            if (rules := TagConfiguration.from_api(entry["rls"])) and rules.applies
            for rule in rules.rules
        }
    )
    dashboard_values = {
        "name": summary.name or summary.dashboard_id,
        "arn": summary.arn,
        "version_number": summary.published_version,
        "rls_tag_keys": rls_tag_keys,
        "data_sets": data_sets,
        "is_stale": False,
    }
    dashboard = (
        Dashboard.objects.select_for_update()
        .filter(aws_account_id=account_id, region=region, dashboard_id=summary.dashboard_id)
        .first()
    )
    if dashboard is None:
        dashboard = Dashboard.objects.create(
            aws_account_id=account_id, region=region, dashboard_id=summary.dashboard_id, **dashboard_values
        )
        counts["added"] += 1
        result.new = True
    else:
        _save_if_changed(dashboard, dashboard_values, counts)

    sheets = {s.sheet_id: s for s in dashboard.sheets.all()}
    visuals = {
        (v.sheet.sheet_id, v.visual_id): v
        for v in Visual.objects.filter(sheet__dashboard=dashboard).select_related("sheet")
    }
    seen_sheets, seen_visuals = set(), set()
    for position, raw_sheet in enumerate(body.get("Sheets", [])):
        sheet_id = raw_sheet.get("SheetId")
        if not sheet_id:
            raise SyncProblem("a sheet without SheetId")
        values = {
            "name": raw_sheet.get("Name") or raw_sheet.get("Title") or sheet_id,
            "position": position,
            "is_stale": False,
        }
        sheet = sheets.get(sheet_id)
        if sheet is None:
            sheet = sheets[sheet_id] = Sheet.objects.create(dashboard=dashboard, sheet_id=sheet_id, **values)
            counts["added"] += 1
        else:
            _save_if_changed(sheet, values, counts)
        seen_sheets.add(sheet_id)

        for visual_position, raw_visual in enumerate(raw_sheet.get("Visuals", [])):
            visual_type, visual_body = next(iter(raw_visual.items()))
            visual_id = visual_body.get("VisualId")
            if not visual_id:
                raise SyncProblem(f"a {visual_type} without VisualId on sheet {sheet_id}")
            text = (visual_body.get("Title") or {}).get("FormatText") or {}
            title = text.get("PlainText") or strip_tags(text.get("RichText") or "").strip()
            values = {"title": title, "visual_type": visual_type, "position": visual_position, "is_stale": False}
            visual = visuals.get((sheet_id, visual_id))
            if visual is None:
                Visual.objects.create(sheet=sheet, visual_id=visual_id, **values)
                counts["added"] += 1
            else:
                _save_if_changed(visual, values, counts)
            seen_visuals.add((sheet_id, visual_id))

    _mark_stale([s for sheet_id, s in sheets.items() if sheet_id not in seen_sheets], counts)
    _mark_stale([v for key, v in visuals.items() if key not in seen_visuals], counts)

    parameters = {p.name: p for p in dashboard.parameters.all()}
    seen_parameters = set()
    for declaration in body.get("ParameterDeclarations", []):
        kind, raw = next(iter(declaration.items()))
        if kind not in PARAMETER_TYPES or not raw.get("Name"):
            raise SyncProblem(f"an unknown parameter declaration {kind}")
        values = {
            "param_type": PARAMETER_TYPES[kind],
            # DateTimeParameterDeclaration has no ParameterValueType: it is single-valued.
            "multi_valued": raw.get("ParameterValueType") == "MULTI_VALUED",
            "default_values": [_jsonable(v) for v in (raw.get("DefaultValues") or {}).get("StaticValues", [])],
            "is_stale": False,
        }
        parameter = parameters.get(raw["Name"])
        if parameter is None:
            DashboardParameter.objects.create(dashboard=dashboard, name=raw["Name"], **values)
            counts["added"] += 1
        else:
            _save_if_changed(parameter, values, counts)
        seen_parameters.add(raw["Name"])
    _mark_stale([p for name, p in parameters.items() if name not in seen_parameters], counts)

    Dashboard.objects.filter(pk=dashboard.pk).update(last_synced_at=timezone.now())
    result.name = dashboard.name
    result.added, result.changed, result.unchanged, result.stale = (
        counts["added"],
        counts["changed"],
        counts["unchanged"],
        counts["stale"],
    )
    if result.added or result.changed or result.stale:
        events.catalog_synced(
            dashboard=dashboard,
            actor=actor,
            data={
                "aws_account_id": account_id,
                "region": region,
                "dashboard_id": dashboard.dashboard_id,
                "version_number": dashboard.version_number,
                "added": result.added,
                "changed": result.changed,
                "stale": result.stale,
                "rls_tag_keys": rls_tag_keys,
                # Keys only (rules carry no tag values): what each data set requires, or why it is unknown.
                "data_sets": {
                    d["data_set_id"]: d["error_code"]
                    or [list(g) for g in (TagConfiguration.from_api(d["rls"]) or _NO_RLS).required_groups]
                    for d in data_sets
                },
            },
        )
