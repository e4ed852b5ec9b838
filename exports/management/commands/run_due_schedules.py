"""Run the schedules' occurrences due at a moment (what beat's tick calls every minute)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from exports import schedules
from exports.management.commands.build_snapshot_request import EXIT_INVALID


class Command(BaseCommand):
    help = (
        "Claim and run every occurrence due at --now (default: now); print each run and the exports it made. "
        "Each occurrence runs once: a second call for the same moment makes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 date-time (taken as UTC without an offset).")

    def handle(self, *args, now: str | None = None, **options):
        moment = None
        if now:
            try:
                moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
            except ValueError:
                self.stdout.write(f"--now: {now!r} is not an ISO 8601 date-time (e.g. 2026-11-30T07:00:00+01:00)")
                sys.exit(EXIT_INVALID)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        reports = schedules.run_due(moment)
        if not reports:
            self.stdout.write("nothing due")
        for report in reports:
            run = report.run
            late = f" (late, {run.missed} earlier missed)" if run.is_late else ""
            self.stdout.write(
                f"run {run.pk}: schedule {run.schedule_id} ({run.schedule.dashboard.name}) "
                f"for {run.scheduled_for.isoformat()}{late}"
            )
            if report.blocked:
                self.stdout.write(f"  paused: {report.blocked}")
            for username, export_id in report.exports:
                self.stdout.write(f"  export {export_id} for {username}")
            for username, reason in report.skipped:
                self.stdout.write(f"  skipped {username}: {reason}")
