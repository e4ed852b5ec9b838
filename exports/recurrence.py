"""Recurrences of schedules: parsing, words, and occurrences in the schedule's own time zone.

Pure: no Django, no database. A recurrence is a preset (every day, on chosen weekdays, on a day
of the month, at a local time) or a cron expression, always with an IANA zone. Every recurrence
becomes a 5-field cron expression that croniter walks in *wall-clock* time (naive datetimes);
each wall-clock time is then placed in the zone here, because that is where the DST rules live:

- a local time that does not exist (spring forward, 02:30 in Paris on the last Sunday of March)
  runs at the next valid minute (03:00 local, the instant of the change);
- an ambiguous one (fall back, 02:30 happens twice) runs once, at its first instance (fold=0);
- two wall-clock times that land on one instant (02:00 and 03:00 on spring forward) run once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import Options, get_description
from croniter import croniter

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LAST_DAY = -1
# Enough wall-clock margin before a moment to catch every occurrence a DST change moves past it.
_MARGIN = timedelta(days=1)
# How far ahead the shortest-interval rule looks: a year covers every pattern of days.
_INTERVAL_HORIZON = timedelta(days=366)
_INTERVAL_MAX_STEPS = 20_000


@dataclass(frozen=True)
class RecurrenceProblem:
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class RecurrenceInvalid(ValueError):
    def __init__(self, problems: list[RecurrenceProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Recurrence:
    kind: str  # DAILY, WEEKLY, MONTHLY, CRON (models.Schedule.Kind)
    timezone: str
    at_time: time | None = None
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    month_day: int | None = None  # 1..28, or LAST_DAY
    cron: str = ""
    _zone: ZoneInfo | None = field(default=None, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone or ZoneInfo(self.timezone)

    def cron_expression(self) -> str:
        if self.kind == "CRON":
            return self.cron
        minute, hour = self.at_time.minute, self.at_time.hour
        if self.kind == "DAILY":
            return f"{minute} {hour} * * *"
        if self.kind == "WEEKLY":
            # cron counts from Sunday = 0; ours from Monday = 0.
            return f"{minute} {hour} * * {','.join(str((d + 1) % 7) for d in sorted(self.weekdays))}"
        day = "L" if self.month_day == LAST_DAY else str(self.month_day)
        return f"{minute} {hour} {day} * *"

    def words(self) -> str:
        """'Every Monday at 07:00, Europe/Paris'."""
        if self.kind == "CRON":
            return f"{describe_cron(self.cron)}, {self.timezone}"
        at = f"at {self.at_time:%H:%M}, {self.timezone}"
        if self.kind == "DAILY":
            return f"Every day {at}"
        if self.kind == "WEEKLY":
            return f"Every {_join([WEEKDAY_NAMES[d] for d in sorted(self.weekdays)])} {at}"
        if self.month_day == LAST_DAY:
            return f"On the last day of every month {at}"
        return f"On day {self.month_day} of every month {at}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_cron(expression: str) -> str:
    options = Options()
    options.use_24hour_time_format = True
    return get_description(expression, options)


# --- parsing ---


def _zone(name: str, problems: list[RecurrenceProblem]) -> ZoneInfo | None:
    # ZoneInfo also opens paths like "../../etc/x": accept only names of the IANA database.
    if name not in _zone_names():
        problems.append(
            RecurrenceProblem("timezone", "timezone-iana", f"{name!r} is not an IANA time zone (e.g. Europe/Paris)")
        )
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(RecurrenceProblem("timezone", "timezone-iana", f"{name!r} is not an IANA time zone"))
        return None


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def is_iana_zone(name: str) -> bool:
    """A name of the IANA database (what a browser's Intl.DateTimeFormat reports), never a path."""
    return name in _zone_names()


def _time(text: str, problems: list[RecurrenceProblem]) -> time | None:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        problems.append(
            RecurrenceProblem("time", "time-hh-mm", f"{text!r} is not a time of day as HH:MM (00:00-23:59)")
        )
        return None
    return time(int(match[1]), int(match[2]))


def build(
    *,
    kind: str,
    timezone: str,
    at_time: time | str | None = None,
    weekdays: list[int] | tuple[int, ...] = (),
    month_day: int | None = None,
    cron: str = "",
) -> Recurrence:
    """A checked Recurrence from its parts; RecurrenceInvalid names every broken field and rule."""
    problems: list[RecurrenceProblem] = []
    kind = (kind or "").upper()
    zone = _zone(timezone, problems)
    if kind not in ("DAILY", "WEEKLY", "MONTHLY", "CRON"):
        problems.append(
            RecurrenceProblem("kind", "recurrence-kind", "choose daily, weekly, monthly or a cron expression")
        )
        raise RecurrenceInvalid(problems)
    if kind == "CRON":
        cron = " ".join((cron or "").split())
        if len(cron.split(" ")) != 5 or not croniter.is_valid(cron):
            problems.append(
                RecurrenceProblem(
                    "cron",
                    "cron-valid",
                    f"{cron!r} is not a cron expression of 5 fields (minute hour day month weekday)",
                )
            )
        at_time, weekdays, month_day = None, (), None
    else:
        cron = ""
        if isinstance(at_time, str):
            at_time = _time(at_time, problems)
        elif at_time is None:
            problems.append(RecurrenceProblem("time", "time-hh-mm", "give the local time to run at, as HH:MM"))
        elif at_time.second or at_time.microsecond:
            problems.append(RecurrenceProblem("time", "time-hh-mm", "schedules run on whole minutes"))
        if kind == "WEEKLY":
            weekdays = tuple(sorted(set(weekdays)))
            if not weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays):
                problems.append(
                    RecurrenceProblem("weekdays", "weekdays-chosen", "choose one or more weekdays (mon ... sun)")
                )
        else:
            weekdays = ()
        if kind == "MONTHLY":
            if not (month_day == LAST_DAY or (isinstance(month_day, int) and 1 <= month_day <= 28)):
                problems.append(
                    RecurrenceProblem(
                        "month_day",
                        "month-day",
                        "a monthly schedule runs on day 1 to 28, or on the last day (not every month has a 29th)",
                    )
                )
        else:
            month_day = None
    if problems:
        raise RecurrenceInvalid(problems)
    return Recurrence(
        kind=kind,
        timezone=timezone,
        at_time=at_time,
        weekdays=tuple(weekdays),
        month_day=month_day,
        cron=cron,
        _zone=zone,
    )


def parse_every(text: str, *, default_timezone: str) -> Recurrence:
    """The command line's --every: 'daily 07:00 [ZONE]', 'weekly mon,thu 07:00 [ZONE]',
    'monthly 15 07:00 [ZONE]' or 'monthly last 07:00 [ZONE]'."""
    words = (text or "").split()
    usage = "write daily HH:MM, weekly mon[,tue...] HH:MM or monthly DAY|last HH:MM, then a zone (Europe/Paris)"
    if not words or words[0].lower() not in ("daily", "weekly", "monthly"):
        raise RecurrenceInvalid([RecurrenceProblem("every", "every-form", f"{text!r}: {usage}")])
    kind, rest = words[0].upper(), words[1:]
    expected = {"DAILY": 1, "WEEKLY": 2, "MONTHLY": 2}[kind]
    if len(rest) not in (expected, expected + 1):
        raise RecurrenceInvalid([RecurrenceProblem("every", "every-form", f"{text!r}: {usage}")])
    timezone = rest[expected] if len(rest) > expected else default_timezone
    parts: dict = {"kind": kind, "timezone": timezone, "at_time": rest[expected - 1]}
    if kind == "WEEKLY":
        days = [d.strip().lower()[:3] for d in rest[0].split(",") if d.strip()]
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown or not days:
            raise RecurrenceInvalid(
                [RecurrenceProblem("weekdays", "weekdays-chosen", f"{rest[0]!r}: name weekdays as mon,tue,...,sun")]
            )
        parts["weekdays"] = [WEEKDAYS.index(d) for d in days]
    if kind == "MONTHLY":
        day = rest[0].lower()
        parts["month_day"] = LAST_DAY if day == "last" else int(day) if day.isdigit() else 0
    return build(**parts)


# --- occurrences ---


def _exists(local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in the zone -> the UTC instant it runs at (see the module's DST rules)."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _exists(first):
        return first.astimezone(UTC)  # ambiguous times: their first instance
    # In a gap: fold=1 reads it with the offset after the change (an instant before it), fold=0
    # with the offset before (an instant after it). The change lies between: find its second.
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(first.timestamp())
    after = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def occurrences(recurrence: Recurrence, after: datetime) -> Iterator[datetime]:
    """Every run instant (UTC) strictly after `after`, in order, each once."""
    zone = recurrence.zone
    start = after.astimezone(zone).replace(tzinfo=None) - _MARGIN
    walker = croniter(recurrence.cron_expression(), start)
    last = after.astimezone(UTC)
    while True:
        instant = to_instant(walker.get_next(datetime), zone)
        if instant > last:
            last = instant
            yield instant


def next_runs(recurrence: Recurrence, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` run times after `after`, in the schedule's zone."""
    found = []
    for instant in occurrences(recurrence, after):
        found.append(instant.astimezone(recurrence.zone))
        if len(found) == count:
            break
    return found


def latest_due(recurrence: Recurrence, since: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest occurrence in [since, now] and how many earlier ones in that range it replaces."""
    latest, count = None, 0
    for instant in occurrences(recurrence, since - timedelta(microseconds=1)):
        if instant > now:
            break
        latest, count = instant, count + 1
    return latest, max(count - 1, 0)


def shortest_interval(recurrence: Recurrence, start: datetime) -> timedelta | None:
    """The shortest wall-clock time between two runs over the next year; None if it runs at most once.

    Wall-clock, not UTC: '30 1,2 * * *' is an hour apart as written, even on the night that
    moves 02:30 to 03:00.
    """
    shortest, previous = None, None
    wall = start.astimezone(recurrence.zone).replace(tzinfo=None)
    end = wall + _INTERVAL_HORIZON
    walker = croniter(recurrence.cron_expression(), wall)
    for _ in range(_INTERVAL_MAX_STEPS):
        current = walker.get_next(datetime)
        if current > end:
            break
        if previous is not None:
            gap = current - previous
            shortest = gap if shortest is None or gap < shortest else shortest
            if gap <= timedelta(minutes=1):
                break  # cannot get shorter
        previous = current
    return shortest


def of_schedule(schedule: Any) -> Recurrence:
    """The recurrence a Schedule row stores (duck-typed: this module stays free of Django)."""
    return Recurrence(
        kind=schedule.kind,
        timezone=schedule.timezone,
        at_time=schedule.at_time,
        weekdays=tuple(schedule.weekdays or ()),
        month_day=schedule.month_day,
        cron=schedule.cron,
    )
