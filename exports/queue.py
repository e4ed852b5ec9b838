"""The order of the portal's queue: who waits ahead of whom (exports/jobs.py moves it, exports/estimates.py
guesses when a turn comes). Interactive exports go before every waiting scheduled one, then first come
first served (created_at, then pk); history.with_queue_position counts the same way in one subquery."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from exports.models import Export

ORDER = ("is_scheduled", "created_at", "pk")


def waiting(account_id: str) -> QuerySet[Export]:
    """The account's waiting exports, in the order they will start."""
    return Export.objects.filter(aws_account_id=account_id, status=Export.Status.PENDING).order_by(*ORDER)


def ahead(export: Export) -> QuerySet[Export]:
    """The exports of its account waiting ahead of this one, in the order they will start."""
    earlier = Q(created_at__lt=export.created_at) | Q(created_at=export.created_at, pk__lt=export.pk)
    if export.is_scheduled:
        before = Q(is_scheduled=False) | (Q(is_scheduled=True) & earlier)
    else:
        before = Q(is_scheduled=False) & earlier
    return waiting(export.aws_account_id).filter(before)


def position(export: Export) -> int | None:
    """1 for the next export of its account to start; None once it has left the portal's queue."""
    if export.status != Export.Status.PENDING:
        return None
    return ahead(export).count() + 1
