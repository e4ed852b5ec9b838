"""The service's runtime knobs: quotas (Limits) and injected trouble (Faults).

Both start from settings and can be changed while the service runs (tests and benchmarks set
attributes on `state.faults` / `state.limits`); every request and job reads them afresh.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from django.conf import settings


def _error_info(raw: str | None) -> dict[str, str] | None:
    """'ErrorType: message' (a setting) -> the API's ErrorInfo dict."""
    if not raw:
        return None
    error_type, _, message = raw.partition(":")
    return {"ErrorType": error_type.strip(), "ErrorMessage": message.strip() or error_type.strip()}


@dataclass
class Limits:
    """QuickSight's quotas as the service enforces them."""

    max_running_jobs: int = 12  # QUEUED + RUNNING per account; the next Start gets LimitExceeded
    max_calls_per_second: int = 10  # per account, sliding one-second window; then Throttling
    job_id_reuse_seconds: float = 24 * 3600  # a SnapshotJobId is taken while running and this long after

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_running_jobs=settings.QUICKSIGHT_LOCAL_MAX_RUNNING_JOBS,
            max_calls_per_second=settings.QUICKSIGHT_LOCAL_MAX_CALLS_PER_SECOND,
            job_id_reuse_seconds=settings.QUICKSIGHT_LOCAL_JOB_ID_REUSE_SECONDS,
        )


@dataclass
class Faults:
    """Injected latency, throttling and failures.

    latency: seconds added to every API request.
    throttle_rate: probability (0..1) that any API request answers ThrottlingException.
    throttle_next_starts / limit_exceeded_next_starts: that many coming StartDashboardSnapshotJob
        calls answer ThrottlingException / LimitExceededException (counts down).
    not_found_next_describes: that many coming DescribeDashboardSnapshotJob calls answer
        ResourceNotFoundException for a job that exists, as AWS may just after a Start (counts down).
    reverse_result_groups: DescribeDashboardSnapshotJobResult lists the file groups last first
        (AWS does not promise the requested order; each group echoes its Files).
    min_queued_seconds / min_running_seconds: a job stays at least this long QUEUED, then RUNNING.
    hold_jobs: while true, jobs stay QUEUED (release by setting it false; waiting jobs wake up).
    job_failure: ErrorInfo {"ErrorType", "ErrorMessage"}; while set, every job ends FAILED with it.
    result_before_end: what DescribeDashboardSnapshotJobResult answers before the job ends: "error"
        (AWS's documented PreconditionNotMetException) or "status" (200 with JobStatus, no Result).
    file_failure: ErrorInfo; while set, file group `file_failure_index` of every job fails with it
        (the job still COMPLETES; that group's S3Results carry the ErrorInfo).
    """

    latency: float = 0.0
    throttle_rate: float = 0.0
    throttle_next_starts: int = 0
    limit_exceeded_next_starts: int = 0
    not_found_next_describes: int = 0
    reverse_result_groups: bool = False
    min_queued_seconds: float = 0.0
    min_running_seconds: float = 0.0
    hold_jobs: bool = False
    job_failure: dict[str, str] | None = None
    file_failure: dict[str, str] | None = None
    file_failure_index: int = 0
    result_before_end: str = "error"
    _random: random.Random = field(default_factory=lambda: random.Random(0), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls) -> Faults:
        return cls(
            latency=settings.QUICKSIGHT_LOCAL_FAULT_LATENCY,
            throttle_rate=settings.QUICKSIGHT_LOCAL_FAULT_THROTTLE_RATE,
            min_queued_seconds=settings.QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS,
            min_running_seconds=settings.QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS,
            job_failure=_error_info(settings.QUICKSIGHT_LOCAL_FAULT_JOB_FAILURE),
            file_failure=_error_info(settings.QUICKSIGHT_LOCAL_FAULT_FILE_FAILURE),
            result_before_end=settings.QUICKSIGHT_LOCAL_RESULT_BEFORE_END,
        )

    def roll_throttle(self) -> bool:
        with self._lock:
            return self.throttle_rate > 0 and self._random.random() < self.throttle_rate

    def take(self, counter: str) -> bool:
        """Consume one of a counting fault (`throttle_next_starts`, ...); True when one was left."""
        with self._lock:
            left = getattr(self, counter)
            if left > 0:
                setattr(self, counter, left - 1)
                return True
            return False
