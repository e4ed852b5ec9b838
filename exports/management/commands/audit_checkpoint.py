"""Seal the audit chain's head now: verify it, then write a signed checkpoint to AUDIT_CHECKPOINT_SINK."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exports.audit import checkpoint_write
from exports.checkpoints import CheckpointSinkError


class Command(BaseCommand):
    help = (
        "Write a signed checkpoint (sequence, head hash, time) of the audit chain outside the database. "
        "Beat does this every AUDIT_CHECKPOINT_INTERVAL_SECONDS; a broken chain is never sealed."
    )

    def handle(self, *args, **options):
        try:
            result = checkpoint_write()
        except CheckpointSinkError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        if not result.report.intact:
            raise CommandError(f"No checkpoint written. {result.report.summary}", returncode=1)
        if result.checkpoint is None:
            self.stdout.write("No checkpoint written: the audit log is empty.")
        elif result.written:
            where = result.checkpoint.location
            self.stdout.write(self.style.SUCCESS(f"Checkpoint of event #{result.checkpoint.seq} written to {where}"))
        else:
            self.stdout.write(
                f"Checkpoint of event #{result.checkpoint.seq} already written ({result.checkpoint.location}): "
                "nothing new to seal."
            )
