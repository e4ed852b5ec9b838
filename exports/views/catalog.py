"""The Dashboards page: what is granted to me, searchable, and one dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from exports.catalog import dashboard_card, granted_catalog
from exports.views.http import not_found_as_404

MAX_QUERY_LENGTH = 200


@login_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard_list(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    context = {"cards": granted_catalog(request.user, query=query), "query": query}
    # A history restore asks for the whole page even though htmx sends it.
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "exports/dashboard_list.html#results" if partial else "exports/dashboard_list.html", context)


@login_required
@require_GET
@not_found_as_404
def dashboard_detail(request, dashboard_id: str):
    return render(request, "exports/dashboard_detail.html", {"card": dashboard_card(request.user, dashboard_id)})
