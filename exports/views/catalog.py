from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from exports import access


@login_required
def dashboard_list(request):
    dashboards = access.granted_dashboards(request.user).order_by("name")
    return render(request, "exports/dashboard_list.html", {"dashboards": dashboards})
