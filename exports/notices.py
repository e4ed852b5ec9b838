"""Exports that ended while their requester was elsewhere: a count on "My exports" in the navigation
and a notice on the next page, once.

The lifecycle marks an export NEW when it ends by itself (exports/jobs.py); showing the notice makes
it SHOWN (still counted); the requester looking at it (My exports, its page) makes it NONE. One
query on the partial index export_unseen_end_idx per page, and a write only when something changes.
"""

from __future__ import annotations

from functools import cached_property

from django.db.models import QuerySet

from exports.models import Export

N = Export.EndNotice
# Past this many, the notice names the newest and counts the rest.
NAMED = 3


def unseen_ends(user) -> QuerySet[Export]:
    """The user's exports whose end is still to be looked at (a user, or OuterRef("pk"))."""
    return Export.objects.filter(user=user, end_notice__gt=N.NONE)


class EndNotices:
    """Read when a full page renders its navigation, not before (htmx fragments never ask)."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def unseen(self) -> list[Export]:
        if getattr(self.user, "has_unseen_end", True) is False:
            return []  # read with the user (exports.backends): most pages need no query here
        rows = unseen_ends(self.user).select_related("dashboard")
        return list(rows.only("pk", "status", "end_notice", "finished_at", "dashboard__name").order_by("-finished_at"))

    @property
    def count(self) -> int:
        return len(self.unseen)

    @cached_property
    def announce(self) -> list[Export]:
        """The ends not yet announced; asking for them counts as announcing them."""
        fresh = [export for export in self.unseen if export.end_notice == N.NEW]
        if fresh:
            Export.objects.filter(pk__in=[e.pk for e in fresh], end_notice=N.NEW).update(end_notice=N.SHOWN)
        return fresh

    def mark_all_seen(self) -> None:
        """The requester is looking at My exports: nothing is left to count or announce there."""
        # A read on the partial index first: most visits find nothing, and then write nothing.
        if self.unseen:
            Export.objects.filter(pk__in=[e.pk for e in self.unseen], end_notice__gt=N.NONE).update(end_notice=N.NONE)
        self.unseen = []

    @property
    def named(self) -> list[Export]:
        return self.announce[:NAMED]

    @property
    def more(self) -> int:
        return max(0, len(self.announce) - NAMED)


def mark_seen(user, export: Export) -> None:
    """The requester looked at this ended export (its page, or its row as it ended)."""
    if export.user_id == user.pk and export.end_notice != N.NONE and export.is_terminal:
        Export.objects.filter(pk=export.pk).update(end_notice=N.NONE)
        export.end_notice = N.NONE
