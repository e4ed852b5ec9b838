"""The API's JSON shapes (they make the OpenAPI document). Specs stay free-form objects: their
rules live in exports/snapshot.py, which answers every problem by field and rule."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

ExportStatus = Literal[
    "PENDING",
    "SUBMITTING",
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "COMPLETED_WITH_ERRORS",
    "FAILED",
    "TIMED_OUT",
    "CANCELLED",
]
Format = Literal["PDF", "EXCEL", "CSV"]


class ProblemField(Schema):
    field: str
    rule: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemField] = []


class VisualOut(Schema):
    id: str
    title: str
    type: str
    exportable_as: list[Format]


class SheetOut(Schema):
    id: str
    name: str
    visuals: list[VisualOut]


class ParameterOut(Schema):
    name: str
    type: str
    multi_valued: bool


class DashboardOut(Schema):
    id: str
    name: str
    can_export: bool
    blocker: str | None = Field(None, description="Why the caller's RLS identity cannot export it")
    sheets: list[SheetOut]
    parameters: list[ParameterOut]


class SpecIn(Schema):
    """An export spec, as build_snapshot_request takes it: {dashboard, files, parameters, destination}."""

    dashboard: Any = None
    files: Any = None
    parameters: Any = None
    destination: Any = None

    model_config = {"extra": "allow"}


class ValidationOut(Schema):
    ok: bool
    request: dict[str, Any] = Field(description="The exact StartDashboardSnapshotJob request (RLS values masked)")


class FileOut(Schema):
    index: int
    part: int
    parts: int
    format: str
    name: str = Field(description="The name the file downloads under")
    size_bytes: int | None = Field(None, description="From the object's metadata; null when it cannot be known")
    ready: bool
    error: str | None = None
    download: str | None = Field(None, description="GET it for a 302 to a fresh link")


class EventOut(Schema):
    action: str = Field(description="The action's name, for programs (stable).")
    words: str = Field(description="The action in words, as the export's page shows it.")
    at: datetime
    actor: str


class ExportOut(Schema):
    id: uuid.UUID
    dashboard: str
    status: ExportStatus
    ended: bool = Field(description="True once the status will not change again: poll until this")
    outputs: str
    queue_position: int | None = None
    created_at: datetime
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    estimated_finish_at: datetime | None = Field(
        None, description="When an export holding a running slot should end (learned from finished exports)"
    )
    estimated_start_at: datetime | None = Field(
        None, description="When a waiting export should get a running slot (with queue_position)"
    )
    deadline_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    files: list[FileOut] = []


class ExportDetailOut(ExportOut):
    timeline: list[EventOut] = []


class ExportPage(Schema):
    count: int
    page: int
    pages: int
    results: list[ExportOut]


class CancelOut(Schema):
    cancelled: bool
    export: ExportOut


class RecurrenceIn(Schema):
    kind: Literal["DAILY", "WEEKLY", "MONTHLY", "CRON"]
    timezone: str
    at_time: str | None = Field(None, description="HH:MM, local time (not for CRON)")
    weekdays: list[int] = Field([], description="WEEKLY: 0 = Monday ... 6 = Sunday")
    month_day: int | None = Field(None, description="MONTHLY: 1 to 28, or -1 for the last day")
    cron: str = Field("", description="CRON: 5 fields")


class ScheduleIn(Schema):
    spec: dict[str, Any]
    recurrence: RecurrenceIn
    recipients: list[str] = Field([], description="Usernames and group:NAME entries")
    owner_opted_out: bool = False
    delivery: Literal["LINK", "ATTACH", "S3"] = "LINK"


class ScheduleOut(Schema):
    id: int
    dashboard: str
    spec: dict[str, Any]
    recurrence: str
    cron: str
    timezone: str
    recipients: list[str]
    owner_opted_out: bool
    delivery: str
    is_paused: bool
    pause_reason: str
    next_run_at: datetime | None = None
    created_at: datetime


class RunOut(Schema):
    id: int
    scheduled_for: datetime
    claimed_at: datetime
    finished_at: datetime | None = None
    status: str
    is_late: bool
    message: str
    exports: list[uuid.UUID]
