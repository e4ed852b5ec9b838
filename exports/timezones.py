"""Each person's time zone: the one they chose, else their browser's, else the site's (UTC)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from exports.models import UserPreference


@cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in zone_names()


def zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone the portal accepts, worded for the person who typed it."""
    if is_zone(name):
        return None
    shown = name if len(name) <= 40 else name[:40] + "…"
    return f"Time zone: “{shown}” is not an IANA time zone name; pick one from the list, e.g. Europe/Paris."


def chosen_zone(user) -> str:
    """The zone the user saved, or "" to follow their browser."""
    return UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""
