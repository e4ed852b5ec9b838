"""A task's round trip through a real broker (Redis, or the embedded filesystem one) and a real worker process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from exports.models import WorkerHeartbeat
from portal.celery import app
from tests.services import ROOT, celery_worker, use_broker, worker_env


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_in_a_real_worker(redis_url, tmp_path):
    use_broker(redis_url)
    try:
        with celery_worker(redis_url, log_path=tmp_path / "worker.log"):
            app.send_task("exports.tasks.heartbeat")
            wait_for_heartbeat()
    finally:
        use_broker(None)
    beat = WorkerHeartbeat.objects.get()
    assert beat.hostname.startswith("test-")


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_on_the_embedded_filesystem_broker(tmp_path):
    """What `make run` uses with no REDIS_URL: two processes sharing the broker folders under VAR_DIR."""
    embedded = {"VAR_DIR": str(tmp_path)}
    with celery_worker(None, log_path=tmp_path / "worker.log", extra_env=embedded):
        env = worker_env(REDIS_URL=None, **embedded)
        sent = subprocess.run([sys.executable, "-c", SEND_HEARTBEAT], cwd=ROOT, env=env, capture_output=True, text=True)
        assert sent.returncode == 0, sent.stderr
        wait_for_heartbeat()
    assert WorkerHeartbeat.objects.get().hostname.startswith("test-")
    assert "No hostname was supplied" not in sent.stderr + (tmp_path / "worker.log").read_text()


SEND_HEARTBEAT = """
import django
django.setup()
from portal.celery import app
app.send_task("exports.tasks.heartbeat")
"""


def wait_for_heartbeat(timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
