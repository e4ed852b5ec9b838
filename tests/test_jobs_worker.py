"""Exports through a real Celery worker process and real Redis, against quicksight_local over HTTP.

The worker polls fast here (0.2 s doubling to 1 s) so that each test takes seconds; everything
else (quotas, retries, the reconciler, the queue) runs as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis as redis_lib
from django.db import transaction
from django.utils import timezone

from exports import jobs
from exports.models import Export, Grant
from portal.celery import app
from tests.jobs_support import actions, make_export
from tests.services import celery_worker, free_port, port_open, skip_or_fail, use_broker

S = Export.Status
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_WORKER = {
    "EXPORT_POLL_FIRST_SECONDS": "0.2",
    "EXPORT_POLL_MAX_SECONDS": "1",
    "EXPORT_STEP_LEASE_SECONDS": "5",
    "EXPORT_RECONCILE_GRACE_SECONDS": "0",
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Portal:
    qs: object
    broker_url: str
    worker: Callable

    def start_count(self, outcome: str | None = "ok") -> int:
        return self.qs.calls.count("StartDashboardSnapshotJob", outcome=outcome)


@pytest.fixture
def portal(qs_local, redis_url, tmp_path):
    """A worker factory sharing the test database, Redis (broker and quota) and quicksight_local."""
    logs = iter(range(100))

    def worker(broker_url: str = redis_url, concurrency: int = 2, **env: str):
        extra = {"QUICKSIGHT_ENDPOINT_URL": qs_local.url, **FAST_WORKER, **env}
        return celery_worker(
            broker_url, log_path=tmp_path / f"worker-{next(logs)}.log", concurrency=concurrency, extra_env=extra
        )

    use_broker(redis_url)
    try:
        yield Portal(qs_local, redis_url, worker)
    finally:
        use_broker(None)


def submit(user, formats=("CSV",)) -> Export:
    """As the form does: the row and its audit event commit, then the worker is woken."""
    with transaction.atomic():
        export = make_export(user, formats)
        jobs.export_enqueue(export)
    return export


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def status(export: Export) -> str:
    return Export.objects.values_list("status", flat=True).get(pk=export.pk)


def wait_terminal(export: Export, timeout: float = 30) -> Export:
    wait_until(lambda: status(export) in Export.TERMINAL, f"export {export.pk} to end", timeout)
    return Export.objects.get(pk=export.pk)


def counting_down(export: Export) -> bool:
    """Between two polls: QuickSight has the job and the next poll is only a countdown away."""
    row = Export.objects.get(pk=export.pk)
    return row.status in (S.QUEUED, S.RUNNING) and row.next_action_at is not None and row.attempts >= 2


def reconcile_until_terminal(export: Export, timeout: float = 30) -> Export:
    """What beat does every 30 s, every second here, until the export ends."""
    deadline = time.monotonic() + timeout
    while status(export) not in Export.TERMINAL:
        if time.monotonic() > deadline:
            row = Export.objects.values("status", "attempts", "next_action_at", "aws_job_status").get(pk=export.pk)
            raise AssertionError(f"export still not done after reconciling for {timeout}s: {row}")
        app.send_task("exports.tasks.reconcile_exports")
        time.sleep(1)
    return Export.objects.get(pk=export.pk)


def kill(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# --- each format, end to end ---


def test_each_format_ends_completed_with_a_file_that_downloads(portal, alice):
    with portal.worker():
        exports = {fmt: submit(alice, [fmt]) for fmt in ("PDF", "EXCEL", "CSV")}
        done = {fmt: wait_terminal(export, timeout=60) for fmt, export in exports.items()}

    for fmt, export in done.items():
        assert export.status == S.COMPLETED, (fmt, export.error_message)
        (export_file,) = export.files.all()
        assert export_file.format == fmt and export_file.error_code == ""
        with urllib.request.urlopen(export_file.s3_uri, timeout=10) as response:
            head = response.read(64)
        assert head.startswith({"PDF": b"%PDF", "EXCEL": b"PK", "CSV": b"Country,"}[fmt]), head
        steps = actions(export)
        assert steps[:2] == ["export.submitting", "export.started"] and steps[-1] == "export.completed"
        assert steps.count("export.completed") == 1
    assert portal.start_count() == 3


def test_files_answered_in_another_order_each_download_as_their_own_format(portal, alice):
    portal.qs.faults.reverse_result_groups = True
    with portal.worker():
        export = wait_terminal(submit(alice, ["PDF", "EXCEL", "CSV"]), timeout=60)

    assert export.status == S.COMPLETED, export.error_message
    files = list(export.files.order_by("index", "part"))
    assert [f.format for f in files] == ["PDF", "EXCEL", "CSV"]
    for export_file in files:
        with urllib.request.urlopen(export_file.s3_uri, timeout=10) as response:
            head = response.read(64)
        assert head.startswith({"PDF": b"%PDF", "EXCEL": b"PK", "CSV": b"Country,"}[export_file.format]), head


# --- QuickSight pushing back ---


def test_start_throttled_twice_then_accepted_makes_one_job(portal, alice):
    portal.qs.faults.throttle_next_starts = 2
    with portal.worker():
        export = wait_terminal(submit(alice))

    assert export.status == S.COMPLETED
    assert portal.start_count("ThrottlingException") == 2
    assert portal.start_count() == 1
    assert len(portal.qs.state.jobs) == 1


def test_a_job_not_found_just_after_start_is_polled_again_and_completes(portal, alice):
    portal.qs.faults.not_found_next_describes = 2
    with portal.worker():
        export = wait_terminal(submit(alice))

    assert export.status == S.COMPLETED and export.error_code == ""
    assert portal.qs.calls.count("DescribeDashboardSnapshotJob", "ResourceNotFoundException") == 2
    assert export.not_found_polls == 2 and portal.start_count() == 1


def test_limit_exceeded_for_a_while_waits_and_completes(portal, alice):
    portal.qs.faults.limit_exceeded_next_starts = 4
    with portal.worker():
        export = wait_terminal(submit(alice), timeout=60)

    assert export.status == S.COMPLETED and export.error_code == ""
    assert portal.start_count("LimitExceededException") == 4
    assert portal.start_count() == 1


def test_failed_job_and_failed_file_give_clear_messages(portal, alice):
    portal.qs.faults.job_failure = {"ErrorType": "DATASET_TIMEOUT", "ErrorMessage": "The dataset query timed out."}
    with portal.worker():
        failed = wait_terminal(submit(alice))
        portal.qs.faults.job_failure = None
        portal.qs.faults.file_failure = {"ErrorType": "VISUAL_TOO_LARGE", "ErrorMessage": "The visual is too large."}
        portal.qs.faults.file_failure_index = 1
        partial = wait_terminal(submit(alice, ["PDF", "CSV"]), timeout=60)

    assert failed.status == S.FAILED and failed.error_code == "DATASET_TIMEOUT"
    assert failed.error_message == "QuickSight could not produce this export: The dataset query timed out."
    assert partial.status == S.COMPLETED_WITH_ERRORS and partial.error_code == jobs.PARTIAL_SUCCESS
    assert partial.error_message == "1 of 2 files could not be produced; the others are ready."
    pdf, csv = partial.files.order_by("index")
    assert pdf.is_ready and not csv.is_ready
    assert csv.error_message == "QuickSight could not produce this CSV file: The visual is too large."


def test_past_its_deadline_an_export_times_out(portal, alice):
    portal.qs.faults.hold_jobs = True  # QuickSight keeps the job QUEUED
    with portal.worker(EXPORT_DEADLINE_SECONDS="2"):
        export = wait_terminal(submit(alice), timeout=20)

    assert export.status == S.TIMED_OUT
    assert export.error_message.startswith("QuickSight did not finish this export within 2 seconds.")
    assert actions(export)[-1] == "export.timed_out"


def test_revoked_grant_cancels_before_start(portal, alice):
    export = make_export(alice)
    Grant.objects.filter(dashboard=export.dashboard).delete()
    with portal.worker():
        jobs.export_enqueue(export)  # autocommit: sent at once
        export = wait_terminal(export)

    assert export.status == S.CANCELLED
    assert export.error_message == "Your access to Sales overview was withdrawn before the export started."
    assert portal.start_count(outcome=None) == 0


# --- workers and Redis failing ---


def test_a_rolled_back_transaction_enqueues_nothing(portal, alice):
    queue = redis_lib.Redis.from_url(portal.broker_url)
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.export_enqueue(make_export(alice))
        raise RuntimeError("the request failed after the export row was written")

    assert queue.llen("celery") == 0 and not Export.objects.exists()
    submit(alice)
    assert queue.llen("celery") == 1


def test_worker_killed_while_polling_completes_exactly_once_after_restart(portal, alice):
    portal.qs.faults.min_running_seconds = 3
    with portal.worker() as first:
        export = submit(alice)
        wait_until(lambda: counting_down(export), "the export to be between two polls")
        kill(first)  # its countdown message dies with it (unacked in Redis for an hour)

    with portal.worker():
        export = reconcile_until_terminal(export)

    assert export.status == S.COMPLETED
    assert actions(export).count("export.completed") == 1
    assert export.files.count() == 1
    assert portal.start_count() == 1


class OwnRedis:
    """A throwaway redis-server without persistence: stopping it loses every message."""

    def __init__(self, port: int):
        if not shutil.which("redis-server"):
            skip_or_fail("redis-server is not installed")
        self.port, self.url, self.proc = port, f"redis://127.0.0.1:{port}/0", None

    def start(self) -> OwnRedis:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open("127.0.0.1", self.port), "redis-server to listen", timeout=10)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def test_redis_restarted_while_a_poll_counts_down_the_reconciler_recovers_it(portal, alice):
    portal.qs.faults.min_running_seconds = 2
    redis_server = OwnRedis(free_port()).start()
    use_broker(redis_server.url)
    try:
        with portal.worker(redis_server.url, EXPORT_POLL_FIRST_SECONDS="1.5", EXPORT_POLL_MAX_SECONDS="1.5") as first:
            export = submit(alice)
            wait_until(lambda: counting_down(export), "the export to be between two polls")
            redis_server.stop()  # no persistence: every message, the countdown's included, is gone
            redis_server.start()
            # Celery 5.7 / kombu 5.7 workers stop consuming after some broker restarts (seen here):
            # the deployment's supervisor replaces such a worker, as this kill and restart do.
            kill(first)
        with portal.worker(redis_server.url):
            portal.qs.wait("sales-overview", export.snapshot_job_id)
            due = Export.objects.get(pk=export.pk).next_action_at
            wait_until(lambda: timezone.now() > due + timedelta(seconds=2), "the lost poll to be 2 s late")
            assert status(export) in (S.QUEUED, S.RUNNING)  # nothing would ever poll it again by itself

            export = reconcile_until_terminal(export)
    finally:
        redis_server.stop()

    assert export.status == S.COMPLETED
    assert actions(export).count("export.completed") == 1
    assert portal.start_count() == 1


def test_the_same_poll_delivered_twice_at_once_ends_the_export_once(portal, alice):
    # Polls far apart, so that only the two copies we send act on the export.
    with portal.worker(concurrency=2, EXPORT_POLL_FIRST_SECONDS="60"):
        export = submit(alice)
        wait_until(lambda: status(export) == S.QUEUED, "Start")
        portal.qs.wait("sales-overview", export.snapshot_job_id)
        Export.objects.filter(pk=export.pk).update(next_action_at=timezone.now())
        for _ in range(2):
            app.send_task("exports.tasks.poll_export", args=[str(export.pk)])
        export = wait_terminal(export)
        time.sleep(1)  # let the second copy finish too

    assert actions(export).count("export.completed") == 1
    assert export.files.count() == 1
    assert portal.qs.calls.count("DescribeDashboardSnapshotJobResult") == 1


# --- the quotas, under load ---


def test_fifty_exports_at_once_stay_within_both_quotas_and_all_complete(portal, alice, bob):
    qs = portal.qs
    qs.faults.hold_jobs = True  # QuickSight keeps every job QUEUED until released
    qs.faults.min_running_seconds = 0.5
    with portal.worker(concurrency=4):
        started = time.monotonic()
        exports = [submit(alice if i % 2 else bob, ["CSV_SMALL"]) for i in range(50)]
        wait_until(lambda: qs.state.active_jobs() == 12, "12 jobs to be running in QuickSight")
        time.sleep(1)
        waiting = list(Export.objects.filter(status=S.PENDING).order_by("created_at"))
        assert qs.state.active_jobs() == 12 and portal.start_count(outcome=None) == 12
        assert [e.pk for e in waiting] == [e.pk for e in exports[12:]]  # first come, first served
        assert [jobs.queue_position(e) for e in waiting] == list(range(1, 39))

        qs.faults.hold_jobs = False
        wait_until(
            lambda: Export.objects.filter(status__in=Export.TERMINAL).count() == 50, "50 exports to end", timeout=90
        )
        elapsed = time.monotonic() - started

    assert set(Export.objects.values_list("status", flat=True)) == {S.COMPLETED}
    assert qs.state.max_active <= 12
    assert qs.calls.max_in_window(1.0, outcome=None) <= 10
    assert portal.start_count() == 50 and portal.start_count("LimitExceededException") == 0
    assert all(actions(e).count("export.completed") == 1 for e in exports)
    print(f"50 exports in {elapsed:.1f}s with {len(qs.calls)} QuickSight calls")
