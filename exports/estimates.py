"""How long an export should take, learned from the finished exports of the same dashboard and formats.

One figure per (dashboard, formats): the upper quartile of QuickSight's own run times (Start to the
job's end as QuickSight reports it) of the latest EXPORT_ESTIMATE_SAMPLES completed exports; before
there are any, EXPORT_ESTIMATE_DEFAULT_SECONDS. The upper quartile rather than the median so that
most jobs have ended by the poll at the expected end, and people are told a time they can trust.
Cheap: one indexed query (export_run_seconds_idx) of at most that many rows; no cache to go stale.

The lifecycle polls around the expected end (exports/jobs.py); the pages and the API show the
expected finish of a running export and the expected start of a waiting one (`attach`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from exports import queue
from exports.models import Export

S = Export.Status
# Beyond this many exports waiting no start time is guessed (the pages still say the position).
MAX_AHEAD = 200


@dataclass(frozen=True)
class Estimate:
    seconds: float
    samples: int  # completed exports it learned from; 0: the default

    @property
    def learned(self) -> bool:
        return self.samples > 0


def upper_quartile(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.75 * len(ordered)) - 1)]


def duration(dashboard_id: int, formats: str) -> Estimate:
    """The expected QuickSight run time of an export of this dashboard with these formats."""
    return durations([(dashboard_id, formats)])[(dashboard_id, formats)]


def _latest_runs(dashboard_id: int, formats: str):
    return (
        Export.objects.filter(dashboard_id=dashboard_id, formats=formats, status=S.COMPLETED, run_seconds__isnull=False)
        .order_by("-finished_at")
        .values_list("dashboard_id", "formats", "run_seconds")[: settings.EXPORT_ESTIMATE_SAMPLES]
    )


# Each key's latest runs in one statement: an index-ordered top-N read per key (export_run_seconds_idx),
# as one array a key (1,100 rows of one number each took the bench's 55 keys 0.2 ms more to fetch).
_LATEST_RUNS_SQL = f"""
SELECT k.dashboard_id, k.formats, r.runs
FROM unnest(%s::bigint[], %s::text[]) AS k(dashboard_id, formats)
CROSS JOIN LATERAL (
    SELECT ARRAY(
        SELECT e.run_seconds FROM {Export._meta.db_table} e
        WHERE e.dashboard_id = k.dashboard_id AND e.formats = k.formats
          AND e.status = %s AND e.run_seconds IS NOT NULL
        ORDER BY e.finished_at DESC LIMIT %s
    ) AS runs
) r
"""


def durations(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Estimate]:
    """duration() of each (dashboard, formats): on PostgreSQL one query for them all, elsewhere one
    per key. A page of waiting exports of many dashboards asked one query per key (67 ms p50 for
    My exports, PENDING, at 100,000 exports)."""
    runs: dict[tuple[int, str], list[float]] = {key: [] for key in keys}
    if len(runs) > 1 and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            ids, formats = [k[0] for k in runs], [k[1] for k in runs]
            cursor.execute(_LATEST_RUNS_SQL, [ids, formats, S.COMPLETED, settings.EXPORT_ESTIMATE_SAMPLES])
            rows = cursor.fetchall()
    else:
        rows = [(*key, [seconds for *_, seconds in _latest_runs(*key)]) for key in runs]
    for dashboard_id, formats, seconds in rows:
        runs[(dashboard_id, formats)] = seconds
    default = Estimate(settings.EXPORT_ESTIMATE_DEFAULT_SECONDS, 0)
    return {key: Estimate(upper_quartile(values), len(values)) if values else default for key, values in runs.items()}


class _Durations(dict):
    """Estimates of one page or one queue walk: `need` fetches those of many exports in one query."""

    def need(self, exports: Iterable[Export | _Walked]) -> None:
        missing = {(e.dashboard_id, e.formats) for e in exports} - self.keys()
        self.update((key, estimate.seconds) for key, estimate in durations(missing).items())

    def of(self, export: Export | _Walked) -> float:
        key = (export.dashboard_id, export.formats)
        if key not in self:
            self.need([export])
        return self[key]


def finish_at(
    export: Export | _Walked, durations: _Durations | None = None, now: datetime | None = None
) -> datetime | None:
    """When an export holding a running slot should end; None for the others."""
    if export.status not in Export.IN_FLIGHT:
        return None
    seconds = (durations if durations is not None else _Durations()).of(export)
    return (export.submitted_at or now or timezone.now()) + timedelta(seconds=seconds)


class Turn(NamedTuple):
    position: int  # 1: the next export of its account to start
    start: datetime  # when it should get a running slot


class _Walked(NamedTuple):
    """What the queue walk reads of an export: tuples, not models (74 models cost the bench's
    PENDING page about 1 ms, BENCHMARKS.md "List pages", 2026-12-05, second session)."""

    pk: Any
    dashboard_id: int
    formats: str
    status: str
    submitted_at: datetime | None


def queue_turns(account_id: str, durations: _Durations, now: datetime) -> dict[Any, Turn]:
    """Each waiting export's place in its account's queue and when it should get a running slot
    (pk -> Turn), for the first MAX_AHEAD of them: the slots free up as the running exports end,
    and each waiting export in turn takes the first free one for its own expected run. Two queries
    (the walk, the durations); the share of slots scheduled exports may hold is left out (a guess,
    not a promise)."""
    limit = settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT
    waiting = ExpressionWrapper(Q(status=S.PENDING), output_field=BooleanField())
    walk = (
        Export.objects.filter(aws_account_id=account_id, status__in=Export.IN_FLIGHT | {S.PENDING})
        .order_by(waiting, *queue.ORDER)  # the running ones first, then the queue in its order
        .values_list(*_Walked._fields)[: MAX_AHEAD + limit]
    )
    rows = [_Walked(*row) for row in walk]
    durations.need(rows)
    slots = [max(now, finish_at(export, durations, now)) for export in rows if export.status != S.PENDING]
    slots += [now] * max(0, limit - len(slots))
    heapq.heapify(slots)
    turns = {}
    for export in rows:
        if export.status == S.PENDING:
            free = heapq.heappop(slots)
            turns[export.pk] = Turn(len(turns) + 1, free)
            heapq.heappush(slots, free + timedelta(seconds=durations.of(export)))
    return turns


def left_in_words(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h".replace(".0 h", " h")


def attach(exports: list[Export], now: datetime | None = None) -> list[Export]:
    """Set estimated_finish_at, estimated_start_at and estimate_text on each export, as pages and the
    API show them: "about 40 s left" / "taking longer than usual" / "starts in about 2 min"; and the
    queue_position of waiting exports the queue walk reached (None for the others)."""
    now = now or timezone.now()
    durations = _Durations()
    durations.need(e for e in exports if e.status in Export.IN_FLIGHT)
    turns: dict[str, dict] = {}
    for export in exports:
        export.estimated_finish_at = finish_at(export, durations, now)
        export.estimated_start_at = export.queue_position = None
        if export.status == S.PENDING:
            if export.aws_account_id not in turns:
                turns[export.aws_account_id] = queue_turns(export.aws_account_id, durations, now)
            turn = turns[export.aws_account_id].get(export.pk)
            if turn is not None:
                export.queue_position, export.estimated_start_at = turn
        export.estimate_text = _text(export, now)
    return exports


def _text(export: Any, now: datetime) -> str:
    if export.estimated_finish_at is not None:
        left = (export.estimated_finish_at - now).total_seconds()
        return f"{left_in_words(left)} left" if left > 0 else "taking longer than usual"
    if export.estimated_start_at is not None:
        wait = (export.estimated_start_at - now).total_seconds()
        return f"starts in {left_in_words(wait)}" if wait > 0 else "starts as soon as a slot frees"
    return ""
