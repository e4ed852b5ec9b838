"""The new-export form: one page, and htmx endpoints that each re-render only the part a change affects.

Every endpoint rebuilds the request from the POSTed choices on the server (exports.snapshot), so
what the preview shows and what is checked is always what would be sent.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from exports import access, forms
from exports.quota import LimitReached
from exports.services import export_create
from exports.snapshot import (
    BuildResult,
    ExportSpec,
    SnapshotRequestInvalid,
    build_request,
    load_catalog,
    parse_spec,
    redact,
    request_to_json,
)
from exports.views.http import client_address, not_found_as_404
from exports.views.limits import limit_response

TEMPLATE = "exports/export_form.html"


def _state(request, *, with_action: bool = True):
    """The dashboard (404 unless granted), its catalog and the spec the POSTed fields describe."""
    dashboard = access.get_dashboard_for_user(request.user, request.POST.get("dashboard", ""))
    catalog = load_catalog(dashboard)
    spec = forms.spec_from_post(request.POST, catalog)
    if with_action:
        spec = forms.apply_action(spec, request.POST.get("action", ""), catalog)
    return dashboard, catalog, spec


def _context(request, dashboard, catalog, spec: ExportSpec, *, touched: set[str] | None, problems=None) -> dict:
    """touched: the fields whose errors show (the user changed them); None after Check or Create: all."""
    # A sample job id: the real one is derived from the export's id when it is created.
    built: BuildResult = build_request(
        spec, user=request.user, export_id=uuid.uuid4(), dashboard=dashboard, catalog=catalog
    )
    all_problems = problems if problems is not None else built.problems
    if touched is None:
        touched, shown = forms.every_field(spec, catalog), all_problems
    else:
        shown = forms.touched_problems(all_problems, touched)
    request_json = request_to_json(built.draft)
    masked = not access.sees_everything(request.user)
    if masked:
        request_json = redact(request_json)
    blocker = next((p.message for p in all_problems if p.field == "identity"), "")
    return {
        "dashboard": dashboard,
        "catalog": catalog,
        "spec": spec,
        "problems": shown,
        "problem_count": len(all_problems),
        "first_problem": shown[0] if shown else None,
        "next_choice": all_problems[0] if all_problems else None,
        "masked": masked,
        "blocker": blocker,
        "add_buttons": forms.add_buttons(spec),
        "files": forms.file_rows(spec, catalog, shown, touched),
        "files_errors": forms.errors_for(shown, "files"),
        "parameters": forms.parameter_rows(spec, catalog, shown, touched),
        "destination_touched": "destination" in touched,
        "destinations": access.allowed_destinations(request.user, dashboard),
        "destination_errors": forms.errors_for(shown, "destination"),
        "general_errors": forms.unplaced(shown),
        "request_json": json.dumps(request_json, indent=2, ensure_ascii=False),
        "ready": built.ok,
        "submit_token": forms.submit_token(request.POST),
        "spec_json": json.dumps(spec.as_json()),  # "Schedule this" carries the spec to the schedule form
    }


def _parts(request, context: dict, *names: str, oob: str = "preview") -> HttpResponse:
    html = "".join(render_to_string(f"{TEMPLATE}#{name}", context, request) for name in names)
    html += render_to_string(f"{TEMPLATE}#{oob}", {**context, "oob": True}, request)
    return HttpResponse(html)


def _rerun_spec(request) -> ExportSpec | None:
    """The spec of an earlier export the user may see (?rerun=<uuid>); 404 for anything else."""
    rerun_id = request.GET.get("rerun")
    if not rerun_id:
        return None
    try:
        previous = access.get_export_for_user(request.user, uuid.UUID(rerun_id))
        return parse_spec(previous.spec)
    except (ValueError, SnapshotRequestInvalid):
        raise Http404("No such export to run again.") from None


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def export_new(request):
    if request.method == "GET":
        dashboards = access.granted_dashboards(request.user).order_by("name")
        context = {"dashboards": dashboards, "dashboard": None}
        dashboard_id = request.GET.get("dashboard")
        spec, rerun = ExportSpec(dashboard_id or ""), _rerun_spec(request)
        if rerun:
            # Re-run: the stored choices, rebuilt now, so identity and catalog are today's.
            spec, dashboard_id = rerun, rerun.dashboard
        if dashboard_id:
            dashboard = access.get_dashboard_for_user(request.user, dashboard_id)
            catalog = load_catalog(dashboard)
            context |= _context(request, dashboard, catalog, spec, touched=None if rerun else set())
        if request.htmx and not request.htmx.history_restore_request:
            return render(request, f"{TEMPLATE}#builder", context)
        return render(request, TEMPLATE, context)

    dashboard, catalog, spec = _state(request)
    problems = None
    if request.POST.get("action") == "submit":
        try:
            export = export_create(
                user=request.user,
                spec=spec.as_json(),
                ip_address=client_address(request),
                submit_token=forms.submit_token(request.POST),
            )
        except SnapshotRequestInvalid as invalid:
            problems = invalid.problems
        except LimitReached as refused:
            back_url = f"{reverse('exports:new')}?{urlencode({'dashboard': dashboard.dashboard_id})}"
            return limit_response(request, refused, back_url=back_url)
        else:
            if request.htmx:
                return HttpResponseClientRedirect(reverse("exports:detail", kwargs={"export_id": export.id}))
            return redirect("exports:detail", export_id=export.id)
    # Check and Create show every problem; the file buttons without JavaScript, the touched fields' only.
    action = request.POST.get("action", "")
    editing = action.partition(":")[0] in ("add", "remove", "up", "down")
    touched = forms.touched_from_post(request.POST, action) if editing else None
    context = _context(request, dashboard, catalog, spec, touched=touched, problems=problems)
    # A refused submit is a 422 (the page shows why; base.html lets htmx swap it); a draft is a 200.
    status = 200 if problems is None else 422
    if request.htmx:
        return render(request, f"{TEMPLATE}#builder", context, status=status)
    context["dashboards"] = access.granted_dashboards(request.user).order_by("name")
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_POST
@not_found_as_404
def export_new_files(request):
    """Add, remove or reorder files: the files section and the preview."""
    dashboard, catalog, spec = _state(request)
    touched = forms.touched_from_post(request.POST, request.POST.get("action", ""))
    return _parts(request, _context(request, dashboard, catalog, spec, touched=touched), "files")


@login_required
@require_POST
@not_found_as_404
def export_new_file(request, index: int):
    """A change inside one file (sheet, visual, worksheets and their order): that file and the preview."""
    dashboard, catalog, spec = _state(request)
    touched = forms.touched_from_post(request.POST, request.POST.get("action", "")) | {f"files[{index}]"}
    context = _context(request, dashboard, catalog, spec, touched=touched)
    if index >= len(context["files"]):
        raise Http404("No such file in this export.")
    return _parts(request, {**context, "file": context["files"][index]}, "file")


@login_required
@require_POST
@not_found_as_404
def export_new_parameter(request, index: int):
    """One parameter's values: that parameter and the preview."""
    dashboard, catalog, spec = _state(request, with_action=False)
    touched = forms.touched_from_post(request.POST)
    if index < len(catalog.parameters):
        touched.add(f"parameters.{catalog.parameters[index].name}")
    context = _context(request, dashboard, catalog, spec, touched=touched)
    if index >= len(context["parameters"]):
        raise Http404("No such parameter on this dashboard.")
    return _parts(request, {**context, "parameter": context["parameters"][index]}, "parameter")


@login_required
@require_POST
@not_found_as_404
def export_new_destination(request):
    dashboard, catalog, spec = _state(request, with_action=False)
    touched = forms.touched_from_post(request.POST) | {"destination"}
    return _parts(request, _context(request, dashboard, catalog, spec, touched=touched), "destination")
