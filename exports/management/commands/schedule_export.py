"""Create a schedule from the same JSON spec as build_snapshot_request: the way scripts schedule exports."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from exports import recurrence, schedules
from exports.management.commands.build_snapshot_request import EXIT_INVALID, spec_or_exit, user_or_exit
from exports.models import Schedule


class Command(BaseCommand):
    help = (
        "Create a schedule for --user from a SPEC (a JSON file, or - for stdin) and print it with its next "
        "three runs (exit 0), or every problem, one a line (exit 2)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username of the owner (the spec is checked for them).")
        parser.add_argument(
            "--every",
            help='A preset: "daily 07:00 Europe/Paris", "weekly mon,thu 07:00 Europe/Paris", '
            '"monthly 15 07:00 Europe/Paris" or "monthly last 07:00 Europe/Paris".',
        )
        parser.add_argument("--cron", help='A 5-field cron expression, e.g. "0 7 * * 1" (with --tz).')
        parser.add_argument("--tz", help=f"IANA time zone of --cron (default {settings.TIME_ZONE}).")
        parser.add_argument("--recipients", default="", help="Comma-separated usernames and group:NAME entries.")
        parser.add_argument("--owner-opts-out", action="store_true", help="The owner does not receive the export.")
        parser.add_argument(
            "--delivery", default="link", choices=["link", "attach", "s3"], help="How each recipient gets the files."
        )
        parser.add_argument("spec", help="Path to a JSON spec, or - to read it from stdin.")

    def handle(self, *args, user: str, spec: str, **options):
        owner = user_or_exit(user)
        data = spec_or_exit(spec, self.stdout)
        problems: list = []
        rec = None
        every, cron, tz = options.get("every"), options.get("cron"), options.get("tz")
        try:
            if every and cron:
                problems.append(
                    schedules.ScheduleProblem("every", "one-recurrence", "give --every or --cron, not both")
                )
            elif every:
                if tz:
                    problems.append(
                        schedules.ScheduleProblem(
                            "tz", "tz-with-cron", "--tz goes with --cron; put the zone in --every"
                        )
                    )
                rec = recurrence.parse_every(every, default_timezone=settings.TIME_ZONE)
            elif cron:
                rec = recurrence.build(kind="CRON", cron=cron, timezone=tz or settings.TIME_ZONE)
            else:
                problems.append(schedules.ScheduleProblem("every", "recurrence-required", "give --every or --cron"))
        except recurrence.RecurrenceInvalid as invalid:
            problems += invalid.problems
        names = [n for n in (options.get("recipients") or "").split(",") if n.strip()]
        users, groups, recipient_problems = schedules.resolve_recipients(names)
        problems += recipient_problems
        if problems or rec is None:
            self._refuse(problems)
        try:
            schedule = schedules.schedule_create(
                owner=owner,
                spec=data,
                rec=rec,
                recipient_users=users,
                recipient_groups=groups,
                owner_opted_out=options.get("owner_opts_out", False),
                delivery=getattr(Schedule.Delivery, options.get("delivery", "link").upper()),
            )
        except schedules.ScheduleInvalid as invalid:
            self._refuse(invalid.problems)
        self.stdout.write(f"schedule {schedule.pk}: {schedule.dashboard.name}, {schedules.words(schedule)}")
        people = ", ".join(u.username for u in schedules.recipients(schedule))
        self.stdout.write(f"recipients: {people}")
        for when in schedules.upcoming(schedule):
            self.stdout.write(f"next run: {when.isoformat()}")

    def _refuse(self, problems: list) -> None:
        for problem in problems:
            self.stdout.write(str(problem))
        sys.exit(EXIT_INVALID)
