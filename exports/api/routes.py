"""/api/v1/: thin handlers over the same services, selectors and access rules as the pages.

Every rule lives where the pages find it (snapshot.build_request, services.export_create,
schedules.*, access.*); a handler only turns JSON into their arguments and their answers and
exceptions into JSON, with errors as RFC 9457 problem details naming each field and rule.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from exports import access, catalog, events, history, jobs, recurrence, schedules, services
from exports.api.auth import TokenAuth, scope
from exports.api.problems import ApiProblem, FieldProblem, from_validation, invalid, problem_response, text_problems
from exports.api.schemas import (
    CancelOut,
    DashboardOut,
    ExportDetailOut,
    ExportOut,
    ExportPage,
    ExportStatus,
    Format,
    Problem,
    RunOut,
    ScheduleIn,
    ScheduleOut,
    SpecIn,
    ValidationOut,
)
from exports.downloads import DownloadUnavailable, export_file_download, received_names
from exports.file_names import content_disposition
from exports.models import DashboardParameter, Export, ExportFile, Schedule
from exports.quota import LimitReached
from exports.snapshot import SnapshotRequestInvalid, build_request, load_spec, parse_spec, redact
from exports.views.http import client_address

READ, WRITE, SCHEDULES = "exports:read", "exports:write", "schedules"
# Idempotency-Key values become the export's submit token, in a namespace of their own.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6c1f0f9e-5a0e-4d8e-9f3e-8a4a2a7d1b16")
PROBLEMS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}


class JsonBody(Parser):
    """JSON bodies through the spec loader's limits (UTF-8, depth), then refused when any text is
    not storable (NUL, broken Unicode, too long): the field is named, PostgreSQL never sees it."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = load_spec(request.body or b"{}")
        except SnapshotRequestInvalid as bad:
            raise invalid([_body(p) for p in bad.problems], "The body is not a JSON document") from None
        found = text_problems(data)
        if found:
            raise invalid(found, "The body holds text that cannot be stored")
        return data


def _body(problem) -> FieldProblem:
    return FieldProblem("body", problem.rule, problem.message)


api = NinjaAPI(
    title="Snapshot Export Portal API",
    version="1",
    description=(
        "Exports and schedules of QuickSight dashboards, with the access of the token's user. "
        "Send `Authorization: Bearer <token>` (create one on the portal's API tokens page)."
    ),
    auth=TokenAuth(),
    urls_namespace="api",
    parser=JsonBody(),
    docs_url="/docs",
    docs_decorator=require_GET,  # the document and its page are public and read-only
)


@api.exception_handler(ApiProblem)
def _problem(request, exc: ApiProblem):
    return problem_response(exc, instance=request.path)


@api.exception_handler(ValidationError)
def _validation(request, exc: ValidationError):
    return problem_response(from_validation(exc.errors), instance=request.path)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # Ninja wraps what the body parser raised ("Cannot parse request body"): answer the parser's words.
    cause = exc.__cause__ if isinstance(exc.__cause__, ApiProblem) else ApiProblem(exc.status_code, str(exc))
    return problem_response(cause, instance=request.path)


@api.exception_handler(access.NotFound)
@api.exception_handler(Http404)
def _not_found(request, exc):
    # Someone else's object and a missing one answer the same, as on the pages.
    return problem_response(ApiProblem(404, "Not found", str(exc) or "no such object"), instance=request.path)


@api.exception_handler(LimitReached)
def _limit(request, exc: LimitReached):
    headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(ApiProblem(429, "Limit reached", str(exc), headers=headers), instance=request.path)


# --- dashboards ---


@api.get("/dashboards", response={200: list[DashboardOut], **PROBLEMS}, tags=["dashboards"])
@scope(READ)
def dashboards(request):
    """Dashboards shared with you: sheets, visuals and the formats each can go to, parameters, and
    whether your row-level security identity lets you export it."""
    cards = catalog.granted_catalog(request.auth.user)
    parameters: dict[int, list] = {}
    for parameter in _live_parameters([card.dashboard.pk for card in cards]):
        parameters.setdefault(parameter.dashboard_id, []).append(
            {"name": parameter.name, "type": parameter.param_type, "multi_valued": parameter.multi_valued}
        )
    return [
        {
            "id": card.dashboard.dashboard_id,
            "name": card.dashboard.name,
            "can_export": card.can_export,
            "blocker": card.blocker,
            "sheets": [
                {
                    "id": sheet.sheet_id,
                    "name": sheet.name,
                    "visuals": [
                        {
                            "id": visual.visual_id,
                            "title": visual.title,
                            "type": visual.visual_type,
                            "exportable_as": ["PDF", "EXCEL", "CSV"] if visual.is_tabular else ["PDF"],
                        }
                        for visual in sheet.live_visuals
                    ],
                }
                for sheet in card.sheets
            ],
            "parameters": parameters.get(card.dashboard.pk, []),
        }
        for card in cards
    ]


def _live_parameters(dashboard_pks: list[int]):
    return DashboardParameter.objects.filter(dashboard_id__in=dashboard_pks, is_stale=False).order_by("name")


# --- exports ---


def _spec(request) -> Any:
    # The body as sent, every key kept: unknown and server-side keys get the spec's own refusals.
    return api.parser.parse_body(request)


@api.post("/exports/validate", response={200: ValidationOut, **PROBLEMS}, tags=["exports"])
@scope(READ)
def export_validate(request, payload: SpecIn):
    """The exact request a spec makes for you, or every problem, as the export form shows them."""
    try:
        parsed = parse_spec(_spec(request))
    except SnapshotRequestInvalid as bad:
        raise invalid(bad.problems) from None
    built = build_request(parsed, user=request.auth.user, export_id=uuid.uuid4())
    if not built.ok:
        raise invalid(built.problems)
    return {"ok": True, "request": redact(built.kwargs)}


@api.post("/exports", response={201: ExportOut, **PROBLEMS}, tags=["exports"])
@scope(WRITE, write=True)
def export_new(request, payload: SpecIn):
    """Create an export (PENDING, then the worker starts it). With an `Idempotency-Key` header, a
    retry with the same key answers the export the first request made."""
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 200:
        raise invalid([FieldProblem("Idempotency-Key", "idempotency-key-length", "at most 200 characters")])
    submit_token = uuid.uuid5(IDEMPOTENCY_NAMESPACE, key) if key else None
    try:
        export = services.export_create(
            user=request.auth.user, spec=_spec(request), ip_address=client_address(request), submit_token=submit_token
        )
    except SnapshotRequestInvalid as bad:
        raise invalid(bad.problems) from None
    return Status(201, _export_out(_one(request.auth.user, export.pk)))


@api.get("/exports", response={200: ExportPage, **PROBLEMS}, tags=["exports"])
@scope(READ)
def export_list(
    request,
    status: ExportStatus | None = None,
    format: Format | None = None,  # noqa: A002 (the API's word)
    dashboard: str | None = Query(None, max_length=512),
    page: int = Query(1, ge=1, le=1_000_000),
    per_page: int = Query(25, ge=1, le=100),
):
    """Your exports, newest first, filtered by status, format and dashboard id."""
    user = request.auth.user
    filters: dict[str, Any] = {"status": status, "format": format}
    exports = history.my_exports(user=user, filters=filters)
    if dashboard:
        exports = exports.filter(dashboard__dashboard_id=dashboard)
    paginator = Paginator(exports, per_page)
    beyond = page > max(1, paginator.num_pages)
    rows = [] if beyond else history.decorate(paginator.page(page).object_list)
    return {
        "count": paginator.count,
        "page": page,
        "pages": paginator.num_pages,
        "results": [_export_out(export) for export in rows],
    }


def _one(user, export_id) -> Export:
    export = access.get_export_for_user(user, export_id)
    export = Export.objects.select_related("dashboard").get(pk=export.pk)
    return history.decorate_one(export)


def _export_out(export: Export) -> dict[str, Any]:
    return {
        "id": export.pk,
        "dashboard": export.dashboard.dashboard_id,
        "status": export.status,
        "ended": export.is_terminal,
        "outputs": export.outputs_text,
        "queue_position": export.queue_position,
        "created_at": export.created_at,
        "submitted_at": export.submitted_at,
        "finished_at": export.finished_at,
        "estimated_finish_at": export.estimated_finish_at,
        "estimated_start_at": export.estimated_start_at,
        "deadline_at": export.deadline_at,
        "error_code": export.error_code or None,
        "error_message": export.error_message or None,
        "files": _files_out(export),
    }


def _files_out(export: Export) -> list[dict[str, Any]]:
    files = export.file_list  # in order (history.decorate)
    return [_file_out(f, name) for f, name in zip(files, received_names(export, files), strict=True)]


def _file_out(export_file: ExportFile, name: str) -> dict[str, Any]:
    base = reverse(
        "api:export_file_download_route", kwargs={"export_id": export_file.export_id, "index": export_file.index}
    )
    return {
        "index": export_file.index,
        "part": export_file.part,
        "parts": export_file.parts,
        "format": export_file.format,
        "name": name,
        "size_bytes": export_file.size_bytes,
        "ready": export_file.is_ready,
        "error": export_file.error_message or None,
        "download": (base + (f"?part={export_file.part}" if export_file.parts > 1 else ""))
        if export_file.is_ready
        else None,
    }


@api.get("/exports/{uuid:export_id}", response={200: ExportDetailOut, **PROBLEMS}, tags=["exports"])
@scope(READ)
def export_detail(request, export_id: uuid.UUID):
    """Status, queue position, files and the timeline of one of your exports."""
    export = _one(request.auth.user, export_id)
    rows = export.events.order_by("seq").values_list("action", "created_at", "actor_username")
    timeline = [{"action": a, "words": events.words(a), "at": at, "actor": actor} for a, at, actor in rows]
    return {**_export_out(export), "timeline": timeline}


@api.post("/exports/{uuid:export_id}/cancel", response={200: CancelOut, **PROBLEMS, 409: Problem}, tags=["exports"])
@scope(WRITE, write=True)
def export_cancel(request, export_id: uuid.UUID):
    """Withdraw an export still waiting in the portal's queue (QuickSight has no cancel)."""
    user = request.auth.user
    export = access.get_export_for_user(user, export_id)
    if export.user_id != user.pk and not access.is_admin(user):
        raise Http404("Only the requester can cancel an export.")
    cancelled = jobs.export_cancel(export=export, actor=user, ip_address=client_address(request))
    if not cancelled:
        raise ApiProblem(409, "Not cancelled", "this export has left the portal's queue and can no longer be cancelled")
    return {"cancelled": True, "export": _export_out(_one(user, export_id))}


@api.get(
    "/exports/{uuid:export_id}/files/{int:index}/download",
    response={302: None, **PROBLEMS, 409: Problem},
    tags=["exports"],
)
@scope(READ, write=True)
def export_file_download_route(request, export_id: uuid.UUID, index: int, part: int = Query(0, ge=0, le=32767)):
    """302 to a fresh, short-lived link (never stored), or the archived file; audited; `no-store`."""
    user = request.auth.user
    export = access.get_export_for_user(user, export_id)
    if not access.can_download(user, export):
        raise Http404("No such file.")
    if index > 32767:
        raise Http404("No such file.")
    export_file = get_object_or_404(
        export.files.select_related("export__dashboard", "export__destination"), index=index, part=part
    )
    try:
        target = export_file_download(export_file=export_file, user=user, ip_address=client_address(request))
    except DownloadUnavailable as exc:
        raise ApiProblem(409, "File unavailable", str(exc)) from None
    if target.archived is not None:
        response: HttpResponse = FileResponse(target.archived.archived_file.open("rb"))
        response["Content-Disposition"] = content_disposition(target.filename)
    else:
        response = HttpResponseRedirect(target.url)
    response["Cache-Control"] = "no-store"
    return response


# --- schedules ---

schedule_router = Router(tags=["schedules"])


def _schedule_out(schedule: Schedule) -> dict[str, Any]:
    users = [u.username for u in schedule.recipient_users.all()]
    groups = [f"group:{g.name}" for g in schedule.recipient_groups.all()]
    return {
        "id": schedule.pk,
        "dashboard": schedule.dashboard.dashboard_id,
        "spec": schedule.spec,
        "recurrence": schedules.words(schedule),
        "cron": schedules.recurrence_of(schedule).cron_expression(),
        "timezone": schedule.timezone,
        "recipients": sorted(users) + sorted(groups),
        "owner_opted_out": schedule.owner_opted_out,
        "delivery": schedule.delivery,
        "is_paused": schedule.is_paused,
        "pause_reason": schedule.pause_reason,
        "next_run_at": None if schedule.is_paused else schedule.next_run_at,
        "created_at": schedule.created_at,
    }


@schedule_router.get("", response={200: list[ScheduleOut], **PROBLEMS})
@scope(SCHEDULES)
def schedule_list(request):
    """The schedules you own."""
    owned = access.owned_schedules(request.auth.user).select_related("dashboard")
    owned = owned.prefetch_related("recipient_users", "recipient_groups").order_by("created_at", "pk")
    return [_schedule_out(schedule) for schedule in owned]


@schedule_router.post("", response={201: ScheduleOut, **PROBLEMS}, by_alias=True)
@scope(SCHEDULES, write=True)
def schedule_new(request, payload: ScheduleIn):
    """A schedule: one export per recipient at each occurrence, built under that recipient's access."""
    problems: list = []
    rec = None
    r = payload.recurrence
    try:
        rec = recurrence.build(
            kind=r.kind,
            timezone=r.timezone,
            at_time=r.at_time,
            weekdays=r.weekdays,
            month_day=r.month_day,
            cron=r.cron,
        )
    except recurrence.RecurrenceInvalid as bad:
        problems += bad.problems
    users, groups, recipient_problems = schedules.resolve_recipients(payload.recipients)
    problems += recipient_problems
    if problems or rec is None:
        raise invalid(problems)
    try:
        schedule = schedules.schedule_create(
            owner=request.auth.user,
            spec=payload.spec,
            rec=rec,
            recipient_users=users,
            recipient_groups=groups,
            owner_opted_out=payload.owner_opted_out,
            delivery=payload.delivery,
            ip_address=client_address(request),
        )
    except schedules.ScheduleInvalid as bad:
        raise invalid(bad.problems) from None
    return Status(201, _schedule_out(schedule))


@schedule_router.get("/{int:schedule_id}", response={200: ScheduleOut, **PROBLEMS})
@scope(SCHEDULES)
def schedule_detail(request, schedule_id: int):
    return _schedule_out(access.get_schedule_for_owner(request.auth.user, _small(schedule_id)))


@schedule_router.post("/{int:schedule_id}/pause", response={200: ScheduleOut, **PROBLEMS})
@scope(SCHEDULES, write=True)
def schedule_pause(request, schedule_id: int):
    """Pause (no exports until resumed); pausing a paused schedule changes nothing."""
    user = request.auth.user
    schedule = access.get_schedule_for_owner(user, _small(schedule_id))
    schedules.schedule_pause(
        schedule=schedule, reason=f"Paused by {user.username}.", actor=user, ip_address=client_address(request)
    )
    return _schedule_out(access.get_schedule_for_owner(user, schedule.pk))


@schedule_router.post("/{int:schedule_id}/resume", response={200: ScheduleOut, **PROBLEMS})
@scope(SCHEDULES, write=True)
def schedule_resume(request, schedule_id: int):
    """Resume from the next occurrence on (what was missed while paused does not run)."""
    user = request.auth.user
    schedule = access.get_schedule_for_owner(user, _small(schedule_id))
    schedules.schedule_resume(schedule=schedule, actor=user, ip_address=client_address(request))
    return _schedule_out(access.get_schedule_for_owner(user, schedule.pk))


@schedule_router.delete("/{int:schedule_id}", response={204: None, **PROBLEMS})
@scope(SCHEDULES, write=True)
def schedule_delete(request, schedule_id: int):
    """Delete the schedule and its runs; its exports and every audit event stay."""
    user = request.auth.user
    schedule = access.get_schedule_for_owner(user, _small(schedule_id))
    schedules.schedule_delete(schedule=schedule, actor=user, ip_address=client_address(request))
    return Status(204, None)


@schedule_router.get("/{int:schedule_id}/runs", response={200: list[RunOut], **PROBLEMS})
@scope(SCHEDULES)
def schedule_runs(request, schedule_id: int):
    """The schedule's runs, newest first, with the exports each made."""
    schedule = access.get_schedule_for_owner(request.auth.user, _small(schedule_id))
    runs = schedule.runs.order_by("-scheduled_for").prefetch_related("exports")[:100]
    return [
        {
            "id": run.pk,
            "scheduled_for": run.scheduled_for,
            "claimed_at": run.claimed_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "is_late": run.is_late,
            "message": run.message,
            "exports": [export.pk for export in run.exports.all()],
        }
        for run in runs
    ]


def _small(pk: int) -> int:
    # Beyond a bigint the database raises instead of answering "no such row".
    if not 0 < pk < 2**63:
        raise Http404("No such schedule.")
    return pk


api.add_router("/schedules", schedule_router)
