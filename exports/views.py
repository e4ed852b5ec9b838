from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from exports import access
from exports.models import AuditEvent


@login_required
def dashboard_list(request):
    dashboards = access.granted_dashboards(request.user).order_by("name")
    return render(request, "exports/dashboard_list.html", {"dashboards": dashboards})


@login_required
def export_list(request):
    exports = request.user.exports.select_related("dashboard").order_by("-created_at")
    page = Paginator(exports, 25).get_page(request.GET.get("page"))
    return render(request, "exports/export_list.html", {"page": page})


@login_required
def audit_history(request):
    if not access.is_auditor(request.user):
        raise PermissionDenied("The history is for auditors and administrators.")
    events = AuditEvent.objects.select_related("export").order_by("-seq")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "exports/audit.html", {"page": page})
