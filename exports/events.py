"""Every audit event the portal writes: one function each, owning its action name and its data, and
the words people read for it (an export's timeline). exports/audit.py is the chain they go through.

Call each inside the transaction of the change it describes. Data carries no RLS tag values except
where the auditor's record needs them (the request and the identity of `export.requested`, and the
before/after of a mapping): those are never logged, only chained.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from exports import audit
from exports.models import (
    ApiToken,
    AuditEvent,
    Dashboard,
    Export,
    ExportFile,
    Grant,
    RlsTagMapping,
    S3Destination,
    Schedule,
)

S = Export.Status

EXPORT_REQUESTED = "export.requested"
# One action per state an export enters (exports/jobs.py moves it).
EXPORT_MOVED = {
    S.SUBMITTING: "export.submitting",
    S.QUEUED: "export.started",
    S.RUNNING: "export.running",
    S.COMPLETED: "export.completed",
    S.COMPLETED_WITH_ERRORS: "export.completed_with_errors",
    S.FAILED: "export.failed",
    S.TIMED_OUT: "export.timed_out",
    S.CANCELLED: "export.cancelled",
}
FILE_DOWNLOADED = "export.file_downloaded"
FILES_ARCHIVED = "export.files_archived"
LIMIT_REFUSED = "limit.refused"
LOGIN_FAILED = "auth.login_failed"
LOCKED_OUT = "auth.locked_out"
HISTORY_EXPORTED = "history.exported"
CATALOG_SYNCED = "catalog.synced"
DASHBOARD_GONE = "catalog.dashboard_gone"
SCHEDULE_CREATED = "schedule.created"
SCHEDULE_CHANGED = "schedule.changed"
SCHEDULE_PAUSED = "schedule.paused"
SCHEDULE_RESUMED = "schedule.resumed"
SCHEDULE_DELETED = "schedule.deleted"
SCHEDULE_OPTED_OUT = "schedule.opted_out"
SCHEDULE_OPTED_IN = "schedule.opted_in"
RUN_STARTED = "schedule.run_started"
RUN_MADE = "schedule.run_made"
RUN_ENDED = "schedule.run_ended"
API_TOKEN_CREATED = "api_token.created"
API_TOKEN_REVOKED = "api_token.revoked"
API_USED = "api.used"
# Grants, RLS mappings and destinations: `<name>.created|changed|deleted` (exports/services.py).
SETTING_NAMES = {Grant: "grant", RlsTagMapping: "rls_mapping", S3Destination: "destination"}
Verb = Literal["created", "changed", "deleted"]

SETTING_VERBS: tuple[Verb, ...] = ("created", "changed", "deleted")

# Every action this module records, in words people read (the timeline, the audit log, the history).
WORDS = {
    EXPORT_REQUESTED: "Started an export",
    EXPORT_MOVED[S.SUBMITTING]: "Sending the export to QuickSight",
    EXPORT_MOVED[S.QUEUED]: "QuickSight queued the snapshot job",
    EXPORT_MOVED[S.RUNNING]: "QuickSight started making the files",
    EXPORT_MOVED[S.COMPLETED]: "Export completed",
    EXPORT_MOVED[S.COMPLETED_WITH_ERRORS]: "Export completed with errors: some files failed",
    EXPORT_MOVED[S.FAILED]: "Export failed",
    EXPORT_MOVED[S.TIMED_OUT]: "Export timed out",
    EXPORT_MOVED[S.CANCELLED]: "Export cancelled",
    FILE_DOWNLOADED: "Downloaded a file",
    FILES_ARCHIVED: "Archived the files with checksums",
    LIMIT_REFUSED: "Refused: a limit was reached",
    LOGIN_FAILED: "Failed to sign in",
    LOCKED_OUT: "Locked out after failed sign-ins",
    HISTORY_EXPORTED: "Downloaded the history",
    CATALOG_SYNCED: "Synced a dashboard from QuickSight",
    DASHBOARD_GONE: "Dashboard gone from QuickSight (marked stale)",
    SCHEDULE_CREATED: "Created a schedule",
    SCHEDULE_CHANGED: "Changed a schedule",
    SCHEDULE_PAUSED: "Paused a schedule",
    SCHEDULE_RESUMED: "Resumed a schedule",
    SCHEDULE_DELETED: "Deleted a schedule",
    SCHEDULE_OPTED_OUT: "Stopped receiving a schedule",
    SCHEDULE_OPTED_IN: "Receives a schedule again",
    RUN_STARTED: "A schedule's run started",
    RUN_MADE: "A schedule's run made its exports",
    RUN_ENDED: "A schedule's run ended",
    API_TOKEN_CREATED: "Created an API token",
    API_TOKEN_REVOKED: "Revoked an API token",
    API_USED: "Used the API",
    "grant.created": "Granted a dashboard",
    "grant.changed": "Changed a grant",
    "grant.deleted": "Removed a grant",
    "rls_mapping.created": "Added an RLS tag mapping",
    "rls_mapping.changed": "Changed an RLS tag mapping",
    "rls_mapping.deleted": "Removed an RLS tag mapping",
    "destination.created": "Added an S3 destination",
    "destination.changed": "Changed an S3 destination",
    "destination.deleted": "Removed an S3 destination",
}


def actions() -> list[str]:
    """Every action name this module can record (tests check each has words)."""
    names = [value for key, value in globals().items() if key.isupper() and isinstance(value, str) and "." in value]
    names += EXPORT_MOVED.values()
    names += [f"{name}.{verb}" for name in SETTING_NAMES.values() for verb in SETTING_VERBS]
    return sorted(set(names))


def words(action: str) -> str:
    """An action in words; an action no longer recorded (old events) reads as its last word."""
    return WORDS.get(action) or action.rsplit(".", 1)[-1].replace("_", " ").capitalize()


# --- exports ---


def export_requested(
    *,
    export: Export,
    actor,
    dashboard: Dashboard,
    identity: Any,
    ip_address: str | None = None,
    retry_of: Export | None = None,
) -> AuditEvent:
    """The auditor's record of what was asked: the spec, the exact request, the RLS identity behind it,
    and the export whose failed files it retries, if it does."""
    identity_data = {"tags": identity.tags, "sources": identity.sources}
    data = {"dashboard": dashboard.dashboard_id, "spec": export.spec, "request": export.request}
    if retry_of is not None:
        data["retry_of"] = str(retry_of.pk)
    return audit.record(
        EXPORT_REQUESTED,
        actor=actor,
        export=export,
        target=export,
        data={**data, "rls_identity": identity_data},
        ip_address=ip_address,
    )


def export_moved(
    *,
    export: Export,
    previous: str,
    to: str,
    actor=None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    return audit.record(
        EXPORT_MOVED[to],
        actor=actor,
        export=export,
        data={"from": previous, "to": to, **(data or {})},
        ip_address=ip_address,
    )


def file_downloaded(
    *, export: Export, export_file: ExportFile, actor, data: dict[str, Any], ip_address: str | None = None
) -> AuditEvent:
    return audit.record(
        FILE_DOWNLOADED, actor=actor, export=export, target=export_file, data=data, ip_address=ip_address
    )


def files_archived(*, export: Export, files: list[ExportFile]) -> AuditEvent:
    return audit.record(
        FILES_ARCHIVED,
        export=export,
        data={
            "files": [
                {"file": f.index, "part": f.part, "format": f.format, "sha256": f.sha256, "size_bytes": f.size_bytes}
                for f in files
            ]
        },
    )


# --- people and limits ---


def limit_refused(
    *,
    actor,
    limit: str,
    allowed: float,
    period_seconds: float,
    retry_after_seconds: int,
    export: Export | None = None,
    target=None,
    ip_address: str | None = None,
) -> AuditEvent:
    return audit.record(
        LIMIT_REFUSED,
        actor=actor,
        export=export,
        target=target,
        data={
            "limit": limit,
            "allowed": allowed,
            "period_seconds": period_seconds,
            "retry_after_seconds": retry_after_seconds,
        },
        ip_address=ip_address,
    )


def login_failed(*, username: str, ip_address: str | None) -> AuditEvent:
    """Never the password: only who tried and from where."""
    return audit.record(LOGIN_FAILED, data={"username": username}, ip_address=ip_address)


def locked_out(*, username: str, failure_limit: int, ip_address: str | None) -> AuditEvent:
    return audit.record(LOCKED_OUT, data={"username": username, "failure_limit": failure_limit}, ip_address=ip_address)


def history_exported(*, actor, fmt: str, filters: dict[str, Any], ip_address: str | None = None) -> AuditEvent:
    return audit.record(HISTORY_EXPORTED, actor=actor, data={"format": fmt, "filters": filters}, ip_address=ip_address)


# --- the catalog ---


def catalog_synced(*, dashboard: Dashboard, actor, data: dict[str, Any]) -> AuditEvent:
    return audit.record(CATALOG_SYNCED, actor=actor, target=dashboard, data=data)


def dashboard_gone(*, dashboard: Dashboard, actor) -> AuditEvent:
    return audit.record(
        DASHBOARD_GONE,
        actor=actor,
        target=dashboard,
        data={
            "aws_account_id": dashboard.aws_account_id,
            "region": dashboard.region,
            "dashboard_id": dashboard.dashboard_id,
        },
    )


# --- grants, RLS mappings, destinations ---


def _subject_values(obj: Grant | RlsTagMapping) -> dict[str, Any]:
    return {"user": obj.user.get_username() if obj.user_id else None, "group": obj.group.name if obj.group_id else None}


def _dashboard_value(dashboard: Dashboard | None) -> str | None:
    return f"{dashboard.aws_account_id}/{dashboard.region}/{dashboard.dashboard_id}" if dashboard else None


def setting_values(obj: Grant | RlsTagMapping | S3Destination) -> dict[str, Any]:
    """What an auditor needs to see of one grant, mapping or destination (before and after a change)."""
    if isinstance(obj, Grant):
        return {"dashboard": _dashboard_value(obj.dashboard), **_subject_values(obj)}
    if isinstance(obj, RlsTagMapping):
        return {
            **_subject_values(obj),
            "dashboard": _dashboard_value(obj.dashboard if obj.dashboard_id else None),
            "tag_key": obj.tag_key,
            "tag_value": obj.tag_value,
        }
    if isinstance(obj, S3Destination):
        return {
            "name": obj.name,
            "bucket_name": obj.bucket_name,
            "bucket_prefix": obj.bucket_prefix,
            "region": obj.region,
            "allowed_groups": sorted(obj.allowed_groups.values_list("name", flat=True)) if obj.pk else [],
        }
    raise TypeError(f"no audit values for {type(obj).__name__}")


def setting_written(
    *,
    obj: Grant | RlsTagMapping | S3Destination,
    verb: Verb,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor=None,
    ip_address: str | None = None,
) -> AuditEvent:
    """`grant.created`, `rls_mapping.changed`, `destination.deleted`...: the values before and after."""
    return audit.record(
        f"{SETTING_NAMES[type(obj)]}.{verb}",
        actor=actor,
        target=obj,
        data={"before": before, "after": after},
        ip_address=ip_address,
    )


# --- schedules ---


def schedule_created(*, schedule: Schedule, actor, snapshot: dict[str, Any], ip_address: str | None) -> AuditEvent:
    return audit.record(SCHEDULE_CREATED, actor=actor, target=schedule, data=snapshot, ip_address=ip_address)


def schedule_changed(
    *, schedule: Schedule, actor, before: dict[str, Any], after: dict[str, Any], ip_address: str | None
) -> AuditEvent:
    return audit.record(
        SCHEDULE_CHANGED, actor=actor, target=schedule, data={"before": before, "after": after}, ip_address=ip_address
    )


def schedule_paused(*, schedule: Schedule, reason: str, actor=None, ip_address: str | None = None) -> AuditEvent:
    """actor None: the schedule paused itself."""
    return audit.record(
        SCHEDULE_PAUSED,
        actor=actor,
        target=schedule,
        data={"reason": reason, "by_itself": actor is None},
        ip_address=ip_address,
    )


def schedule_resumed(*, schedule: Schedule, actor, next_run_at: datetime, ip_address: str | None) -> AuditEvent:
    return audit.record(
        SCHEDULE_RESUMED, actor=actor, target=schedule, data={"next_run_at": next_run_at}, ip_address=ip_address
    )


def schedule_deleted(*, schedule: Schedule, actor, snapshot: dict[str, Any], ip_address: str | None) -> AuditEvent:
    return audit.record(SCHEDULE_DELETED, actor=actor, target=schedule, data=snapshot, ip_address=ip_address)


def schedule_opted(*, schedule: Schedule, user, out: bool, ip_address: str | None) -> AuditEvent:
    """A recipient stops (out) or starts again receiving a schedule."""
    return audit.record(
        SCHEDULE_OPTED_OUT if out else SCHEDULE_OPTED_IN,
        actor=user,
        target=schedule,
        data={"user": user.username},
        ip_address=ip_address,
    )


def run_started(
    *,
    schedule: Schedule,
    run: Any,
    scheduled_for: datetime,
    late: bool,
    missed: int,
    actor=None,
    ip_address: str | None = None,
    run_now: bool = False,
) -> AuditEvent:
    data: dict[str, Any] = {"run": run.pk, "scheduled_for": scheduled_for, "late": late, "missed": missed}
    if run_now:
        data["run_now"] = True
    return audit.record(RUN_STARTED, actor=actor, target=schedule, data=data, ip_address=ip_address)


def run_made(
    *, schedule: Schedule, run: Any, exports: list[tuple[str, str]], skipped: list[tuple[str, str]]
) -> AuditEvent:
    return audit.record(
        RUN_MADE,
        target=schedule,
        data={
            "run": run.pk,
            "exports": [{"user": u, "export": e} for u, e in exports],
            "skipped": [{"user": u, "reason": r} for u, r in skipped],
        },
    )


def run_ended(
    *, schedule: Schedule, run: Any, status: str, reason: str, consecutive_failures: int | None = None
) -> AuditEvent:
    data: dict[str, Any] = {"run": run.pk, "status": status, "reason": reason}
    if consecutive_failures is not None:
        data["consecutive_failures"] = consecutive_failures
    return audit.record(RUN_ENDED, target=schedule, data=data)


# --- API tokens (exports/tokens.py): never the secret, only the token's id and name ---


def api_token_created(*, token: ApiToken, actor, ip_address: str | None) -> AuditEvent:
    data = {
        "token": token.pk,
        "user": token.user.username,
        "name": token.name,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
    }
    return audit.record(API_TOKEN_CREATED, actor=actor, target=token, data=data, ip_address=ip_address)


def api_token_revoked(*, token: ApiToken, actor, ip_address: str | None) -> AuditEvent:
    data = {"token": token.pk, "user": token.user.username, "name": token.name}
    return audit.record(API_TOKEN_REVOKED, actor=actor, target=token, data=data, ip_address=ip_address)


def api_used(
    *, token: ApiToken, operation: str, write: bool, ip_address: str | None, export: Export | None = None
) -> AuditEvent:
    data = {"token": token.pk, "operation": operation, "write": write}
    return audit.record(API_USED, actor=token.user, export=export, target=token, data=data, ip_address=ip_address)
