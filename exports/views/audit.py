"""The auditor's history: every export with filters, its streamed export, the audit log and its chain check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from exports import access, audit, events, forms, history
from exports.models import AuditEvent, Export
from exports.views.http import capped_page, client_address, export_page

PAGE_SIZE = 25
EVENTS_PAGE_SIZE = 50


def _require_auditor(user) -> None:
    if not access.sees_everything(user):
        raise PermissionDenied("The history is for auditors and administrators.")


def _filters(request) -> tuple[forms.HistoryFilter, dict | None]:
    """The filter form and its values; None when a value is refused (never silently widen to everything)."""
    form = forms.HistoryFilter(request.GET or None)
    if not form.is_bound:
        return form, {}
    return form, (form.cleaned_data if form.is_valid() else None)


@login_required
@require_GET
def audit_history(request):
    _require_auditor(request.user)
    form, filters = _filters(request)
    exports = Export.objects.none() if filters is None else history.history_exports(filters=filters)
    searched = bool(filters and filters.get("q"))
    context = export_page(request, exports, per_page=PAGE_SIZE, names=history.HISTORY_NAMES, searched=searched)
    history.decorate_history(context["page"].object_list)
    return render(request, "exports/audit.html", {**context, "form": form}, status=400 if filters is None else 200)


@login_required
@require_GET
def audit_history_download(request, fmt: str):
    """The filtered history as CSV or JSON Lines, streamed; the export itself is audited."""
    _require_auditor(request.user)
    form, filters = _filters(request)
    if filters is None:
        # Before the stream starts: a bad filter must not become a 200 with a header and nothing else.
        errors = "\n".join(_filter_errors(form)) + "\n"
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    with transaction.atomic():
        events.history_exported(
            actor=request.user,
            fmt=fmt,
            filters=history.filters_for_audit(filters),
            ip_address=client_address(request),
        )
    return _stream(filters=filters, fmt=fmt)


def _stream(*, filters: dict[str, Any], fmt: str) -> StreamingHttpResponse:
    """The filtered history as a download that never holds more than one chunk of rows."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(history.history_csv_lines(filters), content_type="text/csv; charset=utf-8")
        filename = f"export-history-{stamp}.csv"
    else:
        lines = history.history_jsonl_lines(filters)
        response = StreamingHttpResponse(lines, content_type="application/jsonl; charset=utf-8")
        filename = f"export-history-{stamp}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _filter_errors(form: forms.HistoryFilter) -> list[str]:
    """A refused filter form in words, one "field: message" a line (for a 400 that names the field)."""
    return [f"{name}: {message}" for name, messages in form.errors.items() for message in messages]


@login_required
@require_GET
def audit_chain(request):
    """Whether the audit chain is intact; loaded after the page so a long chain never slows it."""
    _require_auditor(request.user)
    return render(request, "exports/audit.html#chain", {"chain": audit.verify_chain()})


@login_required
@require_GET
def audit_events(request):
    _require_auditor(request.user)
    events = AuditEvent.objects.select_related("export__dashboard").order_by("-seq")
    page = capped_page(request, events, per_page=EVENTS_PAGE_SIZE)
    return render(request, "exports/audit_events.html", {"page": page})
