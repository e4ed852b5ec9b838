"""Real services for tests: Redis, a Celery worker process. Missing in CI is a failure, not a skip."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def skip_or_fail(reason: str):
    """Locally a missing service skips; in CI (CI=true) it fails the run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_test_url() -> str:
    """The Redis of REDIS_URL (or the local default), on database REDIS_TEST_DB (15): tests flush it."""
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(base)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        skip_or_fail(f"Redis is not answering at {parts.hostname}:{parts.port}")
    return f"{parts.scheme}://{parts.netloc}/{os.environ.get('REDIS_TEST_DB', '15')}"


def worker_env(**extra: str | None) -> dict[str, str]:
    """Environment for a subprocess of the portal that shares the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
        host = f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
        env["DATABASE_URL"] = f"postgres://{auth}@{host}/{settings_dict['NAME']}"
    env.update({"DEBUG": "true", "TESTING": "true", "PYTHONUNBUFFERED": "1"}, **extra)
    return {k: v for k, v in env.items() if v is not None}  # None unsets: REDIS_URL=None, the embedded broker


def use_broker(url: str | None) -> None:
    """Point this process's producers at another broker (None: back to settings). Celery keeps a
    producer pool bound to the first broker it sent to, so setting broker_url alone sends the
    next task to wherever an earlier test last sent (the worker under test never sees it)."""
    from portal.celery import app

    app.conf.broker_url = url
    app.close()
    app.amqp._producer_pool = None


@contextmanager
def celery_worker(broker_url: str | None, *, log_path: Path, concurrency: int = 1, extra_env: dict | None = None):
    """A real `celery worker` process on the given Redis broker, or with None on the embedded
    filesystem broker under extra_env's VAR_DIR; yields the Popen, stops it on exit."""
    env = worker_env(REDIS_URL=broker_url, **(extra_env or {}))
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
        "-n",
        f"test-{os.getpid()}@%h",
    ]
    with supervised(cmd, env=env, log_path=log_path, ready=lambda: "ready." in log_path.read_text()) as proc:
        yield proc


@contextmanager
def supervised(cmd: list[str], *, env: dict[str, str], log_path: Path, ready):
    """A process of its own session, its whole output in log_path; yields once ready() is true (or
    fails with the log's tail), and stops the whole group on exit: TERM, then KILL after 10 s."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
