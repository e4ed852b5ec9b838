"""Is the shared QuickSight quota fair? bob's exports alone, then beside alice's download loop.

    .venv/bin/python -m bench.quota_fairness [--runs 3] [--exports 5] [--loops 6] [--clicks 60]
                                             [--redis redis://127.0.0.1:6379/13]

A real worker (production polling: 2 s doubling to 30 s), Redis (broker and quota) and
quicksight_local (1 s QUEUED + 1 s RUNNING, its defaults). Per run: bob submits N small CSV exports
and we time submit -> last COMPLETED, once alone and once while alice clicks Download in LOOPS
threads of CLICKS clicks each (the download service itself, every click asking QuickSight for a
fresh link through the quota; the per-minute click limit is lifted so only the quota is measured).
Prints both medians, their ratio, and the rate at which alice's clicks got links.
Flushes the Redis db given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench import Row, runs_note
from bench.jobs_throughput import _setup


def _bobs_exports(bob, n: int) -> float:
    from django.db import transaction

    from exports import jobs
    from exports.models import Export
    from tests.jobs_support import make_export

    began = time.monotonic()
    ids = []
    for _ in range(n):
        with transaction.atomic():
            export = make_export(bob, ["CSV_SMALL"])
            jobs.export_enqueue(export)
        ids.append(export.pk)
    deadline = time.monotonic() + 600
    while Export.objects.filter(pk__in=ids, status__in=Export.TERMINAL).count() < n:
        if time.monotonic() > deadline:
            raise SystemExit("bob's exports did not finish in 10 minutes")
        time.sleep(0.05)
    elapsed = time.monotonic() - began
    if Export.objects.filter(pk__in=ids).exclude(status=Export.Status.COMPLETED).exists():
        raise SystemExit("not all of bob's exports completed")
    return elapsed


def _alices_file(alice, url: str, state):
    """A finished export of alice's whose stored link has lapsed: every click asks QuickSight."""
    from exports import aws
    from exports.models import Export, ExportFile
    from tests.history_factory import make_export
    from tests.jobs_support import sales_dashboard

    export = make_export(alice, sales_dashboard(), formats=("CSV",))
    request = export.request
    request["SnapshotConfiguration"].pop("Parameters", None)
    request["SnapshotConfiguration"]["FileGroups"][0]["Files"][0]["SheetSelections"] = [
        {"SheetId": "catalog", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["product-list"]}
    ]
    request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] = [{"Key": "region", "Value": "*"}]
    aws.quicksight_client().start_dashboard_snapshot_job(**request)
    state.wait_for(state.get_job(export.aws_account_id, "sales-overview", export.snapshot_job_id), timeout=60)
    Export.objects.filter(pk=export.pk).update(request=request)
    return ExportFile.objects.create(export=export, index=0, format="CSV", s3_uri=f"{url}/files/lapsed")


def _click_loop(export_file, alice, loops: int, clicks: int, stop: threading.Event, links: list[float]) -> list:
    from django.db import connection

    from exports.downloads import DownloadUnavailable, export_file_download

    def loop() -> None:
        try:
            for _ in range(clicks):
                if stop.is_set():
                    return
                try:
                    export_file_download(export_file=export_file, user=alice, ip_address=None)
                except DownloadUnavailable:
                    continue
                links.append(time.monotonic())
        finally:
            connection.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(loops)]
    for thread in threads:
        thread.start()
    return threads


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--exports", type=int, default=5)
    parser.add_argument("--loops", type=int, default=6)
    parser.add_argument("--clicks", type=int, default=60)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(
        _parser().parse_args(["--runs", "1", "--exports", "3", "--loops", "3", "--clicks", "10"] if quick else [])
    )


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:

    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        import redis
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from exports import aws
        from exports.management.commands.seed_demo import seed_mappings, seed_users
        from portal.celery import app
        from quicksight_local.server import serve_in_thread
        from tests.services import celery_worker

        redis.Redis.from_url(args.redis).flushdb()
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        settings.DOWNLOADS_PER_MINUTE = 10**6  # measure the quota's fairness, not the click limit
        seed_users()
        seed_mappings()  # the RLS tags their exports need (seed_users no longer gives them)
        alice, bob = (get_user_model().objects.get(username=name) for name in ("alice", "bob"))
        app.conf.broker_url = args.redis
        settings.REDIS_URL = args.redis
        alone, beside, rates = [], [], []
        with serve_in_thread() as (url, state):
            settings.QUICKSIGHT_ENDPOINT_URL = url
            aws.reset_clients()
            export_file = _alices_file(alice, url, state)
            env = {"QUICKSIGHT_ENDPOINT_URL": url}
            with celery_worker(args.redis, log_path=Path(tmp) / "worker.log", concurrency=2, extra_env=env):
                _bobs_exports(bob, 1)  # warm-up
                for _ in range(args.runs):
                    alone.append(_bobs_exports(bob, args.exports))
                    stop, links = threading.Event(), []
                    began = time.monotonic()
                    threads = _click_loop(export_file, alice, args.loops, args.clicks, stop, links)
                    beside.append(_bobs_exports(bob, args.exports))
                    stop.set()
                    for thread in threads:
                        thread.join(timeout=60)
                    rates.append(len(links) / (time.monotonic() - began))
        redis.Redis.from_url(args.redis).flushdb()

    a, b = statistics.median(alone), statistics.median(beside)
    print(f"bob's {args.exports} CSV exports, submit -> last COMPLETED, medians of {args.runs} runs")
    print(f"  alone:                                   {a:6.2f}s")
    print(f"  beside alice's {args.loops} x {args.clicks} download clicks:  {b:6.2f}s")
    print(f"  ratio:                                   {b / a:6.2f}")
    print(
        f"  alice's clicks got fresh links at {statistics.median(rates):.2f}/s "
        f"(her budget: QUICKSIGHT_USER_CALLS_PER_SECOND={settings.QUICKSIGHT_USER_CALLS_PER_SECOND:g})"
    )
    return [
        Row(
            f"bob's {args.exports} exports beside alice's {args.loops}x{args.clicks} download clicks",
            b,
            "s",
            a,
            "bob's exports alone",
            runs_note(args.runs),
        ),
        Row(
            "alice's download clicks served (quota share)",
            statistics.median(rates),
            "links/s",
            settings.QUICKSIGHT_USER_CALLS_PER_SECOND,
            "QUICKSIGHT_USER_CALLS_PER_SECOND",
            runs_note(args.runs),
        ),
    ]


if __name__ == "__main__":
    main()
