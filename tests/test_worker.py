"""A task's round trip through a real Redis broker and a real worker process."""

from __future__ import annotations

import time

import pytest

from exports.models import WorkerHeartbeat
from portal.celery import app
from tests.services import celery_worker


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_in_a_real_worker(redis_url, tmp_path):
    app.conf.broker_url = redis_url
    try:
        with celery_worker(redis_url, log_path=tmp_path / "worker.log"):
            app.send_task("exports.tasks.heartbeat")
            deadline = time.monotonic() + 20
            while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        app.conf.broker_url = None
    beat = WorkerHeartbeat.objects.get()
    assert beat.hostname.startswith("test-")
