from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from exports import access
from exports.models import AuditEvent


@login_required
def audit_history(request):
    if not access.is_auditor(request.user):
        raise PermissionDenied("The history is for auditors and administrators.")
    events = AuditEvent.objects.select_related("export").order_by("-seq")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "exports/audit.html", {"page": page})
