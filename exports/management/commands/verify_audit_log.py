"""Check the audit log's hash chain: exit 0 when intact, 1 with the first broken event otherwise."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exports.audit import verify_chain


class Command(BaseCommand):
    help = "Verify that no audit event was altered, removed or re-linked since it was written."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, help="Events read per database round trip.")

    def handle(self, *args, batch_size: int = 2000, **options):
        report = verify_chain(batch_size=batch_size)
        if not report.intact:
            raise CommandError(
                f"Audit chain BROKEN at event #{report.broken_at_seq}: {report.reason} "
                f"({report.checked} event(s) before it verified).",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} event(s) checked."))
