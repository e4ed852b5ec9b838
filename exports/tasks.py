"""Thin Celery tasks: they take ids, call a service, and never hold the truth."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from exports.models import WorkerHeartbeat


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or "unknown", defaults={"seen_at": timezone.now()}
    )
