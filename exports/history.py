"""Reading exports back: list selectors with filters, the request in words, and the history as lines.

Selectors here run a fixed number of queries per page (select_related, one prefetch, subquery
annotations), and the history export walks rows with .iterator() so memory stays flat. No HTTP
here: the views page, stream and validate the filters (exports.forms) around these.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from functools import cache, lru_cache
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.query import RawQuerySet
from django.utils import timezone

from exports import estimates
from exports.events import FILE_DOWNLOADED
from exports.models import AuditEvent, Dashboard, Export, ExportFile, Sheet, Visual
from exports.results import RequestedFile, SheetPick
from exports.snapshot import SentRequest, sent_request
from exports.snapshot_rules import FORMAT_WORDS, FORMATS

# --- the request, redacted and in words ---


def rls_tags(sent: SentRequest) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sent.rls_tags.items()]


def outputs_summary(formats: list[str]) -> str:
    """ "PDF, Excel, 2 CSV": the outputs of a request without any catalog lookup (for list rows)."""
    parts = []
    for fmt in FORMATS:
        count = formats.count(fmt)
        if count:
            parts.append(FORMAT_WORDS[fmt] if count == 1 else f"{count} {FORMAT_WORDS[fmt]}")
    return ", ".join(parts) or "none"


@dataclass
class CatalogNames:
    """Sheet and visual names of one dashboard, looked up once per page."""

    sheets: dict[str, str] = field(default_factory=dict)
    visuals: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_dashboard(cls, dashboard: Dashboard) -> CatalogNames:
        sheets = dict(Sheet.objects.filter(dashboard=dashboard).values_list("sheet_id", "name"))
        visuals = {
            visual_id: title or visual_id
            for visual_id, title in Visual.objects.filter(sheet__dashboard=dashboard).values_list("visual_id", "title")
        }
        return cls(sheets, visuals)

    def sheet(self, sheet_id: str) -> str:
        return self.sheets.get(sheet_id, sheet_id)

    def visual(self, visual_id: str) -> str:
        return self.visuals.get(visual_id, visual_id)


def describe_file(file: RequestedFile, names: CatalogNames) -> str:
    """One output in words: "PDF of sheet Overview (all visuals)", "CSV of Orders (sheet Details)"."""
    word = FORMAT_WORDS.get(file.format, file.format)
    if file.format == "PDF":
        sheets = ", ".join(names.sheet(s.sheet_id) for s in file.sheets)
        return f"{word} of sheet {sheets} (all visuals)"
    visuals = [
        f"{names.visual(visual_id)} (sheet {names.sheet(pick.sheet_id)})"
        for pick in file.sheets
        for visual_id in pick.visual_ids
    ]
    return f"{word} of {', '.join(visuals)}" if visuals else word


def describe_parameters(sent: SentRequest) -> list[str]:
    return [f"{each.name} = {', '.join(str(value) for value in each.values)}" for each in sent.parameters]


@dataclass
class RequestInWords:
    dashboard: str
    outputs: list[str]
    parameters: list[str]
    destination: str
    rls: list[str]
    rls_hidden: bool


def describe_request(export: Export, *, show_rls: bool, names: CatalogNames | None = None) -> RequestInWords:
    """What was asked for, in words. RLS values only when show_rls (auditors, admins); never URIs."""
    sent = sent_request(export.request)
    names = names or CatalogNames.for_dashboard(export.dashboard)
    outputs = [describe_file(file, names) for file in sent.files]
    if export.destination_id:
        destination = f"S3 destination {export.destination.name} ({export.destination.region})"
    else:
        destination = "QuickSight's own storage (download links from the portal)"
    if show_rls:
        rls = [f"{key} = {value}" for key, value in sent.rls_tags.items()]
    else:
        rls = [f"{key}" for key in sent.rls_tags]
    return RequestInWords(
        dashboard=f"{export.dashboard.name} ({export.dashboard.dashboard_id})",
        outputs=outputs,
        parameters=describe_parameters(sent),
        destination=destination,
        rls=rls,
        rls_hidden=not show_rls,
    )


def file_description(export_file: ExportFile, request: dict, names: CatalogNames) -> str:
    """The file in words, from its file group in the request sent (which pairs visuals with sheets)."""
    files = sent_request(request).files
    if export_file.index < len(files):
        return describe_file(replace(files[export_file.index], format=export_file.format), names)
    return describe_file(RequestedFile(export_file.format, tuple(SheetPick(s) for s in export_file.sheet_ids)), names)


@dataclass(frozen=True)
class DownloadedFile:
    """Which file a download was, from its event's data; numbered from 1 as the export page numbers files."""

    number: int | None
    part: int | None  # None for a file in one part
    format: str
    name: str  # empty for events written before downloads recorded the name

    @property
    def words(self) -> str:
        """ "File 1 (PDF), part 2: sales-overview-20261129-1541-1.pdf"."""
        text = f"File {self.number}" if self.number is not None else "A file"
        if self.format:
            text += f" ({FORMAT_WORDS.get(self.format, self.format)})"
        if self.part is not None:
            text += f", part {self.part}"
        return f"{text}: {self.name}" if self.name else text


def _count(value: Any) -> int | None:
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def downloaded_file(data: Any) -> DownloadedFile:
    """Robust to old and odd events: a missing or malformed key leaves that part out."""
    data = data if isinstance(data, dict) else {}
    parts = data.get("parts")
    name = data.get("file_name") or data.get("filename") or ""
    return DownloadedFile(
        number=_count(data.get("file")),
        part=_count(data.get("part")) if isinstance(parts, int) and parts > 1 else None,
        format=str(data.get("format") or ""),
        name=str(name),
    )


def download_words(event: AuditEvent) -> str:
    """Which file a download event was about ("File 1 (PDF): name.pdf"); empty for other events."""
    return downloaded_file(event.data).words if event.action == FILE_DOWNLOADED else ""


# --- list selectors ---


def with_queue_position(exports: QuerySet[Export]) -> QuerySet[Export]:
    """Annotate queue_ahead: waiting exports of the same account ahead in the portal's queue (one subquery).

    The same order as the job lifecycle's queue (exports.jobs.queue_position): interactive exports
    before scheduled ones, then created_at, then pk.
    """
    earlier = Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    ahead = (
        Export.objects.filter(status=Export.Status.PENDING, aws_account_id=OuterRef("aws_account_id"))
        .filter(Q(is_scheduled__lt=OuterRef("is_scheduled")) | (Q(is_scheduled=OuterRef("is_scheduled")) & earlier))
        .order_by()
        .values("aws_account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return exports.annotate(queue_ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)))


def filter_format(exports: QuerySet[Export], fmt: str) -> QuerySet[Export]:
    """Exports whose request asks for this format (the request is the truth before files exist)."""
    return exports.filter(formats__contains=fmt)


# What My exports' rows never show: JSON that would be decoded for every row, the search's text.
UNLISTED_MINE = ("spec", "request", "search_text", "dashboard__data_sets", "dashboard__rls_tag_keys")


def attach_files(rows: list[Export]) -> None:
    """Each row's files as file_list, in one query for all of them. Not prefetch_related: it builds a
    queryset for each row, about 1 ms of a page of 25 (BENCHMARKS.md, "List pages")."""
    files = defaultdict(list)
    for export_file in _read_for(_files_of, rows):
        files[export_file.export_id].append(export_file)
    for row in rows:
        row.file_list = files[row.pk]


def _files_of(export_ids: list) -> QuerySet[ExportFile]:
    files = ExportFile.objects.filter(export_id__in=export_ids).defer("sheet_ids", "visual_ids")
    return files.order_by("export_id", "index", "part")


def _read_for(read, rows: list[Export]) -> RawQuerySet:
    """read(the rows' export ids), a queryset of one of the page's reads for its rows, as raw() with
    the SQL the ORM compiled for it once for this number of rows (_compiled_read): Django compiles a
    queryset anew on each evaluation, about 0.4 ms of each such read a page. raw() builds the same
    models, with what the queryset defers left deferred."""
    model, sql, fixed = _compiled_read(read, len(rows))
    prep = Export._meta.pk.get_db_prep_value
    return model.objects.raw(sql, [*fixed, *(prep(row.pk, connection) for row in rows)])


@lru_cache(maxsize=128)  # two reads, a page's rows: 1 to 50
def _compiled_read(read, count: int) -> tuple[type, str, list]:
    """The model, SQL and parameters before the export ids of read(`count` export ids)."""
    stand_ins = [uuid.UUID(int=n) for n in range(1, count + 1)]
    queryset = read(stand_ins)
    prepared = [Export._meta.pk.get_db_prep_value(pk, connection) for pk in stand_ins]
    return queryset.model, *sql_before(queryset, prepared)


def sql_before(queryset: QuerySet, stand_ins: list) -> tuple[str, list]:
    """The queryset's SQL and its parameters before `stand_ins`: values it was built with that must be
    its last parameters and nowhere else, for the caller to run the SQL, compiled once, with its own
    values there."""
    sql, params = queryset.query.sql_with_params()
    fixed, last = list(params[: len(params) - len(stand_ins)]), list(params[len(params) - len(stand_ins) :])
    if last != list(stand_ins) or any(value in fixed for value in stand_ins):
        raise AssertionError(f"the stand-ins {stand_ins} are not the query's last parameters alone: {sql}")
    return sql, fixed


def decorate(exports: Iterable[Export]) -> list[Export]:
    """Attach what a row shows: its files (one query), and when some rows are unfinished, their
    estimates and queue positions (exports/estimates.py)."""
    rows = list(exports)
    if rows:
        attach_files(rows)
    for export in rows:
        export.outputs_text = outputs_summary(export.formats.split())
        export.file_count = len(export.file_list)
        export.duration = export_duration(export)
    estimates.attach(rows)  # also the queue positions of waiting rows, from its walk of the queue
    # Waiting further back than that walk reaches (rare): counted, in one query for the page.
    beyond = [export.pk for export in rows if export.status == Export.Status.PENDING and not export.queue_position]
    if beyond:
        ahead = dict(with_queue_position(Export.objects.filter(pk__in=beyond)).values_list("pk", "queue_ahead"))
        for export in rows:
            if export.pk in ahead:
                export.queue_position = ahead[export.pk] + 1
    return rows


def export_duration(export: Export) -> str:
    start = export.submitted_at or export.created_at
    end = export.finished_at or (None if export.is_terminal else timezone.now())
    if not start or not end:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def decorate_one(export: Export) -> Export:
    """The same attributes for one export fetched on its own (status partial, detail page)."""
    return decorate([export])[0]


# --- filters (their forms: exports.forms) ---

SEARCH_MIN_LENGTH = 3  # a trigram index finds nothing shorter without reading all of itself


def search(exports: QuerySet[Export], text: str) -> QuerySet[Export]:
    """Exports whose ids, errors, RLS tag values, dashboard or requester contain text (any case).

    For auditors only (the history): RLS tag values are theirs to see. Dashboards and users are few,
    so they are matched first and the exports found by their indexed ids; one OR of indexed arms.
    """
    found = Q(search_text__contains=text.upper())
    named = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_named_sql(), [f"%{connection.ops.prep_for_like_query(text)}%"] * 3)
        for kind, pk in cursor.fetchall():
            named[kind].append(pk)
    if named["dashboard"]:
        found |= Q(dashboard_id__in=named["dashboard"])
    if named["user"]:
        found |= Q(user_id__in=named["user"])
    return exports.filter(found)


@cache
def _named_sql() -> str:
    """Dashboards whose name or id and users whose username contain the text, in any case: one query
    written with the ORM's own icontains SQL for this database (its case folding; the pattern's
    wildcards escaped by prep_for_like_query). The two ORM lookups it replaces cost about 0.9 ms of
    Python on each search; this one 0.25 ms (BENCHMARKS.md, "List pages")."""
    q, contains = connection.ops.quote_name, connection.operators["icontains"]
    dashboards, users = Dashboard._meta, get_user_model()._meta

    def matches(meta, field: str) -> str:
        return f"{connection.ops.lookup_cast('icontains') % q(meta.get_field(field).column)} {contains}"

    return (
        f"SELECT 'dashboard', {q(dashboards.pk.column)} FROM {q(dashboards.db_table)}"
        f" WHERE {matches(dashboards, 'name')} OR {matches(dashboards, 'dashboard_id')}"
        f" UNION ALL SELECT 'user', {q(users.pk.column)} FROM {q(users.db_table)}"
        f" WHERE {matches(users, get_user_model().USERNAME_FIELD)}"
    )


def apply_filters(exports: QuerySet[Export], data: dict[str, Any]) -> QuerySet[Export]:
    """Filters shared by My exports and the history; unknown or empty keys are ignored."""
    if data.get("user"):
        # The id first: a join to users would have the planner walk exports to find one person's.
        users = get_user_model().objects.filter(username__iexact=data["user"].strip())
        exports = exports.filter(user_id__in=list(users.values_list("pk", flat=True)))
    if data.get("dashboard"):
        exports = exports.filter(dashboard=data["dashboard"])
    if data.get("status"):
        exports = exports.filter(status=data["status"])
    if data.get("format"):
        exports = filter_format(exports, data["format"])
    tz = timezone.get_current_timezone()
    if data.get("date_from"):
        exports = exports.filter(created_at__gte=datetime.combine(data["date_from"], time.min, tz))
    if data.get("date_to"):
        exports = exports.filter(created_at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tz))
    if data.get("q"):
        exports = search(exports, data["q"].strip())
    return exports


# Newest first; pk breaks ties so pages never repeat or skip a row (indexes export_*newest_idx).
NEWEST_FIRST = ("-created_at", "-pk")


def my_exports(*, user, filters: dict[str, Any]) -> QuerySet[Export]:
    """The user's exports; not joined to the user (all rows are theirs) nor reading the request."""
    rows = apply_filters(Export.objects.filter(user=user), filters).select_related("dashboard")
    return rows.defer(*UNLISTED_MINE).order_by(*NEWEST_FIRST)


# What a history row names of the export's requester, dashboard and destination: columns of the
# page's query (the view's export_page adds them) rather than three related models a row (about
# 1.2 ms of a page of 25, BENCHMARKS.md "List pages"); the count's query stays without their joins.
HISTORY_NAMES = {
    "requester": F("user__username"),
    "dashboard_name": F("dashboard__name"),
    "quicksight_dashboard_id": F("dashboard__dashboard_id"),
    "destination_name": F("destination__name"),
}


def history_exports(*, filters: dict[str, Any]) -> QuerySet[Export]:
    return apply_filters(Export.objects.all(), filters).defer("spec", "search_text").order_by(*NEWEST_FIRST)


DOWNLOAD_FIELDS = ("export_id", "created_at", "actor_username", "ip_address", "data")


def _downloads_of(export_ids: list) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(action=FILE_DOWNLOADED, export_id__in=export_ids)
    return events.only("pk", *DOWNLOAD_FIELDS).order_by("seq")


def decorate_history(rows: list[Export]) -> None:
    """What a history row shows beyond a My exports row: the RLS tags and parameters sent, and each
    row's download events as `downloads`, oldest first, in one query (dicts of what the row shows:
    the hash chain's columns stay in the database)."""
    if not rows:  # a search that found nothing: not even a query to build
        return
    found = defaultdict(list)
    for event in _read_for(_downloads_of, rows):
        found[event.export_id].append({name: getattr(event, name) for name in DOWNLOAD_FIELDS})
    for row in rows:
        row.downloads = found[row.pk]
        sent = sent_request(row.request)
        row.rls, row.parameters = rls_tags(sent), describe_parameters(sent)


# --- the streamed history (CSV, JSON Lines) ---

HISTORY_COLUMNS = [
    "export_id",
    "created_at",
    "user",
    "dashboard_id",
    "dashboard",
    "status",
    "aws_job_status",
    "formats",
    "parameters",
    "rls_tags",
    "destination",
    "snapshot_job_id",
    "job_arn",
    "start_request_id",
    "aws_request_ids",
    "error_code",
    "error_message",
    "error_detail",
    "submitted_at",
    "finished_at",
    "downloads",
    "download_log",
]
CHUNK_SIZE = 1000


def _history_queryset(filters: dict[str, Any]) -> QuerySet[Export]:
    exports = apply_filters(Export.objects.all(), filters).select_related("user", "dashboard", "destination")
    return exports.order_by(*NEWEST_FIRST)


EVENT_FIELDS = ("export_id", "action", "actor_username", "created_at", "data", "ip_address")


def _events_by_export(export_ids: list) -> dict[Any, list[dict[str, Any]]]:
    # Plain dicts, not model instances: prefetched events point back at their export, and those
    # cycles would keep every chunk alive until the garbage collector's next full pass.
    events: dict[Any, list[dict[str, Any]]] = {}
    for row in AuditEvent.objects.filter(export_id__in=export_ids).order_by("seq").values(*EVENT_FIELDS):
        events.setdefault(row["export_id"], []).append(row)
    return events


def _request_ids(export: Export, events: list[dict[str, Any]]) -> list[str]:
    """Every AWS request id the job lifecycle recorded for this export, in order, once each."""
    ids = [export.start_request_id]
    ids += [str(e["data"].get("request_id") or "") for e in events if isinstance(e["data"], dict)]
    return list(dict.fromkeys(i for i in ids if i))


def history_record(export: Export, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One export as the auditor's record: full request including the RLS identity, never a file URI.

    `events`: the export's audit events as dicts (EVENT_FIELDS), oldest first.
    """
    request = export.request or {}
    sent = sent_request(request)
    events = events or []
    downloads = [e for e in events if e["action"] == FILE_DOWNLOADED]
    return {
        "export_id": str(export.pk),
        "created_at": export.created_at,
        "user": export.user.get_username(),
        "dashboard_id": export.dashboard.dashboard_id,
        "dashboard": export.dashboard.name,
        "status": export.status,
        "aws_job_status": export.aws_job_status,
        "formats": sent.formats,
        "parameters": sent.parameters_as_sent,
        "rls_tags": sent.rls_tags,
        "destination": export.destination.name if export.destination_id else "",
        "snapshot_job_id": export.snapshot_job_id,
        "job_arn": export.job_arn,
        "start_request_id": export.start_request_id,
        "aws_request_ids": _request_ids(export, events),
        "error_code": export.error_code,
        "error_message": export.error_message,
        "error_detail": export.error_detail,
        "submitted_at": export.submitted_at,
        "finished_at": export.finished_at,
        "downloads": len(downloads),
        "download_log": [_download_entry(e) for e in downloads],
        "request": request,
    }


def _download_entry(event: dict[str, Any]) -> dict[str, Any]:
    """One download in the history export; files counted from 1, as on screen."""
    downloaded = downloaded_file(event["data"])
    return {
        "user": event["actor_username"],
        "at": event["created_at"],
        "file": downloaded.number,
        "part": downloaded.part,
        "format": downloaded.format,
        "file_name": downloaded.name,
        "ip_address": event["ip_address"],
    }


def _iter_records(filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Exports in chunks (a server-side cursor on PostgreSQL), each chunk with one query for its events."""
    exports = _history_queryset(filters).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(exports, CHUNK_SIZE)):
        events = _events_by_export([export.pk for export in chunk])
        for export in chunk:
            yield history_record(export, events.get(export.pk))


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder)
    return value


def history_csv_lines(filters: dict[str, Any]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HISTORY_COLUMNS)
    for record in _iter_records(filters):
        yield writer.writerow([_csv_cell(record[column]) for column in HISTORY_COLUMNS])


def history_jsonl_lines(filters: dict[str, Any]) -> Iterator[str]:
    for record in _iter_records(filters):
        yield json.dumps(record, sort_keys=True, cls=DjangoJSONEncoder) + "\n"


def filters_for_audit(data: dict[str, Any]) -> dict[str, Any]:
    """Cleaned filter values in a JSON-friendly shape, for the audit event of a history export."""
    return {
        key: (value.dashboard_id if isinstance(value, Dashboard) else value)
        for key, value in data.items()
        if value not in (None, "")
    }
