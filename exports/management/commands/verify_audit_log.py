"""Check the audit log against the chain key and the latest checkpoint: exit 0 when intact, 1 otherwise."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exports.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Verify that no audit event was altered, removed or re-linked since it was written, and that the log "
        "still holds the history the latest checkpoint (AUDIT_CHECKPOINT_SINK) vouches for."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, help="Events read per database round trip.")

    def handle(self, *args, batch_size: int = 2000, **options):
        report = verify_chain(batch_size=batch_size)
        if not report.intact:
            raise CommandError(report.summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(report.summary))
