"""My schedules, one schedule with its runs, the schedule form (live recurrence in words), and the buttons.

Owners see and change only their own schedules (anything else is a 404); recipients may opt out of
schedules that name them. Every rule is exports.recurrence's and exports.schedules'.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from exports import access, forms, recurrence, schedules
from exports.history import CatalogNames, describe_file
from exports.models import Schedule, ScheduleOptOut, ScheduleRun, ScheduleRunRecipient
from exports.results import RequestedFile, SheetPick
from exports.schedules import ScheduleInvalid
from exports.snapshot import SnapshotRequestInvalid, parse_spec
from exports.views.http import client_address, not_found_as_404

FORM = "exports/schedule_form.html"
# Set by static/exports/schedules.js from the browser; read only when it names an IANA zone.
ZONE_COOKIE = "portal_tz"
RUNS_SHOWN = 50


def viewer_zone(request) -> ZoneInfo:
    """The viewer's zone as every page uses it (portal.middleware): saved, else the browser's, else TIME_ZONE."""
    return timezone.get_current_timezone()


def when_words(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """'Monday 30 November 2026, 07:00 CET' in the zone given (else the moment's own), with the
    zone's abbreviation as every other page shows times."""
    local = moment.astimezone(zone) if zone else moment
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"


# --- My schedules ---


@login_required
@require_GET
def schedule_list(request):
    last = ScheduleRun.objects.filter(schedule=OuterRef("pk")).order_by("-scheduled_for")
    owned = (
        access.owned_schedules(request.user)
        .select_related("dashboard")
        .annotate(last_status=Subquery(last.values("status")[:1]), last_at=Subquery(last.values("scheduled_for")[:1]))
        .order_by("dashboard__name", "created_at")
    )
    received = list(access.received_schedules(request.user).select_related("dashboard", "owner").order_by("pk"))
    opted_out = set(ScheduleOptOut.objects.filter(user=request.user).values_list("schedule_id", flat=True))
    zone = viewer_zone(request)
    rows = [_row(schedule, zone) for schedule in owned]
    labels = dict(ScheduleRun.Status.choices)
    for schedule in rows:
        schedule.last_label = labels.get(schedule.last_status, "")
        schedule.last_words = when_words(schedule.last_at, zone) if schedule.last_at else ""
    for schedule in received:
        _row(schedule, zone)
        schedule.opted_out = schedule.pk in opted_out
    return render(
        request,
        "exports/schedule_list.html",
        {"schedules": rows, "received": received},
    )


def _row(schedule: Schedule, zone: ZoneInfo) -> Schedule:
    schedule.words = schedules.words(schedule)
    schedule.next_words = when_words(schedule.next_run_at, zone) if schedule.next_run_at else ""
    return schedule


@login_required
@require_GET
@not_found_as_404
def schedule_detail(request, schedule_id: int):
    zone = viewer_zone(request)
    schedule = _row(access.get_schedule_for_owner(request.user, schedule_id), zone)
    runs = list(schedule.runs.order_by("-scheduled_for")[:RUNS_SHOWN])
    outcomes = (
        ScheduleRunRecipient.objects.filter(run__in=runs).select_related("user", "export").order_by("user__username")
    )
    # A link only to exports the viewer may open: the owner learns that a recipient's export was
    # made and how it ended, never its files (they were made for the recipient's identity).
    visible = set(
        access.visible_exports(request.user)
        .filter(pk__in=[o.export_id for o in outcomes if o.export_id])
        .values_list("pk", flat=True)
    )
    by_run: dict[int, list] = {}
    for outcome in outcomes:
        outcome.linked = outcome.export_id in visible
        by_run.setdefault(outcome.run_id, []).append(outcome)
    for run in runs:
        run.outcomes = by_run.get(run.pk, [])
        run.local_words = when_words(run.scheduled_for, ZoneInfo(schedule.timezone))
    return render(
        request,
        "exports/schedule_detail.html",
        {
            "schedule": schedule,
            "runs": runs,
            "upcoming": [when_words(w) for w in schedules.upcoming(schedule)],
            "people": schedules.recipients(schedule),
            "spec_lines": _spec_lines(schedule.spec, schedule.dashboard),
        },
    )


# --- the buttons: POST only, then back to where the user was ---


def _back(request, schedule: Schedule):
    target = request.POST.get("next", "")
    if target == "list":
        return redirect("exports:schedules")
    return redirect("exports:schedule", schedule_id=schedule.pk)


@login_required
@require_POST
@not_found_as_404
def schedule_pause(request, schedule_id: int):
    schedule = access.get_schedule_for_owner(request.user, schedule_id)
    reason = f"Paused by {request.user.username}."
    if schedules.schedule_pause(
        schedule=schedule, reason=reason, actor=request.user, ip_address=client_address(request)
    ):
        messages.success(request, "Schedule paused: it makes no exports until you resume it.")
    return _back(request, schedule)


@login_required
@require_POST
@not_found_as_404
def schedule_resume(request, schedule_id: int):
    schedule = access.get_schedule_for_owner(request.user, schedule_id)
    if schedules.schedule_resume(schedule=schedule, actor=request.user, ip_address=client_address(request)):
        messages.success(request, "Schedule resumed from its next run on.")
    return _back(request, schedule)


@login_required
@require_POST
@not_found_as_404
def schedule_run_now(request, schedule_id: int):
    schedule = access.get_schedule_for_owner(request.user, schedule_id)
    try:
        report = schedules.schedule_run_now(schedule=schedule, actor=request.user, ip_address=client_address(request))
    except ScheduleInvalid as invalid:
        for problem in invalid.problems:
            messages.error(request, f"Run now: {problem.message}")
    else:
        made, skipped = len(report.exports), len(report.skipped)
        if report.blocked:
            messages.error(request, f"The schedule cannot run and paused itself: {report.blocked}")
        else:
            messages.success(
                request,
                f"Run started: {made} export{'s' if made != 1 else ''} queued"
                + (f", {skipped} recipient{'s' if skipped != 1 else ''} skipped" if skipped else "")
                + ".",
            )
    return _back(request, schedule)


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def schedule_delete(request, schedule_id: int):
    """GET asks to confirm; POST deletes (its runs go too; the exports and the history stay)."""
    schedule = _row(access.get_schedule_for_owner(request.user, schedule_id), viewer_zone(request))
    if request.method == "GET":
        return render(request, "exports/schedule_delete.html", {"schedule": schedule})
    schedules.schedule_delete(schedule=schedule, actor=request.user, ip_address=client_address(request))
    messages.success(request, f"Schedule of {schedule.dashboard.name} deleted.")
    return redirect("exports:schedules")


@login_required
@require_POST
@not_found_as_404
def schedule_opt_out(request, schedule_id: int):
    schedule = access.get_received_schedule(request.user, schedule_id)
    schedules.schedule_opt_out(schedule=schedule, user=request.user, ip_address=client_address(request))
    messages.success(request, f"You no longer receive {schedule.owner.username}'s schedule of {schedule.dashboard}.")
    return _after_opt(request)


@login_required
@require_POST
@not_found_as_404
def schedule_opt_in(request, schedule_id: int):
    schedule = access.get_received_schedule(request.user, schedule_id)
    schedules.schedule_opt_in(schedule=schedule, user=request.user, ip_address=client_address(request))
    messages.success(request, f"You receive {schedule.owner.username}'s schedule of {schedule.dashboard} again.")
    return _after_opt(request)


def _after_opt(request):
    # Back to the export page the mail linked to, when the button was there (only our own paths).
    export_id = request.POST.get("export", "")
    try:
        return redirect("exports:detail", export_id=uuid.UUID(export_id))
    except ValueError:
        return redirect("exports:schedules")


# --- the form: new (from a spec or an export of the user's) and edit ---


def _spec_lines(spec: dict, dashboard) -> list[str]:
    """What each run exports, in words; nothing for a spec that breaks the rules (its problems show)."""
    try:
        parsed = parse_spec(spec)
    except SnapshotRequestInvalid:
        return []
    names = CatalogNames.for_dashboard(dashboard)
    lines = []
    for file in parsed.files:
        if file.format == "PDF":
            lines.append(describe_file(RequestedFile("PDF", (SheetPick(file.sheet),)), names))
        else:
            lines.append(describe_file(RequestedFile(file.format, (SheetPick("", file.visuals),)), names))
    lines = [line.replace(" (sheet )", "") for line in lines]
    lines += [f"{name} = {', '.join(values)}" for name, values in parsed.parameters.items()]
    if parsed.destination:
        lines.append(f"Files go to the S3 destination {parsed.destination}")
    return lines


def _new_spec(request) -> dict:
    """The spec to schedule: ?spec=<JSON> (the export form's), ?from=<export id> (one of the user's own
    exports), or the form's hidden field. The dashboard must be granted to the user (else 404)."""
    source = request.POST if request.method == "POST" else request.GET
    if source.get("from"):
        try:
            export = access.get_export_for_user(request.user, uuid.UUID(source["from"]))
        except ValueError:
            raise Http404("No such export.") from None
        if export.user_id != request.user.pk:
            raise Http404("Only the requester can schedule an export.")
        spec = export.spec
    else:
        try:
            spec = json.loads(source.get("spec", ""))
        except ValueError:
            spec = None
        # PostgreSQL refuses NUL in a query: such a spec names nothing that exists.
        if not isinstance(spec, dict) or not isinstance(spec.get("dashboard"), str) or "\\u0000" in json.dumps(spec):
            raise Http404("Nothing to schedule: start from the export form or one of your exports.")
    access.get_dashboard_for_user(request.user, spec["dashboard"])
    return spec


def _form_context(request, *, form: forms.ScheduleForm, spec: dict, schedule: Schedule | None, all_errors: bool):
    rec, problems = form.recurrence()
    names, recipient_problems = form.recipient_names()
    users, groups, unknown = schedules.resolve_recipients(names)
    recipient_problems += unknown
    problems = list(problems) + list(recipient_problems)
    if rec is not None:
        problems += schedules.schedule_check(
            owner=request.user,
            spec=spec,
            rec=rec,
            recipient_users=users,
            recipient_groups=groups,
            owner_opted_out=not form.receive_myself,
            delivery=form.delivery,
            schedule=schedule,
        )
    runs = recurrence.next_runs(rec, datetime.now(rec.zone)) if rec is not None else []
    upcoming = [(when, when_words(when)) for when in runs]
    dashboard = schedule.dashboard if schedule else access.get_dashboard_for_user(request.user, spec["dashboard"])
    return {
        "form": form,
        "schedule": schedule,
        "spec": spec,
        "spec_json": json.dumps(spec),
        "dashboard": dashboard,
        "spec_lines": _spec_lines(spec, dashboard),
        "words": rec.words() if rec is not None else "",
        "upcoming": upcoming,
        "errors": form.shown(problems, all_fields=all_errors),
        "problem_count": len(problems),
        "kinds": forms.SCHEDULE_KINDS,
        "weekday_choices": forms.WEEKDAY_CHOICES,
        "month_days": [str(d) for d in range(1, 29)],
        "deliveries": Schedule.Delivery.choices,
        "attach_limit": settings.SCHEDULE_ATTACHMENT_MAX_BYTES,
        "has_destination": bool(spec.get("destination")),
        "action": reverse("exports:schedule_edit", args=[schedule.pk]) if schedule else reverse("exports:schedule_new"),
        "preview_url": reverse("exports:schedule_edit_preview", args=[schedule.pk])
        if schedule
        else reverse("exports:schedule_new_preview"),
        "oob": False,
    }, (rec, users, groups, problems)


def _default_zone(request) -> str:
    """The zone a new schedule starts in: the browser's (sent by the form), else TIME_ZONE."""
    name = request.POST.get("browser_timezone", "") or unquote(request.COOKIES.get(ZONE_COOKIE, ""))
    return name if recurrence.is_iana_zone(name) else settings.TIME_ZONE


def _form_page(request, *, schedule: Schedule | None):
    if request.method == "GET":
        form = forms.ScheduleForm.from_schedule(schedule) if schedule else forms.ScheduleForm()
        if not schedule:
            form.timezone = _default_zone(request)
        spec = schedule.spec if schedule else _new_spec(request)
        context, _ = _form_context(request, form=form, spec=spec, schedule=schedule, all_errors=False)
        return render(request, FORM, context)

    spec = schedule.spec if schedule else _new_spec(request)
    form = forms.ScheduleForm.from_post(request.POST, default_timezone=_default_zone(request))
    context, (rec, users, groups, problems) = _form_context(
        request, form=form, spec=spec, schedule=schedule, all_errors=True
    )
    if not problems and request.POST.get("action") == "save":
        options = {
            "rec": rec,
            "recipient_users": users,
            "recipient_groups": groups,
            "owner_opted_out": not form.receive_myself,
            "delivery": form.delivery,
            "ip_address": client_address(request),
        }
        try:
            if schedule:
                schedules.schedule_update(schedule=schedule, actor=request.user, **options)
                messages.success(request, "Schedule saved.")
            else:
                schedule = schedules.schedule_create(owner=request.user, spec=spec, **options)
                messages.success(request, f"Scheduled: {schedules.words(schedule)}.")
        except ScheduleInvalid as invalid:  # e.g. a schedule made meanwhile in another tab
            context["errors"] = form.shown(invalid.problems, all_fields=True)
            context["problem_count"] = len(invalid.problems)
        else:
            url = reverse("exports:schedule", args=[schedule.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        return render(request, f"{FORM}#schedule-form", context)
    return render(request, FORM, context)


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def schedule_new(request):
    return _form_page(request, schedule=None)


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def schedule_edit(request, schedule_id: int):
    return _form_page(request, schedule=access.get_schedule_for_owner(request.user, schedule_id))


def _preview(request, schedule: Schedule | None) -> HttpResponse:
    """The recurrence in words with its next three runs, and the error lists of touched fields (out of band)."""
    if not request.htmx:
        return HttpResponseBadRequest("The preview is part of the schedule form.")
    spec = schedule.spec if schedule else _new_spec(request)
    form = forms.ScheduleForm.from_post(
        request.POST, default_timezone=_default_zone(request), trigger=request.htmx.trigger_name or ""
    )
    context, _ = _form_context(request, form=form, spec=spec, schedule=schedule, all_errors=False)
    html = render_to_string(f"{FORM}#preview", context, request)
    for place in context["errors"]:
        problems = context["errors"][place]
        html += render_to_string(f"{FORM}#errors", {"place": place, "problems": problems, "oob": True}, request)
    return HttpResponse(html)


@login_required
@require_POST
@not_found_as_404
def schedule_new_preview(request):
    return _preview(request, None)


@login_required
@require_POST
@not_found_as_404
def schedule_edit_preview(request, schedule_id: int):
    return _preview(request, access.get_schedule_for_owner(request.user, schedule_id))
