"""What views read off a request the same way: the client's address, the page asked for, and access's
not-found as a 404."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from exports import access, history
from exports.models import Export


def client_address(request: HttpRequest | None) -> str | None:
    """The address a request is audited, locked out and counted under; None when there is none.

    With TRUSTED_PROXY_COUNT = 0 it is REMOTE_ADDR: X-Forwarded-For is whatever the client typed.
    With N trusted proxies, each appending the address it was reached from, it is the Nth address
    from the right of X-Forwarded-For: everything left of it came from the client. A header shorter
    than that, or an entry that is not an address, did not come through our proxies, so REMOTE_ADDR.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote


def not_found_as_404[**P, R](view: Callable[P, R]) -> Callable[P, R]:
    """access.NotFound (someone else's object, or none at all) becomes the site's ordinary 404."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return view(*args, **kwargs)
        except access.NotFound as missing:
            raise Http404(str(missing)) from missing

    return wrapped


def export_page(request: HttpRequest, exports: QuerySet[Export], *, per_page: int) -> dict:
    """One decorated page of exports, and the query string its page links keep (filters, no page)."""
    page = Paginator(exports, per_page).get_page(request.GET.get("page"))
    page.object_list = history.decorate(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "query": query.urlencode()}
