"""Wake-ups for workers, sent once the database work that needs them commits.

The domain (services, jobs, schedules) names the step it wants; exports/tasks.py registers the
Celery task behind each name when it is imported (ExportsConfig.ready imports it in every
process), so the domain never imports the tasks that call it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Protocol

from django.db import transaction

log = logging.getLogger(__name__)

# The Celery names of the tasks behind each step.
SUBMIT = "exports.tasks.submit_export"
POLL = "exports.tasks.poll_export"
ARCHIVE = "exports.tasks.archive_export_files"


class Sendable(Protocol):
    name: str

    def apply_async(self, args: tuple[Any, ...], countdown: float | None = None) -> Any: ...


_tasks: dict[str, Sendable] = {}


def register(task: Sendable) -> Sendable:
    """Decorator for the tasks behind SUBMIT, POLL and ARCHIVE (keyed by their Celery name)."""
    _tasks[task.name] = task
    return task


def send(step: str, export_id: Any, countdown: float | None = None) -> None:
    """Send now. A broker that is down loses nothing: the reconciler re-sends from the row."""
    task = _tasks[step]
    try:
        task.apply_async((str(export_id),), countdown=countdown)
    except Exception as exc:  # kombu's errors vary by transport; the reconciler re-sends from the row
        log.warning("could not enqueue %s for export %s: %s", step, export_id, exc)


def after_commit(step: str, export_id: Any, countdown: float | None = None) -> None:
    """Send once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(send, step, export_id, countdown))
