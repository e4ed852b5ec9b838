"""Export latency through the job lifecycle (a real worker, Redis, quicksight_local over HTTP).

    .venv/bin/python -m bench.jobs_throughput [--exports 12] [--runs 3] [--redis redis://127.0.0.1:6379/13]

For N CSV exports submitted at once it prints the median time from submit (commit) to COMPLETED
(the row's finished_at), and the wall time for all N, for:
  - baseline: the same N jobs started straight on quicksight_local with boto3 and awaited
    inside the service (no portal, no polling): what QuickSight itself takes;
  - portal: through export_enqueue -> submit_export -> poll_export, with the production polling
    (2 s doubling to 30 s) and with fast polling (0.5 s doubling to 5 s).
The difference is the price of polling: the lifecycle learns of a finished job at its next poll.
quicksight_local keeps each job QUEUED 1 s and RUNNING 1 s (its defaults). Flushes the Redis db given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench import Row, runs_note, scratch_sqlite

BASELINE = "baseline (QuickSight alone)"


def _setup(tmp: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.pop("DATABASE_URL", None)
    os.environ["SQLITE_PATH"] = scratch_sqlite(tmp)
    os.environ["VAR_DIR"] = tmp
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _baseline(n: int, state) -> tuple[list[float], float]:
    """Start N jobs straight on the service (spaced to its 10 calls/s) and wait for each inside it."""
    from exports import aws
    from tests.jobs_support import make_request

    client = aws.quicksight_client()
    began = time.time()
    started = []
    for _ in range(n):
        request = make_request(uuid.uuid4(), ["CSV_SMALL"])
        sent = time.time()
        client.start_dashboard_snapshot_job(**request)
        started.append((sent, state.get_job(request["AwsAccountId"], request["DashboardId"], request["SnapshotJobId"])))
        time.sleep(0.11)
    latencies = []
    for sent, job in started:
        state.wait_for(job, timeout=60)
        latencies.append(job.ended_at - sent)
    return latencies, max(job.ended_at for _, job in started) - began


def _portal(n: int, users) -> tuple[list[float], float]:
    from django.db import transaction

    from exports import jobs
    from exports.models import Export
    from tests.jobs_support import make_export

    Export.objects.all().delete()
    began = time.time()
    ids = []
    for i in range(n):
        with transaction.atomic():
            export = make_export(users[i % 2], ["CSV_SMALL"])
            jobs.export_enqueue(export)
        ids.append(export.pk)
    deadline = time.monotonic() + 300
    while Export.objects.filter(pk__in=ids, status__in=Export.TERMINAL).count() < n:
        if time.monotonic() > deadline:
            raise SystemExit("exports did not finish in 5 minutes")
        time.sleep(0.05)
    rows = list(Export.objects.filter(pk__in=ids))
    bad = [row.status for row in rows if row.status != Export.Status.COMPLETED]
    if bad:
        raise SystemExit(f"not all completed: {bad}")
    return [(row.finished_at - row.created_at).total_seconds() for row in rows], max(
        row.finished_at.timestamp() for row in rows
    ) - began


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exports", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--production-polling-only", action="store_true", help="skip the fast-polling variant")
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(
        _parser().parse_args(["--runs", "1", "--exports", "6", "--production-polling-only"] if quick else [])
    )


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:

    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        import redis
        from django.conf import settings

        from exports import aws
        from exports.management.commands.seed_demo import seed_mappings, seed_users
        from portal.celery import app
        from quicksight_local.server import serve_in_thread
        from tests.services import celery_worker

        redis.Redis.from_url(args.redis).flushdb()
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        seed_users()
        seed_mappings()  # the RLS tags their exports need (seed_users no longer gives them)
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(username__in=["alice", "bob"]).order_by("username"))
        app.conf.broker_url = args.redis
        settings.REDIS_URL = args.redis
        results: dict[str, list[tuple[float, float]]] = {}
        with serve_in_thread() as (url, state):
            settings.QUICKSIGHT_ENDPOINT_URL = url
            aws.reset_clients()
            for _ in range(args.runs):
                state.reset()
                results.setdefault(BASELINE, []).append(_baseline(args.exports, state))
            variants = [("portal, polls 2 s -> 30 s", "2", "30"), ("portal, polls 0.5 s -> 5 s", "0.5", "5")]
            for label, first, cap in variants[:1] if args.production_polling_only else variants:
                env = {
                    "QUICKSIGHT_ENDPOINT_URL": url,
                    "EXPORT_POLL_FIRST_SECONDS": first,
                    "EXPORT_POLL_MAX_SECONDS": cap,
                    # The doubling schedules its labels name; bench.polling measures the estimating one.
                    "EXPORT_POLL_SCHEDULE": "doubling",
                }
                with celery_worker(args.redis, log_path=Path(tmp) / "worker.log", concurrency=2, extra_env=env):
                    for _ in range(args.runs):
                        state.reset()
                        results.setdefault(label, []).append(_portal(args.exports, users))
        redis.Redis.from_url(args.redis).flushdb()

    print(f"{args.exports} CSV exports at once, {args.runs} runs, medians (quicksight_local: 1 s QUEUED + 1 s RUNNING)")
    print(f"{'':32} {'submit -> COMPLETED':>20} {'all N done':>11}")
    figures = {}
    for label, runs in results.items():
        latency = statistics.median(statistics.median(lat) for lat, _ in runs)
        wall = statistics.median(w for _, w in runs)
        figures[label] = latency, wall
        print(f"{label:32} {latency:19.2f}s {wall:10.2f}s")
    (base_latency, base_wall), note = figures.pop(BASELINE), runs_note(args.runs)
    rows = []
    for label, (latency, wall) in figures.items():
        name = f"{args.exports} CSV exports at once, {label}"
        rows.append(Row(f"{name}: submit -> COMPLETED", latency, "s", base_latency, "QuickSight alone", note))
        rows.append(Row(f"{name}: all done", wall, "s", base_wall, "QuickSight alone", note))
    return rows


if __name__ == "__main__":
    main()
