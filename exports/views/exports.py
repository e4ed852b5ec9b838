"""My exports, one export, its live status, Cancel, and downloads."""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from exports import access, downloads, forms, history, jobs, notices, outcomes, services
from exports.downloads import DownloadUnavailable, export_file_download
from exports.file_names import content_disposition
from exports.models import Export
from exports.quota import LimitReached
from exports.snapshot import SnapshotRequestInvalid, redact
from exports.views.http import client_address, export_page, not_found_as_404
from exports.views.limits import limit_response

PAGE_SIZE = 25


@login_required
@require_GET
def export_list(request):
    form = forms.MyExportsFilter(request.GET or None, user=request.user)
    refused = form.is_bound and not form.is_valid()
    filters = form.cleaned_data if form.is_bound and not refused else {}
    exports = Export.objects.none() if refused else history.my_exports(user=request.user, filters=filters)
    end_notices = notices.EndNotices(request.user)
    end_notices.mark_all_seen()  # the rows say how each ended
    context = {**export_page(request, exports, per_page=PAGE_SIZE), "form": form, "end_notices": end_notices}
    return render(request, "exports/export_list.html", context, status=400 if refused else 200)


@login_required
@require_GET
@not_found_as_404
def export_row(request, export_id):
    """One row of My exports, polled by htmx until the export ends (then 286 stops the polling)."""
    export = history.decorate_one(access.get_export_for_user(request.user, export_id))
    notices.mark_seen(request.user, export)  # it ended before the requester's eyes
    html = render_to_string("exports/export_list.html#export-row", {"export": export}, request=request)
    return HttpResponseStopPolling(html) if export.is_terminal else HttpResponse(html)


@login_required
@require_GET
@not_found_as_404
def export_detail(request, export_id):
    export = access.get_export_for_user(request.user, export_id)
    notices.mark_seen(request.user, export)
    export = history.decorate_one(export)
    if request.htmx:
        html = render_to_string("exports/export_detail.html#live", _detail_context(request, export), request=request)
        return HttpResponseStopPolling(html) if export.is_terminal else HttpResponse(html)
    return render(request, "exports/export_detail.html", _detail_context(request, export))


def _detail_context(request, export: Export) -> dict:
    privileged = access.sees_everything(request.user)
    names = history.CatalogNames.for_dashboard(export.dashboard)
    files = list(export.files.order_by("index", "part"))
    for export_file, name in zip(files, downloads.received_names(export, files), strict=True):
        export_file.description = history.file_description(export_file, export.request or {}, names)
        export_file.received_name = name
    events = list(export.events.order_by("seq"))
    return {
        "export": export,
        "words": history.describe_request(export, show_rls=privileged, names=names),
        "request_json": json.dumps(export.request if privileged else redact(export.request), indent=2, sort_keys=True),
        "files": files,
        "zip_leaves_out": [downloads.file_number(f) for f in files if not f.is_ready],
        "can_zip": len(files) > 1 and any(f.is_ready for f in files),
        "events": events,
        "privileged": privileged,
        "can_download": access.can_download(request.user, export),
        "can_cancel": _may_cancel(request.user, export),
        "is_requester": export.user_id == request.user.pk,
        "cancel_note": outcomes.cancel_note(export),
        "next_step": outcomes.next_step(export),
        "reference": outcomes.support_reference(export),
        "can_retry": export.status == Export.Status.COMPLETED_WITH_ERRORS and export.user_id == request.user.pk,
        "submit_token": uuid.uuid4(),
        "received_schedule": _received_schedule(request.user, export),
    }


def _received_schedule(user, export: Export):
    """The schedule that made this export for the viewer, when someone else owns it: the mail links
    here and says the recipient can opt out of it."""
    if export.user_id != user.pk or export.schedule_run_id is None:
        return None
    schedule = access.received_schedules(user).filter(runs__exports=export).select_related("owner").first()
    if schedule is not None:
        schedule.opted_out = schedule.opt_outs.filter(user=user).exists()
    return schedule


def _may_cancel(user, export: Export) -> bool:
    allowed = export.status in jobs.ALLOWED_TO_PEOPLE[Export.Status.CANCELLED]
    return allowed and (export.user_id == user.pk or access.is_admin(user))


@login_required
@require_POST
@not_found_as_404
def export_cancel(request, export_id):
    export = access.get_export_for_user(request.user, export_id)
    if export.user_id != request.user.pk and not access.is_admin(request.user):
        raise Http404("Only the requester can cancel an export.")
    cancelled = jobs.export_cancel(export=export, actor=request.user, ip_address=client_address(request))
    if request.htmx:
        # The row itself shows the outcome: Cancelled, or the state the export moved on to.
        export = history.decorate_one(Export.objects.select_related("dashboard").get(pk=export.pk))
        html = render_to_string("exports/export_list.html#export-row", {"export": export}, request=request)
        return HttpResponseStopPolling(html) if export.is_terminal else HttpResponse(html)
    if cancelled:
        messages.success(request, "Export cancelled.")
    else:
        export.refresh_from_db(fields=["status"])  # it moved on under us: say where
        messages.error(request, outcomes.cancel_note(export))
    return redirect("exports:detail", export_id=export.pk)


@login_required
@require_POST
@not_found_as_404
def export_retry_failed(request, export_id):
    """A new export of the failed files only; the form's token makes a double click one export."""
    export = access.get_export_for_user(request.user, export_id)
    if export.user_id != request.user.pk:
        raise Http404("Only the requester can retry an export's files.")
    try:
        retry = services.export_retry_failed(
            export=export,
            user=request.user,
            ip_address=client_address(request),
            submit_token=forms.submit_token(request.POST),
        )
    except SnapshotRequestInvalid as invalid:
        messages.error(request, "The failed files cannot be retried: " + "; ".join(p.message for p in invalid.problems))
        return redirect("exports:detail", export_id=export.pk)
    except LimitReached as refused:
        return limit_response(request, refused, back_url=reverse("exports:detail", kwargs={"export_id": export.pk}))
    messages.success(request, "A new export of the failed files was created.")
    return redirect("exports:detail", export_id=retry.pk)


@login_required
@require_GET
@not_found_as_404
def export_file_download_view(request, export_id, index: int, part: int = 0):
    export = access.get_export_for_user(request.user, export_id)
    if not access.can_download(request.user, export):
        raise Http404("No such file.")
    export_file = get_object_or_404(
        export.files.select_related("export__dashboard", "export__destination"), index=index, part=part
    )
    try:
        target = export_file_download(export_file=export_file, user=request.user, ip_address=client_address(request))
    except DownloadUnavailable as exc:
        messages.error(request, f"File {index + 1}{f' part {part + 1}' if export_file.parts > 1 else ''}: {exc}")
        response = redirect("exports:detail", export_id=export.pk)
    except LimitReached as refused:
        response = limit_response(request, refused, back_url=reverse("exports:detail", kwargs={"export_id": export.pk}))
    else:
        if target.archived is not None:
            response = FileResponse(target.archived.archived_file.open("rb"))
            response["Content-Disposition"] = content_disposition(target.filename)
        else:
            response = HttpResponseRedirect(target.url)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
@not_found_as_404
def export_zip_download_view(request, export_id):
    """Download all: the ready files in one zip, streamed; checked and audited as single downloads."""
    export = access.get_export_for_user(request.user, export_id)
    if not access.can_download(request.user, export):
        raise Http404("No such file.")
    try:
        download = downloads.export_zip_download(export=export, user=request.user, ip_address=client_address(request))
    except DownloadUnavailable as exc:
        messages.error(request, f"Download all: {exc}")
        response = redirect("exports:detail", export_id=export.pk)
    except LimitReached as refused:
        response = limit_response(request, refused, back_url=reverse("exports:detail", kwargs={"export_id": export.pk}))
    else:
        response = StreamingHttpResponse(download.chunks, content_type="application/zip")
        response["Content-Disposition"] = content_disposition(download.name)
    response["Cache-Control"] = "no-store"
    return response
