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
from django.utils.functional import cached_property

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


# Pages counted past the one asked for: "Page 3 of 13" is exact up to there, "of more than 13" beyond.
PAGES_COUNTED_AHEAD = 10


class CappedPaginator(Paginator):
    """Counts rows only up to `cap` (a COUNT over a LIMIT): at 100,000 exports a full count would cost
    more than the page itself. `more` says there are rows past the cap; pages stop at it.
    `ids_first`: the rows' ids up to the cap are read first, in the list's order; they are the count
    and the page's ids, whose rows are then read by id (searches: export_page says why)."""

    def __init__(
        self,
        object_list,
        per_page: int,
        *,
        cap: int,
        counted_rows: QuerySet | None = None,
        ids_first: bool = False,
        **kwargs,
    ):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        # The same rows without what only their display needs (joins for names): cheaper to count.
        self.counted_rows = object_list if counted_rows is None else counted_rows
        self.ids_first = ids_first

    @cached_property
    def counted(self) -> int:
        if self.ids_first:
            return len(self.matched_ids)
        return self.counted_rows.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def matched_ids(self) -> list:
        ordering = self.object_list.query.order_by
        return list(self.counted_rows.order_by(*ordering).values_list("pk", flat=True)[: self.cap + 1])

    def page(self, number):
        if not self.ids_first:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self.matched_ids[bottom : bottom + self.per_page]
        return self._get_page(list(self.object_list.filter(pk__in=ids)) if ids else [], number, self)

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def more(self) -> bool:
        return self.counted > self.cap

    def get_page(self, number: int):
        """The page asked for; its rows are read first. Fewer than a page of them makes it the last
        page, whose rows give the count: no COUNT query (a rare status, a search finding little).
        A page past the end is Django's: the last page. With ids_first, the ids come first (page())."""
        if number < 1 or self.orphans or self.ids_first:
            return super().get_page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page])
        if not rows and number > 1:
            return super().get_page(number)
        if len(rows) < self.per_page:
            self.counted = bottom + len(rows)
        return self._get_page(rows, number, self)


def capped_page(request: HttpRequest, rows: QuerySet, *, per_page: int, **paginating):
    """The page asked for (?page=), counting only PAGES_COUNTED_AHEAD pages past it."""
    asked = request.GET.get("page", "")
    number = int(asked) if asked.isdigit() and len(asked) < 7 else 1
    cap = (number + PAGES_COUNTED_AHEAD) * per_page
    paginator = CappedPaginator(rows, per_page, cap=cap, **paginating)
    return paginator.get_page(number)


def export_page(
    request: HttpRequest, exports: QuerySet[Export], *, per_page: int, names: dict | None = None, searched: bool = False
) -> dict:
    """One decorated page of exports, and the query string its page links keep (filters, no page).
    `names`: annotations the rows show from related tables, left out of the count's query.

    `searched`: the rows match a text search, whose share of all rows PostgreSQL can only guess
    from a sample: a rare word that happens to be in it is taken for one in 1% of exports, and
    "the newest 25" becomes a walk of every export (76 ms at 100,000). So the matching ids are read
    first, up to the cap, by a query that both counts and pages (its LIMIT of the cap keeps the
    trigram index for rare words; a frequent word's walk stops at the cap, reading the newest index
    alone), then the page's rows by their ids (BENCHMARKS.md, "List pages")."""
    shown = exports.annotate(**names) if names else exports
    page = capped_page(request, shown, per_page=per_page, counted_rows=exports, ids_first=searched)
    page.object_list = history.decorate(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "query": query.urlencode()}
