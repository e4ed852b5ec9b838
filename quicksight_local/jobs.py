"""The service's state: snapshot jobs, the call log, quotas and faults, in memory like a local emulator.

One ServiceState per process (get_state()). Each job moves QUEUED -> RUNNING -> COMPLETED | FAILED
in its own thread, so every job the quota admits (12) can be RUNNING at once as in QuickSight; the
files themselves are rendered (quicksight_local.render) at most QUICKSIGHT_LOCAL_WORKERS at a time,
which bounds CPU and memory, and stored by storage.py. State is lost on restart, as with DynamoDB
Local's in-memory mode.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from exports import aws
from exports import file_names as naming
from exports.snapshot_rules import FILE_EXTENSIONS, PARAMETER_LISTS
from quicksight_local import storage
from quicksight_local.catalog import Catalog, Dashboard, load_catalog
from quicksight_local.errors import ServiceError
from quicksight_local.faults import Faults, Limits

logger = logging.getLogger(__name__)

ACTIVE = ("QUEUED", "RUNNING")
TERMINAL = ("COMPLETED", "FAILED")


# --- the call log: what tests assert on ---


@dataclass(frozen=True)
class Call:
    operation: str
    at: float  # its arrival: wall clock, epoch seconds
    monotonic: float  # its arrival
    account_id: str
    outcome: str  # "ok" or the error code
    status: int


class CallLog:
    """Every API call the service answered, in order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def append(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def __iter__(self) -> Iterator[Call]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def all(self, operation: str | None = None, outcome: str | None = None) -> list[Call]:
        with self._lock:
            calls = list(self._calls)
        return [
            c
            for c in calls
            if (operation is None or c.operation == operation) and (outcome is None or c.outcome == outcome)
        ]

    def count(self, operation: str | None = None, outcome: str | None = None) -> int:
        return len(self.all(operation, outcome))

    def max_in_window(self, seconds: float = 1.0, *, outcome: str | None = "ok", operation: str | None = None) -> int:
        """The most calls (with this outcome) that fell inside any window of `seconds`."""
        times = sorted(c.monotonic for c in self.all(operation, outcome))
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


# --- jobs ---


@dataclass
class FileResult:
    file: dict[str, Any]
    filename: str
    s3_uri: str | None = None  # s3:// when written to a destination bucket
    local: bool = False  # on local disk, served through a signed link
    error: dict[str, str] | None = None


@dataclass
class Job:
    key: str  # random; names the directory of its files
    account_id: str
    dashboard_id: str
    job_id: str
    arn: str
    request: dict[str, Any]  # as the rules saw it (datetime parameters as datetimes)
    raw_snapshot_configuration: dict[str, Any]  # as received, echoed by Describe
    tags: dict[str, str]
    epoch: int
    status: str = "QUEUED"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    phase_started: float = field(default_factory=time.monotonic)
    results: list[FileResult] = field(default_factory=list)
    error: dict[str, str] | None = None

    @property
    def destination(self) -> dict[str, str] | None:
        config = self.request["SnapshotConfiguration"].get("DestinationConfiguration") or {}
        destinations = config.get("S3Destinations") or []
        return destinations[0]["BucketConfiguration"] if destinations else None


def request_parameters(request: dict[str, Any]) -> dict[str, list]:
    """{name: values} over the four typed lists, as the renderer takes them."""
    parameters = request["SnapshotConfiguration"].get("Parameters") or {}
    return {
        entry["Name"]: list(entry["Values"])
        for list_name in PARAMETER_LISTS
        for entry in parameters.get(list_name) or []
    }


def file_names(dashboard: Dashboard, groups: list[dict[str, Any]], at: datetime) -> list[str]:
    """Each file group's name by the portal's rule (exports/file_names.py), from this catalog's names."""
    names = []
    for group in groups:
        file = group["Files"][0]
        sheets, visuals = [], []
        for selection in file.get("SheetSelections") or []:
            sheet = dashboard.sheet(selection["SheetId"])
            sheets.append(sheet.name if sheet else selection["SheetId"])
            for visual_id in selection.get("VisualIds") or []:
                visual = sheet.visual(visual_id) if sheet else None
                visuals.append(visual.title if visual and visual.title else visual_id)
        names.append(
            naming.file_name(
                dashboard=dashboard.name or dashboard.dashboard_id,
                subject=naming.subject(file["FormatType"], sheets, visuals),
                at=at,
                extension=FILE_EXTENSIONS[file["FormatType"]],
            )
        )
    return naming.unique(names)


class ServiceState:
    """Jobs, call log, quotas and faults of one running service. Thread-safe."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or load_catalog()
        self.calls = CallLog()
        self._cond = threading.Condition()
        self._threads: set[threading.Thread] = set()
        self._render_slots = threading.BoundedSemaphore(settings.QUICKSIGHT_LOCAL_WORKERS)
        self._epoch = 0
        self.reset()
        # Files of an earlier run (state is not kept across restarts), once their jobs would have expired.
        storage.remove_files_older_than(self.limits.job_id_reuse_seconds)

    # configuration read at use time: tests change settings with pytest-django's `settings`
    @property
    def account_id(self) -> str:
        return settings.QUICKSIGHT_LOCAL_ACCOUNT_ID

    @property
    def region(self) -> str:
        return settings.QUICKSIGHT_LOCAL_REGION

    def reset(self) -> None:
        """Forget every job and call, re-read quotas and faults from settings; running jobs are abandoned."""
        with self._cond:
            self._epoch += 1
            forgotten = list(getattr(self, "jobs", {}).values())
            self.jobs: dict[tuple[str, str, str], Job] = {}
            self.faults = Faults.from_settings()
            self.limits = Limits.from_settings()
            self.max_active = 0  # most QUEUED + RUNNING jobs seen at once (per account, any account)
            self.max_running = 0  # most RUNNING jobs seen at once
            self._windows: dict[str, deque[float]] = {}
            self.calls.clear()
            self._cond.notify_all()
        for job in forgotten:
            storage.remove_job_files(job.key)

    def shutdown(self) -> None:
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def arn(self, resource: str) -> str:
        return f"arn:aws:quicksight:{self.region}:{self.account_id}:{resource}"

    # --- quotas ---

    def admit(self, account_id: str) -> None:
        """Count one API call against the account's rate; ThrottlingException above it."""
        if self.faults.roll_throttle():
            raise ServiceError("ThrottlingException", "Rate exceeded (injected fault).")
        now = time.monotonic()
        with self._cond:
            window = self._windows.setdefault(account_id, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.limits.max_calls_per_second:
                raise ServiceError(
                    "ThrottlingException",
                    f"Rate exceeded: more than {self.limits.max_calls_per_second} calls per second for this account.",
                )
            window.append(now)

    def _active(self, account_id: str | None = None) -> list[Job]:
        return [
            j for j in self.jobs.values() if j.status in ACTIVE and (account_id is None or j.account_id == account_id)
        ]

    def _track(self) -> None:
        by_account: dict[str, int] = {}
        running = 0
        for job in self._active():
            by_account[job.account_id] = by_account.get(job.account_id, 0) + 1
            running += job.status == "RUNNING"
        self.max_active = max(self.max_active, *by_account.values(), 0)
        self.max_running = max(self.max_running, running)

    # --- jobs ---

    def start_job(
        self, *, dashboard: Dashboard, request: dict[str, Any], raw_snapshot_configuration: dict[str, Any]
    ) -> Job:
        account_id, job_id = request["AwsAccountId"], request["SnapshotJobId"]
        key = (account_id, dashboard.dashboard_id, job_id)
        now = time.time()
        with self._cond:
            self._prune(now)
            existing = self.jobs.get(key)
            if existing is not None:
                raise ServiceError(
                    "ResourceExistsException",
                    f"A snapshot job with id {job_id} already exists for dashboard {dashboard.dashboard_id}; "
                    f"a job id can be reused {self.limits.job_id_reuse_seconds:g} seconds after its job ends.",
                )
            active = len(self._active(account_id))
            if active >= self.limits.max_running_jobs:
                raise ServiceError(
                    "LimitExceededException",
                    f"{active} snapshot jobs are running in this account; the limit is "
                    f"{self.limits.max_running_jobs}. Try again when one has finished.",
                )
            users = request["UserConfiguration"]["AnonymousUsers"]
            tags = {t["Key"]: t["Value"] for t in users[0].get("RowLevelPermissionTags") or []}
            job = Job(
                key=uuid.uuid4().hex,
                account_id=account_id,
                dashboard_id=dashboard.dashboard_id,
                job_id=job_id,
                arn=self.arn(f"dashboard/{dashboard.dashboard_id}/snapshot-job/{job_id}"),
                request=request,
                raw_snapshot_configuration=raw_snapshot_configuration,
                tags=tags,
                epoch=self._epoch,
            )
            self.jobs[key] = job
            self._track()
            # One thread per admitted job (at most the running quota per account): a pool smaller
            # than the quota kept the later jobs QUEUED and ran 12 jobs in waves.
            thread = threading.Thread(
                target=self._run, args=(job, dashboard), name=f"quicksight-local-job-{job.key[:8]}", daemon=True
            )
            self._threads.add(thread)
        thread.start()
        return job

    def get_job(self, account_id: str, dashboard_id: str, job_id: str) -> Job:
        with self._cond:
            job = self.jobs.get((account_id, dashboard_id, job_id))
        if job is None:
            raise ServiceError(
                "ResourceNotFoundException",
                f"Dashboard Snapshot Job with id {job_id} does not exist for dashboard {dashboard_id}.",
            )
        return job

    def active_jobs(self, account_id: str | None = None) -> int:
        with self._cond:
            return len(self._active(account_id))

    def wait_for(self, job: Job, statuses: tuple[str, ...] = TERMINAL, timeout: float = 30.0) -> str:
        """Block until the job reaches one of `statuses` (tests and seeding; the API never waits)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while job.status not in statuses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"job {job.job_id} is still {job.status}")
                self._cond.wait(min(left, 0.1))
            return job.status

    def _prune(self, now: float) -> None:
        """Forget jobs whose id is free again (ended more than job_id_reuse_seconds ago), with their files."""
        for key, job in list(self.jobs.items()):
            if job.ended_at is not None and now - job.ended_at >= self.limits.job_id_reuse_seconds:
                del self.jobs[key]
                storage.remove_job_files(job.key)

    def _set_status(self, job: Job, status: str, **changes: Any) -> bool:
        with self._cond:
            if job.epoch != self._epoch:
                return False
            job.status = status
            job.updated_at = time.time()
            job.phase_started = time.monotonic()
            if status in TERMINAL:
                job.ended_at = job.updated_at
            for name, value in changes.items():
                setattr(job, name, value)
            self._track()
            self._cond.notify_all()
            return True

    def _wait_phase(self, job: Job) -> bool:
        """Keep the job in its status for the minimum duration (and while held); False once abandoned."""
        with self._cond:
            while job.epoch == self._epoch:
                minimum = self.faults.min_queued_seconds if job.status == "QUEUED" else self.faults.min_running_seconds
                held = job.status == "QUEUED" and self.faults.hold_jobs
                left = minimum - (time.monotonic() - job.phase_started)
                if left <= 0 and not held:
                    return True
                self._cond.wait(0.05 if held else min(left, 0.05))
            return False

    def _run(self, job: Job, dashboard: Dashboard) -> None:
        try:
            self._run_phases(job, dashboard)
        finally:
            with self._cond:
                self._threads.discard(threading.current_thread())

    def _run_phases(self, job: Job, dashboard: Dashboard) -> None:
        try:
            if not self._wait_phase(job) or not self._set_status(job, "RUNNING"):
                return
            failure = self.faults.job_failure
            results = [] if failure else self._render_all(job, dashboard)
            if not self._wait_phase(job):
                return
            if failure:
                self._set_status(job, "FAILED", error=dict(failure))
            else:
                self._set_status(job, "COMPLETED", results=results)
        except Exception as exc:  # the job must end; its ErrorInfo says why
            if job.epoch != self._epoch:
                return  # abandoned by reset(): its files may already be gone
            logger.exception("quicksight_local job %s failed", job.job_id)
            self._set_status(
                job, "FAILED", error={"ErrorType": "INTERNAL_FAILURE", "ErrorMessage": f"{type(exc).__name__}: {exc}"}
            )

    def _render_all(self, job: Job, dashboard: Dashboard) -> list[FileResult]:
        from quicksight_local.render import RenderError, render_snapshot_file

        parameters = request_parameters(job.request)
        destination = job.destination
        file_failure, failure_index = self.faults.file_failure, self.faults.file_failure_index
        groups = job.request["SnapshotConfiguration"]["FileGroups"]
        names = file_names(dashboard, groups, datetime.fromtimestamp(job.created_at, UTC))
        results = []
        for index, group in enumerate(groups):
            file = group["Files"][0]
            result = FileResult(file=file, filename=names[index])
            results.append(result)
            if file_failure and index == failure_index:
                result.error = dict(file_failure)
                continue
            path = storage.job_dir(job.key) / result.filename
            try:
                with self._render_slots:
                    render_snapshot_file(
                        dashboard=dashboard,
                        file=file,
                        tags=job.tags,
                        parameters=parameters,
                        out_path=path,
                        generated_at=datetime.now(UTC),
                    )
            except RenderError as exc:
                result.error = {"ErrorType": "RENDER_FAILED", "ErrorMessage": exc.message}
                continue
            if destination is None:
                result.local = True
                continue
            result.s3_uri, result.error = self._upload(job, destination, path)
        return results

    def _upload(self, job: Job, destination: dict[str, str], path: Path) -> tuple[str | None, dict | None]:
        key = storage.s3_key(destination["BucketPrefix"], job.job_id, path.name)
        try:
            uri = storage.upload_to_s3(
                path, bucket=destination["BucketName"], key=key, region=destination["BucketRegion"]
            )
        except (ClientError, BotoCoreError) as exc:
            error = aws.translate(exc)
            return None, {"ErrorType": "S3_UPLOAD_FAILED", "ErrorMessage": f"{error.code}: {error.message}"}
        finally:
            path.unlink(missing_ok=True)
        return uri, None


_state: ServiceState | None = None
_state_lock = threading.Lock()


def get_state() -> ServiceState:
    """The process's one service state (shared by the mounted views and serve_in_thread)."""
    global _state
    with _state_lock:
        if _state is None:
            _state = ServiceState()
        return _state
