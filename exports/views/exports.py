from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from exports import access


@login_required
def export_list(request):
    exports = request.user.exports.select_related("dashboard").order_by("-created_at")
    page = Paginator(exports, 25).get_page(request.GET.get("page"))
    return render(request, "exports/export_list.html", {"page": page})


@login_required
def export_detail(request, export_id):
    export = access.get_export_for_user(request.user, export_id)
    return render(request, "exports/export_detail.html", {"export": export})
