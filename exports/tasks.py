"""Thin Celery tasks: they take ids, call a service, and never hold the truth."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from exports import audit, enqueue, jobs, schedules
from exports.models import Export, WorkerHeartbeat

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or "unknown", defaults={"seen_at": timezone.now()}
    )


# --- the job lifecycle (exports/jobs.py holds the logic; these only turn its answer into messages) ---


def _follow(task, export_id: str, nxt: jobs.Next) -> None:
    for other in nxt.start:
        submit_export.delay(other)
    if nxt.poll_in is not None:
        poll_export.apply_async((export_id,), countdown=nxt.poll_in)
    if nxt.retry_in is not None:
        # Only RetryableAwsError (throttling, quotas, 5xx, our own rate limit) comes back here.
        raise task.retry(countdown=nxt.retry_in, exc=nxt.error)


@enqueue.register
@shared_task(bind=True, ignore_result=True, max_retries=None)
def submit_export(self, export_id: str) -> None:
    _follow(self, export_id, jobs.export_submit(export_id=export_id, retries=self.request.retries))


@enqueue.register
@shared_task(bind=True, ignore_result=True, max_retries=None)
def poll_export(self, export_id: str) -> None:
    _follow(self, export_id, jobs.export_poll(export_id=export_id, retries=self.request.retries))


@shared_task(ignore_result=True)
def reconcile_exports() -> None:
    wake = jobs.reconcile()
    for export_id in wake.submit:
        submit_export.delay(export_id)
    for export_id in wake.poll:
        poll_export.delay(export_id)


@enqueue.register
@shared_task(ignore_result=True)
def archive_export_files(export_id: str) -> None:
    from exports.downloads import export_files_archive

    export_files_archive(export=Export.objects.get(pk=export_id))


@shared_task(ignore_result=True)
def run_due_schedules() -> None:
    """Beat's tick, every minute: run what is due (exports/schedules.py; each occurrence once)."""
    schedules.run_due()


@shared_task(ignore_result=True)
def audit_checkpoint() -> None:
    result = audit.checkpoint_write()
    if not result.report.intact:
        # Loud on purpose: a broken chain is never sealed, and someone must look at it now.
        log.error("audit checkpoint not written: %s", result.report.summary)
