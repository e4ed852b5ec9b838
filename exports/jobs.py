"""The job lifecycle: the portal's queue, Start, polls, results, and every state transition.

The Export row is the truth. Each transition is a compare-and-set on its status that writes one
audit event in the same transaction; a worker step first claims the row (it must be due, and the
`attempts` counter must not have moved), so duplicate or late messages do nothing. Services never
enqueue: they return a `Next` that the thin task in exports/tasks.py turns into messages, after
the database work is committed. A lost message is found again by `reconcile()` from
`next_action_at`.

PENDING (the portal's queue) -> SUBMITTING (holds one of the account's running slots; Start not
yet acknowledged) -> QUEUED / RUNNING (QuickSight's) -> COMPLETED | FAILED | TIMED_OUT | CANCELLED.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from exports import access, aws, downloads, enqueue, estimates, events, notify, queue, quicksight, quota, schedules
from exports.models import Export, ExportFile
from exports.rls import effective_identity, export_blocker
from exports.snapshot import sent_request
from exports.snapshot_rules import FORMAT_WORDS

S = Export.Status
log = logging.getLogger(__name__)

# The error code of a COMPLETED_WITH_ERRORS export; error_message says which files failed.
PARTIAL_SUCCESS = notify.PARTIAL_SUCCESS
ALL_FILES_FAILED = "AllFilesFailed"
# Messages may arrive a little before their countdown by another host's clock.
DUE_TOLERANCE = timedelta(seconds=1)
QUOTA_JITTER_SECONDS = 0.15
# A Start that finds no token lets the polls waiting for one go first: a poll that sees a job's end
# frees the slot the next Start needs, so at a wave's end finishing first starts the next wave sooner.
START_YIELDS_SECONDS = 0.2


@dataclass
class Next:
    """What to enqueue once a service returns: its own next poll, a retry, exports to start."""

    poll_in: float | None = None
    retry_in: float | None = None
    error: aws.AwsError | None = None
    start: list[str] = field(default_factory=list)


# --- timing ---


def backoff(retries: int) -> float:
    """Celery retry countdown: 2 s doubling to the cap, with jitter (between half and all of it)."""
    first, cap = settings.EXPORT_POLL_FIRST_SECONDS, settings.EXPORT_POLL_MAX_SECONDS
    return min(cap, first * 2 ** min(retries, 16)) * random.uniform(0.5, 1.0)


def poll_countdown(export: Export, now: datetime | None = None) -> float:
    """Time to the next poll: as long as the job has run so far, so polls land at about 2, 4, 8, 16 s
    after Start (doubling), then every 30 s (the cap); jittered so that polls do not bunch up."""
    first, cap = settings.EXPORT_POLL_FIRST_SECONDS, settings.EXPORT_POLL_MAX_SECONDS
    elapsed = ((now or timezone.now()) - (export.submitted_at or export.created_at)).total_seconds()
    return max(first, min(cap, elapsed)) * random.uniform(0.8, 1.0)


# The first Describe comes this long after the expected end: QuickSight's job began a little before
# our Start returned, so by then a job of the expected length has ended.
AFTER_END_SECONDS = 0.1
# Polls at the tight step for this many steps past the expected end, then back off to the cap.
TIGHT_POLLS = 5
# The tight step grows with the job (a 10-minute job does not need to be seen to the second).
TIGHT_SHARE = 0.05


def around_end(elapsed: float, expected: float) -> float:
    """Time to the next poll of a job `elapsed` seconds after Start that should take `expected`:
    just after the expected end (in even steps of at most the cap before it), then every tight step for
    TIGHT_POLLS steps, then as long as it is overdue, up to the cap. Jittered only after the end:
    the expected ends of a burst are already spread by their Starts."""
    cap = settings.EXPORT_POLL_MAX_SECONDS
    step = min(cap, max(settings.EXPORT_POLL_TIGHT_SECONDS, expected * TIGHT_SHARE))
    if elapsed < expected:
        # Evenly spaced, at most the cap apart, so that the last lands just after the expected end.
        to_end = expected - elapsed + AFTER_END_SECONDS
        return to_end / math.ceil(to_end / cap)
    overdue = elapsed - expected
    if overdue < TIGHT_POLLS * step:
        return step * random.uniform(0.8, 1.0)
    return min(cap, max(step, overdue)) * random.uniform(0.8, 1.0)


def next_poll_in(export: Export, now: datetime | None = None) -> float:
    """Around the expected end once the dashboard and formats have finished exports to learn from;
    the doubling schedule before that (nothing to aim at), or always under EXPORT_POLL_SCHEDULE=doubling."""
    if settings.EXPORT_POLL_SCHEDULE == "doubling":
        return poll_countdown(export, now)
    estimate = estimates.duration(export.dashboard_id, export.formats)
    if not estimate.learned:
        return poll_countdown(export, now)
    elapsed = ((now or timezone.now()) - (export.submitted_at or export.created_at)).total_seconds()
    return around_end(elapsed, estimate.seconds)


def _lease() -> timedelta:
    return timedelta(seconds=settings.EXPORT_STEP_LEASE_SECONDS)


# --- transitions ---

# The states each state may be entered from, by the lifecycle's own steps. Anything else (a late
# message, a step racing another, a bug) is refused before it writes.
ALLOWED: dict[str, frozenset[str]] = {
    S.SUBMITTING: frozenset({S.PENDING}),  # its turn in the portal's queue came
    S.QUEUED: frozenset({S.SUBMITTING}),  # Start acknowledged
    S.RUNNING: frozenset({S.QUEUED}),
    S.COMPLETED: frozenset({S.QUEUED, S.RUNNING}),
    S.COMPLETED_WITH_ERRORS: frozenset({S.QUEUED, S.RUNNING}),  # some files failed, the others are ready
    S.FAILED: frozenset({S.SUBMITTING, S.QUEUED, S.RUNNING}),
    S.TIMED_OUT: frozenset(Export.IN_FLIGHT),
    S.CANCELLED: frozenset({S.SUBMITTING}),  # access re-checked just before Start, and lost
}
# What a person (the requester or an admin) may ask for: QuickSight has no cancel, so only an export
# still waiting in the portal's queue can be withdrawn.
ALLOWED_TO_PEOPLE: dict[str, frozenset[str]] = {
    S.CANCELLED: frozenset({S.PENDING}),
}


def _transition(
    export: Export,
    to: str,
    *,
    data: dict[str, Any] | None = None,
    actor=None,
    ip_address: str | None = None,
    notify: bool = True,
    by_person: bool = False,
    **fields: Any,
) -> bool:
    """Move export.status -> `to` if the table allows it from the status we read, and the row still
    holds that status (compare-and-set: exactly one row updated); then one audit event in the same
    transaction. False, and nothing written, otherwise. What a person asks for (`by_person`) is
    checked against ALLOWED_TO_PEOPLE, the lifecycle's own steps against ALLOWED."""
    table = ALLOWED_TO_PEOPLE if by_person else ALLOWED
    if export.status not in table.get(to, frozenset()):
        log.info("export %s: %s -> %s refused: not in the transition table", export.pk, export.status, to)
        return False
    now = timezone.now()
    values: dict[str, Any] = {"status": to, **fields}
    if to in Export.TERMINAL:
        values.setdefault("finished_at", now)
        values["next_action_at"] = None
        if not by_person:  # nobody needs telling what they did themselves
            values["end_notice"] = Export.EndNotice.NEW
    with transaction.atomic():
        if Export.objects.filter(pk=export.pk, status=export.status).update(**values) != 1:
            return False
        previous = export.status
        for name, value in values.items():
            setattr(export, name, value)
        events.export_moved(export=export, previous=previous, to=to, actor=actor, data=data, ip_address=ip_address)
        if to in Export.TERMINAL and notify:
            transaction.on_commit(partial(export_ended, export_id=export.pk))
    log.info("export %s: %s -> %s", export.pk, previous, to)
    return True


def _error_detail(exc: aws.AwsError, operation: str) -> str:
    raw = {"operation": operation, "code": exc.code, "message": exc.message, "request_id": exc.request_id}
    if exc.http_status:
        raw["http_status"] = exc.http_status
    return json.dumps(raw, sort_keys=True)


def _fail(export: Export, exc: aws.AwsError, operation: str, message: str | None = None) -> bool:
    return _transition(
        export,
        S.FAILED,
        error_code=exc.code,
        error_message=message or exc.user_message,
        error_detail=_error_detail(exc, operation),
        error_request_id=exc.request_id,
        data={"error_code": exc.code, "operation": operation, "request_id": exc.request_id},
    )


def _time_out(export: Export) -> bool:
    hours = settings.EXPORT_DEADLINE.total_seconds() / 3600
    limit = f"{hours:g} hours" if hours >= 1 else f"{settings.EXPORT_DEADLINE.total_seconds():g} seconds"
    return _transition(
        export,
        S.TIMED_OUT,
        error_code="DeadlineExceeded",
        error_message=(
            f"QuickSight did not finish this export within {limit}. "
            "Try again later, or with fewer files or a narrower parameter range."
        ),
        error_detail=json.dumps({"deadline_at": export.deadline_at.isoformat() if export.deadline_at else None}),
        data={"aws_job_status": export.aws_job_status},
    )


def _past_deadline(export: Export, now: datetime | None = None) -> bool:
    return bool(export.deadline_at and (now or timezone.now()) >= export.deadline_at)


# --- the portal's queue: at most N in flight per account; interactive exports first, then scheduled ones,
# each first come first served; scheduled ones hold at most a share of the slots ---


def _lock_account(account_id: str) -> None:
    """Serialize queue moves for one account across processes, until the transaction ends."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"export-queue:{account_id}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite: transactions BEGIN IMMEDIATE (settings), so the writer already holds the database lock.


def scheduled_slots() -> int:
    """How many of an account's running slots scheduled exports may hold at once (at least one, so
    schedules still run when the share rounds down to nothing)."""
    limit = settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT
    return max(1, min(limit, int(limit * settings.SCHEDULED_MAX_RUNNING_SHARE)))


def queue_advance(account_id: str) -> list[str]:
    """Move the account's next waiting exports into its free running slots; returns their ids.

    A person's interactive export goes before every waiting scheduled one, so a burst of schedules
    never leaves a click waiting longer than the first free slot; scheduled exports fill what is
    left, up to scheduled_slots()."""
    limit = settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT
    claimed: list[str] = []
    with transaction.atomic():
        _lock_account(account_id)
        # A job QuickSight has ended holds no slot there, though its files are still being collected.
        in_flight = Export.objects.filter(aws_account_id=account_id, status__in=Export.IN_FLIGHT).exclude(
            aws_job_status__in=quicksight.ENDED
        )
        running, running_scheduled = in_flight.count(), in_flight.filter(is_scheduled=True).count()
        if running >= limit:
            return []
        waiting = Export.objects.filter(aws_account_id=account_id, status=S.PENDING).order_by("created_at", "pk")
        free = limit - running
        interactive = list(waiting.filter(is_scheduled=False)[:free])
        scheduled_free = min(free - len(interactive), scheduled_slots() - running_scheduled)
        scheduled = list(waiting.filter(is_scheduled=True)[: max(scheduled_free, 0)])
        now = timezone.now()
        for export in interactive + scheduled:
            waited = round((now - export.created_at).total_seconds(), 3)
            if _transition(
                export,
                S.SUBMITTING,
                next_action_at=now,
                deadline_at=now + settings.EXPORT_DEADLINE,
                data={"waited_seconds": waited},
            ):
                claimed.append(str(export.pk))
    return claimed


def queue_position(export: Export) -> int | None:
    """1 for the next export of its account to start; None once it has left the portal's queue."""
    return queue.position(export)


# --- worker steps ---


def _claim(export_id, statuses: frozenset | set) -> Export | None:
    """This step's hold on the export: it is due, in one of these states, and nobody else took it."""
    export = Export.objects.select_related("dashboard", "user").filter(pk=export_id, status__in=statuses).first()
    now = timezone.now()
    if export is None or (export.next_action_at and export.next_action_at > now + DUE_TOLERANCE):
        return None  # done already, or an early duplicate: the scheduled message is still coming
    lease_until = now + _lease()
    taken = Export.objects.filter(pk=export.pk, status=export.status, attempts=export.attempts).update(
        attempts=F("attempts") + 1, next_action_at=lease_until
    )
    if taken != 1:
        return None
    export.attempts, export.next_action_at = export.attempts + 1, lease_until
    return export


def _later(export: Export, seconds: float, **fields: Any) -> None:
    """Record when this export is next due (and what we learned), if our claim still holds."""
    Export.objects.filter(pk=export.pk, status=export.status, attempts=export.attempts).update(
        next_action_at=timezone.now() + timedelta(seconds=seconds), **fields
    )


def _retry(export: Export, exc: aws.AwsError, retries: int, *, yield_seconds: float = 0.0) -> Next:
    if isinstance(exc, quota.QuotaWait):
        countdown = exc.retry_after + yield_seconds + random.uniform(0, QUOTA_JITTER_SECONDS)
    else:
        countdown = backoff(retries)
        log.warning("export %s: %s from QuickSight, retrying in %.1fs", export.pk, exc.code, countdown)
    _later(export, countdown)
    return Next(retry_in=countdown, error=exc)


def start_blocker(export: Export) -> str | None:
    """Why the requester may no longer run this export, in their words; None when they still may."""
    user, dashboard = export.user, export.dashboard
    if not user.is_active:
        return "Your account was deactivated before the export started."
    if dashboard.is_stale:
        return f"{dashboard.name} is no longer in QuickSight, so the export was not started."
    if not access.granted_dashboards(user).filter(pk=dashboard.pk).exists():
        return f"Your access to {dashboard.name} was withdrawn before the export started."
    identity = effective_identity(user, dashboard)
    blocker = export_blocker(identity, dashboard)
    if blocker:
        return blocker
    if sent_request(export.request).rls_tags != identity.tags:
        return (
            "Your row-level security tags changed after you submitted this export, so it was not started. "
            "Submit it again to export with your current access."
        )
    if (
        export.destination_id
        and not access.allowed_destinations(user, dashboard).filter(pk=export.destination_id).exists()
    ):
        return f"The S3 destination {export.destination} is no longer open to you."
    return None


def export_submit(*, export_id, retries: int = 0) -> Next:
    """Take the export out of the queue if its turn has come, re-check access, and Start it."""
    nxt = Next()
    waiting = Export.objects.filter(pk=export_id, status=S.PENDING).values_list("aws_account_id", flat=True).first()
    if waiting is not None:
        nxt.start = [pk for pk in queue_advance(waiting) if pk != str(export_id)]
    export = _claim(export_id, {S.SUBMITTING})
    if export is None:
        return nxt
    if _past_deadline(export):
        _time_out(export)
        nxt.start += queue_advance(export.aws_account_id)
        return nxt
    reason = start_blocker(export)
    if reason:
        _transition(export, S.CANCELLED, error_code="AccessRevoked", error_message=reason, data={"reason": reason})
        nxt.start += queue_advance(export.aws_account_id)
        return nxt

    try:
        started = quicksight.start_snapshot(export)
    except aws.AwsError as exc:
        if exc.retryable:
            retry = _retry(export, exc, retries, yield_seconds=START_YIELDS_SECONDS)
            retry.start = nxt.start
            return retry
        else:
            _fail(export, exc, "StartDashboardSnapshotJob")
            nxt.start += queue_advance(export.aws_account_id)
            return nxt

    now = timezone.now()
    export.submitted_at = now
    countdown = next_poll_in(export, now)
    _transition(
        export,
        S.QUEUED,
        job_arn=started.arn,
        start_request_id=started.request_id,
        submitted_at=now,
        next_action_at=now + timedelta(seconds=countdown),
        data={"job_arn": started.arn, "request_id": started.request_id, "retried": started.already_started},
    )
    nxt.poll_in = countdown
    return nxt


def asks_result(export: Export, now: datetime | None = None) -> bool:
    """Whether this poll asks DescribeDashboardSnapshotJobResult directly: once the job was seen ended
    (a retry after a throttled Result call), or from its expected end on, when most jobs have ended
    and the Result both says so and gives the files (one call instead of a Describe, then the Result).
    Before that, and while nothing is learned, DescribeDashboardSnapshotJob tells QUEUED from RUNNING."""
    if export.aws_job_status in quicksight.ENDED:
        return True
    if settings.EXPORT_POLL_SCHEDULE == "doubling":
        return False
    estimate = estimates.duration(export.dashboard_id, export.formats)
    if not estimate.learned:
        return False
    elapsed = ((now or timezone.now()) - (export.submitted_at or export.created_at)).total_seconds()
    return elapsed >= estimate.seconds


def export_poll(*, export_id, retries: int = 0) -> Next:
    """Ask QuickSight how the job is doing; collect the result when it has ended."""
    export = _claim(export_id, {S.QUEUED, S.RUNNING})
    if export is None:
        return Next()
    if _past_deadline(export):
        _time_out(export)
        return Next(start=queue_advance(export.aws_account_id))
    operation = "DescribeDashboardSnapshotJob"
    try:
        if asks_result(export):
            operation = "DescribeDashboardSnapshotJobResult"
            answer = quicksight.job_result(export)
            if isinstance(answer, quicksight.JobNotEnded):
                return _progress(export, answer.status or export.aws_job_status)
            outcome, job_status = answer, answer.status
            _ended(export, job_status, "", outcome.run_seconds)
        else:
            job = quicksight.job_status(export)
            if not job.ended:
                return _progress(export, job.status, job.arn, job.request_id)
            job_status = job.status
            _ended(export, job_status, job.arn, job.run_seconds)
            operation = "DescribeDashboardSnapshotJobResult"
            outcome = quicksight.job_outcome(export, max_wait=quicksight.TASK_QUOTA_WAIT_SECONDS)
    except quicksight.JobNotFound as exc:
        if _may_not_be_visible_yet(export):
            return _poll_again_after_not_found(export)
        _fail(export, exc, operation, JOB_NOT_FOUND_MESSAGE)
        return Next(start=queue_advance(export.aws_account_id))
    except aws.AwsError as exc:
        if exc.retryable:
            return _retry(export, exc, retries)
        _fail(export, exc, operation)
        return Next(start=queue_advance(export.aws_account_id))
    if job_status == "COMPLETED":
        _complete(export, outcome)
    else:
        _job_failed(export, outcome)
    return Next(start=queue_advance(export.aws_account_id))


def _ended(export: Export, job_status: str, arn: str, run_seconds: float | None) -> None:
    """The job was seen ended: keep that first (a retry after a throttled Result call needs only that
    call), then hand its slot to the next waiting export at once, before the files, audit and mail."""
    if export.aws_job_status in quicksight.ENDED:
        return  # recorded, and its slot handed on, by an earlier try
    updated = Export.objects.filter(pk=export.pk, status=export.status, attempts=export.attempts).update(
        aws_job_status=job_status, job_arn=export.job_arn or arn, run_seconds=run_seconds
    )
    if updated == 1:
        export.aws_job_status = job_status
        for pk in queue_advance(export.aws_account_id):
            enqueue.after_commit(enqueue.SUBMIT, pk)


JOB_NOT_FOUND_MESSAGE = (
    "QuickSight accepted this export but then could not find its snapshot job. Run the export again."
)


def _may_not_be_visible_yet(export: Export, now: datetime | None = None) -> bool:
    """A job Start accepted moments ago may not be found yet: within the window, a few times only."""
    if export.not_found_polls >= settings.EXPORT_NOT_FOUND_RETRIES or export.submitted_at is None:
        return False
    since_start = ((now or timezone.now()) - export.submitted_at).total_seconds()
    return since_start <= settings.EXPORT_NOT_FOUND_WINDOW_SECONDS


def _poll_again_after_not_found(export: Export) -> Next:
    countdown = backoff(export.not_found_polls)
    log.warning(
        "export %s: QuickSight does not find its job yet (%d of %d), polling again in %.1fs",
        export.pk,
        export.not_found_polls + 1,
        settings.EXPORT_NOT_FOUND_RETRIES,
        countdown,
    )
    _later(export, countdown, not_found_polls=F("not_found_polls") + 1)
    return Next(poll_in=countdown)


def _progress(export: Export, job_status: str, arn: str = "", request_id: str = "") -> Next:
    countdown = next_poll_in(export)
    due = timezone.now() + timedelta(seconds=countdown)
    fields = {"aws_job_status": job_status, "job_arn": export.job_arn or arn}
    if job_status == S.RUNNING and export.status == S.QUEUED:
        _transition(export, S.RUNNING, next_action_at=due, data={"request_id": request_id}, **fields)
    else:
        Export.objects.filter(pk=export.pk, status=export.status, attempts=export.attempts).update(
            next_action_at=due, **fields
        )
    return Next(poll_in=countdown)


def _file_row(export: Export, outcome: quicksight.FileOutcome) -> ExportFile:
    export_file = ExportFile(
        export=export,
        index=outcome.index,
        part=outcome.part,
        parts=outcome.parts,
        format=outcome.format,
        sheet_ids=list(outcome.sheet_ids),
        visual_ids=list(outcome.visual_ids),
    )
    label = FORMAT_WORDS.get(outcome.format, outcome.format)
    if outcome.ok:
        export_file.s3_uri = outcome.uri
    elif outcome.error_code == quicksight.NO_FILE_RETURNED:
        export_file.error_code = outcome.error_code
        export_file.error_message = f"QuickSight finished the job but returned no {label} file."
    else:
        export_file.error_code = outcome.error_code
        reasons = outcome.error_message or "no reason given"
        export_file.error_message = f"QuickSight could not produce this {label} file: {reasons}"
    return export_file


def _complete(export: Export, outcome: quicksight.JobOutcome) -> bool:
    if outcome.unmatched:
        log.warning("export %s: %d result file groups echo no requested file", export.pk, outcome.unmatched)
    files = [_file_row(export, file) for file in outcome.files]
    downloads.name_and_measure(export, files)
    failed = [f for f in files if f.error_code]
    fields: dict[str, Any] = {"aws_job_status": "COMPLETED"}
    to = S.COMPLETED
    if failed and len(failed) == len(files):
        to = S.FAILED
        fields.update(
            error_code=ALL_FILES_FAILED,
            error_message="QuickSight could not produce any of the files. " + " ".join(f.error_message for f in failed),
        )
    elif failed:
        to = S.COMPLETED_WITH_ERRORS
        fields.update(
            error_code=PARTIAL_SUCCESS,
            error_message=f"{len(failed)} of {len(files)} files could not be produced; the others are ready.",
        )
    if failed:
        fields["error_request_id"] = outcome.request_id
        fields["error_detail"] = json.dumps(
            [{"file": f.index, "part": f.part, "code": f.error_code, "message": f.error_message} for f in failed],
            sort_keys=True,
        )
    data = {
        "request_id": outcome.request_id,
        "files": len(files),
        "failed_files": [{"file": f.index, "part": f.part, "error_code": f.error_code} for f in failed],
    }
    if outcome.unmatched:
        data["unmatched_file_groups"] = outcome.unmatched
    with transaction.atomic():
        if not _transition(export, to, data=data, **fields):
            return False
        ExportFile.objects.bulk_create(files)
    if to in Export.WITH_FILES and settings.ARCHIVE_EXPORTS:
        enqueue.after_commit(enqueue.ARCHIVE, export.pk)
    return True


def _job_failed(export: Export, outcome: quicksight.JobOutcome) -> bool:
    reason = outcome.error_message
    message = "QuickSight could not produce this export" + (f": {reason}" if reason else ".")
    detail = {
        "operation": "DescribeDashboardSnapshotJobResult",
        "request_id": outcome.request_id,
        **(outcome.error_info or {}),
    }
    return _transition(
        export,
        S.FAILED,
        aws_job_status="FAILED",
        error_code=outcome.error_type or "SnapshotJobFailed",
        error_message=message,
        error_detail=json.dumps(detail, sort_keys=True),
        error_request_id=outcome.request_id,
        data={"error_code": outcome.error_type, "request_id": outcome.request_id},
    )


# --- what people and the beat ask for ---


def export_cancel(*, export: Export, actor, ip_address: str | None = None) -> bool:
    """The requester (or an admin) withdraws an export still waiting in the portal's queue; False
    when it has moved on (ALLOWED_TO_PEOPLE says from where)."""
    return _transition(
        export,
        S.CANCELLED,
        actor=actor,
        ip_address=ip_address,
        notify=False,
        by_person=True,
        error_code="CancelledByUser",
        error_message=f"Cancelled by {getattr(actor, 'username', '') or 'the portal'}.",
    )


@dataclass
class Wakeups:
    submit: list[str] = field(default_factory=list)
    poll: list[str] = field(default_factory=list)
    timed_out: int = 0


def reconcile(*, now: datetime | None = None) -> Wakeups:
    """Time out what passed its deadline, start waiting exports into free slots, and list every
    in-flight export whose next step is overdue (its message was lost) to enqueue it again."""
    now = now or timezone.now()
    wake = Wakeups()
    for export in Export.objects.filter(status__in=Export.IN_FLIGHT, deadline_at__lte=now):
        wake.timed_out += _time_out(export)
    for account in Export.objects.filter(status=S.PENDING).values_list("aws_account_id", flat=True).distinct():
        wake.submit += queue_advance(account)
    overdue = now - timedelta(seconds=settings.EXPORT_RECONCILE_GRACE_SECONDS)
    for pk, status in Export.objects.filter(status__in=Export.IN_FLIGHT, next_action_at__lt=overdue).values_list(
        "pk", "status"
    ):
        wakeups = wake.submit if status == S.SUBMITTING else wake.poll
        if str(pk) not in wakeups:
            wakeups.append(str(pk))
    if wake.timed_out or wake.poll or wake.submit:
        log.info("reconcile: %d timed out, %d to submit, %d to poll", wake.timed_out, len(wake.submit), len(wake.poll))
    return wake


# --- enqueueing (after commit) ---


def export_enqueue(export: Export) -> None:
    """Wake a worker for a new export once the transaction that created it commits."""
    enqueue.after_commit(enqueue.SUBMIT, export.pk)


# --- the end of an export ---


def export_ended(*, export_id) -> None:
    """After an export's terminal transition commits: the mail (exports/notify.py), then its schedule
    run, when a schedule made it, counts it."""
    export = Export.objects.select_related("user", "dashboard", "destination", "schedule_run__schedule__owner").get(
        pk=export_id
    )
    notify.export_ended(export)
    if export.is_scheduled and export.schedule_run_id is not None:
        schedules.run_finish_if_ended(export.schedule_run_id)
