"""`make run`'s scripts/run-dev: Ctrl-C stops web, worker and beat, and the worker shuts down warm."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.services import ROOT, free_port, port_open


def test_ctrl_c_stops_web_worker_and_beat_and_leaves_nothing_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith("PYTEST")}
    port = free_port()
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), PORT=str(port))
    log_path = tmp_path / "run-dev.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["bash", "scripts/run-dev"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while not (port_open("127.0.0.1", port) and "ready." in log_path.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)

        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to the whole group
        proc.wait(timeout=60)
        time.sleep(0.5)  # the last children are reaped by their parents

        output = log_path.read_text()
        assert not group_alive(proc.pid), output[-3000:]
        assert not port_open("127.0.0.1", port)
        assert "exited with 'signal 15" not in output  # the pool was stopped by its worker, not shot
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_embedded_default_starts_without_system_check_warnings(tmp_path):
    """Every command of `make run` (SQLite) runs Django's checks: they say nothing to act on."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith("PYTEST")}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "System check identified no issues" in done.stdout, done.stdout + done.stderr
