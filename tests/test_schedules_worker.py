"""A schedule end to end: the tick, a real Celery worker and Redis, quicksight_local over HTTP, real CSV files."""

from __future__ import annotations

import csv
import io
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from exports import recurrence, schedules
from exports.models import Export, Grant, ScheduleRun
from exports.sync import sync_dashboards
from portal.celery import app
from tests.services import celery_worker, use_broker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_WORKER = {
    "EXPORT_POLL_FIRST_SECONDS": "0.2",
    "EXPORT_POLL_MAX_SECONDS": "1",
    "EXPORT_RECONCILE_GRACE_SECONDS": "0",
}
SPEC = {"dashboard": "sales-overview", "files": [{"format": "CSV", "visual": "revenue-by-region"}]}
MONDAY_7_PARIS = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def wait_until(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def csv_rows(export: Export) -> list[dict]:
    (export_file,) = export.files.all()
    with urllib.request.urlopen(export_file.s3_uri, timeout=10) as response:
        return list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))


def test_alices_weekly_schedule_with_bob_makes_two_exports_each_with_only_its_own_rows(
    qs_local, redis_url, tmp_path, demo_users
):
    alice, bob = demo_users["alice"], demo_users["bob"]
    assert sync_dashboards(account_id=qs_local.account_id, region="us-east-1").ok
    dashboard = qs_local_dashboard()
    Grant.objects.create(dashboard=dashboard, group=Group.objects.get(name="Analysts"))
    schedule = schedules.schedule_create(
        owner=alice,
        spec=SPEC,
        rec=recurrence.parse_every("weekly mon 07:00 Europe/Paris", default_timezone="UTC"),
        recipient_users=[bob],
        now=datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    log = tmp_path / "worker.log"
    use_broker(redis_url)
    try:
        extra = {"QUICKSIGHT_ENDPOINT_URL": qs_local.url, **FAST_WORKER}
        with celery_worker(redis_url, log_path=log, concurrency=2, extra_env=extra):
            (report,) = schedules.run_due(MONDAY_7_PARIS + timedelta(seconds=2))  # what beat's tick runs
            assert schedules.run_due(MONDAY_7_PARIS + timedelta(seconds=40)) == []  # the next tick
            made = Export.objects.filter(schedule_run=report.run)
            wait_until(lambda: all(e.status in Export.TERMINAL for e in made.all()), "both exports to end")
            run = ScheduleRun.objects.get(pk=report.run.pk)
            wait_until(lambda: run_status(run) == ScheduleRun.Status.SUCCEEDED, "the run to end")
            # Beat's own tick through the worker, at the real time: that occurrence is done, nothing more.
            app.send_task("exports.tasks.run_due_schedules")
            wait_until(lambda: ticked(log), "the tick to finish")
    finally:
        use_broker(None)

    by_user = {e.user.username: e for e in Export.objects.filter(schedule_run=report.run).select_related("user")}
    assert sorted(by_user) == ["alice", "bob"]
    assert all(e.status == Export.Status.COMPLETED and e.is_scheduled for e in by_user.values())
    assert [row["Region"] for row in csv_rows(by_user["alice"])] == ["EMEA"]
    assert [row["Region"] for row in csv_rows(by_user["bob"])] == ["AMER"]
    # One QuickSight job per recipient, each with its own anonymous user.
    assert qs_local.calls.count("StartDashboardSnapshotJob", outcome="ok") == 2
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    # Each recipient's mail (the worker's console backend) names their own run, once.
    text = log.read_text()
    assert text.count("Subject: Sales overview: your scheduled export of Monday 30 November 2026,\n 07:00") == 2
    assert text.count("To: bob@example.com") == 1 and text.count("To: alice@example.com") == 1


def qs_local_dashboard():
    from exports.models import Dashboard

    return Dashboard.objects.get(dashboard_id="sales-overview")


def run_status(run: ScheduleRun) -> str:
    return ScheduleRun.objects.values_list("status", flat=True).get(pk=run.pk)


def ticked(log) -> bool:
    return any(
        "exports.tasks.run_due_schedules[" in line and "succeeded" in line for line in log.read_text().splitlines()
    )
