"""Duration-aware polling (issue #14): a burst of CSV exports whose jobs run 20 s, through real Celery
workers on Redis and quicksight_local over HTTP, polled around the expected end vs 2, 4, 8, 16, 30 s.

    .venv/bin/python -m bench.polling [--exports 24] [--job-seconds 20] [--redis redis://127.0.0.1:6379/3]

Both schedules run in this one process on the same quicksight_local (QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS
1 s + _MIN_RUNNING_SECONDS 19 s: each job runs 20 s), each with a worker of its own
(EXPORT_POLL_SCHEDULE=doubling, then estimate). The baseline goes first, so the estimating run learns
from the 24 runs it leaves (the same dashboard and formats), as a portal in use would. Per run:
  - QuickSight calls per export (Start, Describes, Results, as quicksight_local answered them: a Result
    refused because the job has not ended counts too);
  - lag from the job's end in QuickSight to the export's COMPLETED in the portal, p50 and p95;
  - the burst's total (first submit to last COMPLETED) vs the ideal: waves of 12 back to back,
    each as long as QuickSight's median run;
  - the most calls QuickSight answered in any one second (the quota module keeps it at 10);
  - a freed slot to the next Start: from an export's COMPLETED to the Start of a waiting one.
Quick mode: 8 exports of 2 s jobs (one wave, so no wave boundary). Flushes the Redis db given.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import Row, setup_scratch_django

SCHEDULES = {"doubling": "polls at 2, 4, 8, 16, 30 s", "estimate": "polls around the expected end"}


@dataclass
class Burst:
    calls_per_export: float
    lag_p50: float
    lag_p95: float
    total: float
    ideal: float
    max_calls_per_second: int
    throttled: int
    slot_to_start: float | None
    lags: list[float]
    timeline: str


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _burst(n: int, users, state, dashboard) -> Burst:
    from django.conf import settings
    from django.db import transaction

    from exports import jobs
    from exports.models import Export
    from tests.jobs_support import make_export

    state.reset()
    began = time.time()
    ids = []
    for i in range(n):
        with transaction.atomic():
            export = make_export(users[i % 2], ["CSV_SMALL"])
            jobs.export_enqueue(export)
        ids.append(export.pk)
    deadline = time.monotonic() + 240
    while Export.objects.filter(pk__in=ids, status__in=Export.TERMINAL).count() < n:
        if time.monotonic() > deadline:
            raise SystemExit("exports did not finish in 4 minutes")
        time.sleep(0.05)
    rows = list(Export.objects.filter(pk__in=ids))
    bad = [row.status for row in rows if row.status != Export.Status.COMPLETED]
    if bad:
        raise SystemExit(f"not all completed: {bad} ({rows[0].error_message})")
    quicksight_jobs = [state.get_job(row.aws_account_id, dashboard, row.snapshot_job_id) for row in rows]
    lags = [row.finished_at.timestamp() - job.ended_at for row, job in zip(rows, quicksight_jobs, strict=True)]
    run = statistics.median(job.ended_at - job.created_at for job in quicksight_jobs)
    waves = math.ceil(n / settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT)
    # Starts of the later waves: each waits for a slot; how long after the slot freed did it go?
    completed = sorted(row.finished_at.timestamp() for row in rows)
    starts = sorted(c.at for c in state.calls.all("StartDashboardSnapshotJob", outcome="ok"))
    gaps = [start - max(t for t in completed if t <= start) for start in starts if completed[0] <= start]
    limit = settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT
    ends = sorted(job.ended_at for job in quicksight_jobs)
    marks = {
        "first Start": starts[0],
        f"Start {min(n, limit)}": starts[min(n, limit) - 1],
        "first end": ends[0],
        f"Start {n}": starts[-1],
        "last end": ends[-1],
        "last COMPLETED": completed[-1],
    }
    timeline = ", ".join(f"{name} {at - began:.1f}" for name, at in marks.items())
    return Burst(
        calls_per_export=len(state.calls) / n,
        lag_p50=percentile(lags, 0.5),
        lag_p95=percentile(lags, 0.95),
        total=max(row.finished_at.timestamp() for row in rows) - began,
        ideal=waves * run,
        max_calls_per_second=state.calls.max_in_window(1.0, outcome=None),
        throttled=state.calls.count(outcome="ThrottlingException"),
        slot_to_start=statistics.median(gaps) if gaps else None,
        timeline=timeline,
        lags=[lag for _, lag in sorted(zip([j.created_at for j in quicksight_jobs], lags, strict=True))],
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exports", type=int, default=24)
    parser.add_argument("--job-seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--only", choices=list(SCHEDULES), help="one schedule (the estimate learns nothing)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(_parser().parse_args(["--exports", "8", "--job-seconds", "2"] if quick else []))


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS"] = "1"
        os.environ["QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS"] = str(args.job_seconds - 1)
        setup_scratch_django(tmp)
        import redis
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from exports import aws
        from exports.management.commands.seed_demo import seed_mappings, seed_users
        from exports.models import Export
        from portal.celery import app
        from quicksight_local.server import serve_in_thread
        from tests.jobs_support import sales_dashboard
        from tests.services import celery_worker

        redis.Redis.from_url(args.redis).flushdb()
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        seed_users()
        seed_mappings()
        users = list(get_user_model().objects.filter(username__in=["alice", "bob"]).order_by("username"))
        Export.objects.filter(dashboard=sales_dashboard()).delete()  # a scratch database: no earlier history
        app.conf.broker_url = args.redis
        settings.REDIS_URL = args.redis
        bursts: dict[str, Burst] = {}
        with serve_in_thread() as (url, state):
            settings.QUICKSIGHT_ENDPOINT_URL = url
            aws.reset_clients()
            for schedule in [args.only] if args.only else SCHEDULES:
                env = {"QUICKSIGHT_ENDPOINT_URL": url, "EXPORT_POLL_SCHEDULE": schedule}
                log = Path(tmp) / f"worker-{schedule}.log"
                print(f"{time.monotonic() - began:.1f}s: starting the worker ({schedule})", flush=True)
                with celery_worker(args.redis, log_path=log, concurrency=args.concurrency, extra_env=env):
                    print(f"{time.monotonic() - began:.1f}s: burst", flush=True)
                    bursts[schedule] = _burst(args.exports, users, state, "sales-overview")
                    print(f"{time.monotonic() - began:.1f}s: burst done", flush=True)
        redis.Redis.from_url(args.redis).flushdb()

    n, seconds = args.exports, f"{args.job_seconds:g}"
    print(f"{n} CSV exports at once, jobs of {seconds} s in quicksight_local, {time.monotonic() - began:.0f} s in all")
    print(f"{'':32} {'calls/export':>12} {'lag p50':>8} {'lag p95':>8} {'total':>7} {'ideal':>7} {'max/s':>6}")
    for schedule, b in bursts.items():
        print(
            f"{SCHEDULES[schedule]:32} {b.calls_per_export:12.2f} {b.lag_p50:7.2f}s {b.lag_p95:7.2f}s "
            f"{b.total:6.1f}s {b.ideal:6.1f}s {b.max_calls_per_second:6d}"
            + (f"  ({b.throttled} throttled)" if b.throttled else "")
        )
        print(f"{'':32} seconds after the first submit: {b.timeline}")
        print(f"{'':32} lags in the order of the Starts: {' '.join(f'{lag:.1f}' for lag in b.lags)}")
    if len(bursts) < 2:
        return []
    new, old = bursts["estimate"], bursts["doubling"]
    base, name = SCHEDULES["doubling"], f"{n} CSV exports, {seconds} s jobs"
    note = "1 run; learned from the baseline's runs"
    ideal = f"{math.ceil(n / 12)} wave(s) of QuickSight's median run"
    return [
        Row(f"{name}: QuickSight calls per export", new.calls_per_export, "calls", old.calls_per_export, base, note),
        Row(f"{name}: QuickSight end -> COMPLETED p50", new.lag_p50, "s", old.lag_p50, base, note),
        Row(f"{name}: QuickSight end -> COMPLETED p95", new.lag_p95, "s", old.lag_p95, base, note),
        Row(f"{name}: all done", new.total, "s", new.ideal, ideal, note),
        Row(f"{name}: all done, {base}", old.total, "s", old.ideal, ideal, "1 run"),
        Row(f"{name}: most calls in any second", new.max_calls_per_second, "calls", 10, "QuickSight's quota", note),
        Row(f"{name}: freed slot -> next Start p50", new.slot_to_start, "s", old.slot_to_start, base, note),
    ]


if __name__ == "__main__":
    main()
