"""Schedules: recurring exports, one export per recipient built under that recipient's own grants and
RLS identity (QuickSight takes one anonymous user per job).

Exactly once per occurrence: a tick locks the schedule row, computes the latest occurrence due by
`now`, and inserts the ScheduleRun unique on (schedule, scheduled_for); only the process whose
insert commits makes the exports. After downtime only the latest missed occurrence runs, marked
late. Each recipient's outcome row is unique on (run, user) and commits with that recipient's
export, so a run taken up again after a crash never makes a second export for anyone.

Recurrence rules and DST handling live in exports/recurrence.py; the request rules in
exports/snapshot.py (build_request), which every schedule and run goes through.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from exports import access, events, notify, recurrence
from exports.models import Export, Schedule, ScheduleOptOut, ScheduleRun, ScheduleRunRecipient
from exports.recurrence import Recurrence
from exports.rls import effective_identity, export_blocker
from exports.services import export_create
from exports.snapshot import SnapshotRequestInvalid, build_request, parse_spec

R = ScheduleRun.Status
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleProblem:
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class ScheduleInvalid(ValueError):
    """Every problem with a schedule, as `field: words [rule]` lines."""

    def __init__(self, problems: list):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- the recurrence of a schedule ---


def recurrence_of(schedule: Schedule) -> Recurrence:
    return recurrence.of_schedule(schedule)


def _recurrence_fields(rec: Recurrence) -> dict[str, Any]:
    return {
        "kind": rec.kind,
        "at_time": rec.at_time,
        "weekdays": list(rec.weekdays),
        "month_day": rec.month_day,
        "cron": rec.cron,
        "timezone": rec.timezone,
    }


def words(schedule: Schedule) -> str:
    """'Every Monday at 07:00, Europe/Paris'."""
    return recurrence_of(schedule).words()


def upcoming(schedule: Schedule, *, now: datetime | None = None, count: int = 3) -> list[datetime]:
    """The next `count` run times, in the schedule's zone (from its next unrun occurrence on)."""
    now = now or timezone.now()
    start = min(now, schedule.next_run_at) if schedule.next_run_at else now
    return recurrence.next_runs(recurrence_of(schedule), start - timedelta(microseconds=1), count)


# --- recipients ---


def resolve_recipients(names: list[str]) -> tuple[list, list[Group], list[ScheduleProblem]]:
    """'alice', 'group:Sales' -> users and groups; every unknown name is a problem."""
    User = get_user_model()
    users, groups, problems = [], [], []
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name.lower().startswith("group:"):
            group = Group.objects.filter(name=name[6:].strip()).first()
            if group is None:
                problems.append(ScheduleProblem("recipients", "recipient-exists", f"no group {name[6:].strip()!r}"))
            else:
                groups.append(group)
            continue
        user = User.objects.filter(username=name).first()
        if user is None:
            problems.append(ScheduleProblem("recipients", "recipient-exists", f"no user {name!r}"))
        else:
            users.append(user)
    return users, groups, problems


def _people(owner, opted_out: bool, users, groups) -> list:
    """Everyone a schedule with these recipients reaches (active users), owner first unless opted out."""
    User = get_user_model()
    ids = {u.pk for u in users}
    ids |= set(User.objects.filter(groups__in=list(groups)).values_list("pk", flat=True)) if groups else set()
    # An owner who opted out gets nothing, even as a member of a recipient group.
    ids = ids - {owner.pk} if opted_out else ids | {owner.pk}
    people = list(User.objects.filter(pk__in=ids, is_active=True).order_by("username"))
    people.sort(key=lambda u: u.pk != owner.pk)
    return people


def recipients(schedule: Schedule) -> list:
    """Who gets an export at the next run: the owner (unless opted out), users, group members, minus opt-outs."""
    people = _people(
        schedule.owner, schedule.owner_opted_out, schedule.recipient_users.all(), schedule.recipient_groups.all()
    )
    opted_out = set(schedule.opt_outs.values_list("user_id", flat=True))
    return [p for p in people if p.pk not in opted_out]


# --- checks: limits and the spec ---


def _minutes(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _check(
    *, owner, spec: Any, rec: Recurrence, people: list, delivery: str, now: datetime, schedule: Schedule | None
) -> tuple[Any, list]:
    """The dashboard of a valid spec and every problem: spec rules (for the owner), delivery, limits."""
    problems: list = []
    dashboard = None
    try:
        parsed = parse_spec(spec)
    except SnapshotRequestInvalid as invalid:
        problems += invalid.problems
        parsed = None
    if parsed is not None:
        built = build_request(parsed, user=owner, export_id=uuid.uuid4())
        # The owner's own missing RLS identity only skips the owner at run time; the spec must hold.
        problems += [p for p in built.problems if p.rule != "rls-identity"]
        dashboard = built.dashboard
        if delivery == Schedule.Delivery.S3 and not parsed.destination:
            problems.append(
                ScheduleProblem("delivery", "delivery-destination", "S3 delivery needs a destination in the spec")
            )
    if delivery not in Schedule.Delivery.values:
        problems.append(ScheduleProblem("delivery", "delivery-kind", "choose LINK, ATTACH or S3"))

    others = Schedule.objects.filter(owner=owner).exclude(pk=schedule.pk if schedule else None).count()
    if others >= settings.SCHEDULES_PER_USER:
        problems.append(
            ScheduleProblem(
                "schedules",
                "schedules-per-user",
                f"you have {others} schedules; a user may have at most {settings.SCHEDULES_PER_USER}",
            )
        )
    if not people:
        problems.append(
            ScheduleProblem("recipients", "recipients-required", "name at least one recipient, or receive it yourself")
        )
    elif len(people) > settings.SCHEDULE_MAX_RECIPIENTS:
        problems.append(
            ScheduleProblem(
                "recipients",
                "recipients-per-schedule",
                f"this schedule reaches {len(people)} people; a schedule may have at most "
                f"{settings.SCHEDULE_MAX_RECIPIENTS} recipients",
            )
        )
    shortest = recurrence.shortest_interval(rec, now)
    minimum = timedelta(minutes=settings.SCHEDULE_MIN_INTERVAL_MINUTES)
    if shortest is not None and shortest < minimum:
        problems.append(
            ScheduleProblem(
                "cron" if rec.kind == "CRON" else "recurrence",
                "shortest-interval",
                f"runs as often as every {_minutes(shortest)}; a schedule runs at most once every {_minutes(minimum)}",
            )
        )
    return dashboard, problems


def schedule_check(
    *,
    owner,
    spec: Any,
    rec: Recurrence,
    recipient_users: list | tuple = (),
    recipient_groups: list | tuple = (),
    owner_opted_out: bool = False,
    delivery: str = Schedule.Delivery.LINK,
    schedule: Schedule | None = None,
    now: datetime | None = None,
) -> list:
    """Every problem creating (or, with `schedule`, changing) this schedule would meet; [] when none.
    What the schedule form shows live, before anything is saved."""
    people = _people(owner, owner_opted_out, recipient_users, recipient_groups)
    _, problems = _check(
        owner=owner,
        spec=spec,
        rec=rec,
        people=people,
        delivery=delivery,
        now=now or timezone.now(),
        schedule=schedule,
    )
    return problems


def _snapshot(schedule: Schedule) -> dict[str, Any]:
    """What auditors read about a schedule in its events (no RLS values: a spec cannot carry them)."""
    return {
        "dashboard": schedule.dashboard.dashboard_id,
        "spec": schedule.spec,
        "recurrence": words(schedule),
        "cron": recurrence_of(schedule).cron_expression(),
        "recipient_users": sorted(schedule.recipient_users.values_list("username", flat=True)),
        "recipient_groups": sorted(schedule.recipient_groups.values_list("name", flat=True)),
        "owner_opted_out": schedule.owner_opted_out,
        "delivery": schedule.delivery,
        "next_run_at": schedule.next_run_at,
    }


# --- writes: every change with its audit event, in one transaction ---


def schedule_create(
    *,
    owner,
    spec: Any,
    rec: Recurrence,
    recipient_users: list | tuple = (),
    recipient_groups: list | tuple = (),
    owner_opted_out: bool = False,
    delivery: str = Schedule.Delivery.LINK,
    now: datetime | None = None,
    ip_address: str | None = None,
) -> Schedule:
    """Create a schedule, or raise ScheduleInvalid with every problem (spec, delivery, limits)."""
    now = now or timezone.now()
    people = _people(owner, owner_opted_out, recipient_users, recipient_groups)
    with transaction.atomic():
        # Two creates at once must not both pass the per-user limit.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        dashboard, problems = _check(
            owner=owner, spec=spec, rec=rec, people=people, delivery=delivery, now=now, schedule=None
        )
        if problems:
            raise ScheduleInvalid(problems)
        schedule = Schedule.objects.create(
            owner=owner,
            dashboard=dashboard,
            spec=parse_spec(spec).as_json(),
            owner_opted_out=owner_opted_out,
            delivery=delivery,
            next_run_at=next(recurrence.occurrences(rec, now)),
            **_recurrence_fields(rec),
        )
        schedule.recipient_users.set(recipient_users)
        schedule.recipient_groups.set(recipient_groups)
        events.schedule_created(schedule=schedule, actor=owner, snapshot=_snapshot(schedule), ip_address=ip_address)
    return schedule


def schedule_update(
    *,
    schedule: Schedule,
    actor,
    spec: Any = None,
    rec: Recurrence | None = None,
    recipient_users: list | None = None,
    recipient_groups: list | None = None,
    owner_opted_out: bool | None = None,
    delivery: str | None = None,
    now: datetime | None = None,
    ip_address: str | None = None,
) -> Schedule:
    """Change what is given (None keeps it); the same checks as creating. The next run is recomputed."""
    now = now or timezone.now()
    rec = rec or recurrence_of(schedule)
    spec = schedule.spec if spec is None else spec
    users = list(schedule.recipient_users.all()) if recipient_users is None else list(recipient_users)
    groups = list(schedule.recipient_groups.all()) if recipient_groups is None else list(recipient_groups)
    opted_out = schedule.owner_opted_out if owner_opted_out is None else owner_opted_out
    delivery = delivery or schedule.delivery
    with transaction.atomic():
        before = _snapshot(schedule)
        dashboard, problems = _check(
            owner=schedule.owner,
            spec=spec,
            rec=rec,
            people=_people(schedule.owner, opted_out, users, groups),
            delivery=delivery,
            now=now,
            schedule=schedule,
        )
        if problems:
            raise ScheduleInvalid(problems)
        schedule.dashboard, schedule.spec = dashboard, parse_spec(spec).as_json()
        schedule.owner_opted_out, schedule.delivery = opted_out, delivery
        for name, value in _recurrence_fields(rec).items():
            setattr(schedule, name, value)
        schedule.next_run_at = next(recurrence.occurrences(rec, now))
        schedule.save()
        schedule.recipient_users.set(users)
        schedule.recipient_groups.set(groups)
        events.schedule_changed(
            schedule=schedule, actor=actor, before=before, after=_snapshot(schedule), ip_address=ip_address
        )
    return schedule


def schedule_pause(*, schedule: Schedule, reason: str, actor=None, ip_address: str | None = None) -> bool:
    """Pause (by its owner, an admin, or itself with actor=None); False if it was paused already."""
    with transaction.atomic():
        now = timezone.now()
        if (
            Schedule.objects.filter(pk=schedule.pk, is_paused=False).update(
                is_paused=True, pause_reason=reason, paused_at=now, updated_at=now
            )
            != 1
        ):
            return False
        schedule.is_paused, schedule.pause_reason, schedule.paused_at = True, reason, now
        events.schedule_paused(schedule=schedule, reason=reason, actor=actor, ip_address=ip_address)
        if actor is None:
            transaction.on_commit(lambda: notify.paused_mail(schedule, reason))
    return True


def schedule_resume(*, schedule: Schedule, actor, now: datetime | None = None, ip_address: str | None = None) -> bool:
    """Resume from the next occurrence on (what was missed while paused does not run)."""
    now = now or timezone.now()
    with transaction.atomic():
        following = next(recurrence.occurrences(recurrence_of(schedule), now))
        if (
            Schedule.objects.filter(pk=schedule.pk, is_paused=True).update(
                is_paused=False, pause_reason="", paused_at=None, consecutive_failures=0, next_run_at=following
            )
            != 1
        ):
            return False
        schedule.is_paused, schedule.pause_reason, schedule.consecutive_failures = False, "", 0
        schedule.next_run_at = following
        events.schedule_resumed(schedule=schedule, actor=actor, next_run_at=following, ip_address=ip_address)
    return True


def schedule_delete(*, schedule: Schedule, actor, ip_address: str | None = None) -> None:
    """Delete a schedule and its runs; its exports stay (marked scheduled) and history keeps every event."""
    with transaction.atomic():
        events.schedule_deleted(schedule=schedule, actor=actor, snapshot=_snapshot(schedule), ip_address=ip_address)
        schedule.delete()


def schedule_opt_out(*, schedule: Schedule, user, ip_address: str | None = None) -> bool:
    """A recipient stops receiving a schedule's export (the owner opts out with schedule_update)."""
    with transaction.atomic():
        _, created = ScheduleOptOut.objects.get_or_create(schedule=schedule, user=user)
        if created:
            events.schedule_opted(schedule=schedule, user=user, out=True, ip_address=ip_address)
    return created


def schedule_opt_in(*, schedule: Schedule, user, ip_address: str | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = ScheduleOptOut.objects.filter(schedule=schedule, user=user).delete()
        if deleted:
            events.schedule_opted(schedule=schedule, user=user, out=False, ip_address=ip_address)
    return bool(deleted)


# --- runs ---


@dataclass
class RunReport:
    """What one run made: for the beat's log and run_due_schedules' output."""

    run: ScheduleRun
    exports: list[tuple[str, str]] = field(default_factory=list)  # (username, export id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (username, reason)
    blocked: str = ""


def run_due(now: datetime | None = None) -> list[RunReport]:
    """Run every occurrence due by `now` (the beat tick, every minute). Safe to call any number of
    times, from any number of processes: each occurrence runs once."""
    now = now or timezone.now()
    reports = []
    due = Schedule.objects.filter(is_paused=False, next_run_at__lte=now).order_by("next_run_at", "pk")
    for schedule_id in due.values_list("pk", flat=True):
        run = claim_run(schedule_id, now)
        if run is not None:
            reports.append(run_execute(run))
    # A run whose process died while making its exports: take it up again (done recipients are kept).
    stale = timezone.now() - timedelta(seconds=settings.SCHEDULE_RUN_LEASE_SECONDS)
    for run in ScheduleRun.objects.filter(status=R.MAKING, claimed_at__lt=stale).select_related("schedule"):
        if ScheduleRun.objects.filter(pk=run.pk, status=R.MAKING, claimed_at=run.claimed_at).update(
            claimed_at=timezone.now()
        ):
            reports.append(run_execute(run))
    # Exports that ended without the end-of-export hook (cancelled by their requester).
    # (NOT IN a list holding NULL matches nothing: only exports of runs.)
    unfinished = Export.objects.filter(schedule_run__isnull=False).exclude(status__in=Export.TERMINAL)
    unfinished = unfinished.values("schedule_run_id")
    for run_id in ScheduleRun.objects.filter(status=R.WAITING).exclude(pk__in=unfinished).values_list("pk", flat=True):
        run_finish_if_ended(run_id)
    return reports


def claim_run(schedule_id: int, now: datetime) -> ScheduleRun | None:
    """Claim the latest occurrence due by `now`: the run row, or None if someone has it (or nothing is due)."""
    with transaction.atomic():
        # The row lock orders concurrent ticks; a tick that waited re-reads next_run_at and finds nothing due.
        schedule = (
            Schedule.objects.select_for_update().filter(pk=schedule_id, is_paused=False, next_run_at__lte=now).first()
        )
        if schedule is None:
            return None
        rec = recurrence_of(schedule)
        occurrence, missed = recurrence.latest_due(rec, schedule.next_run_at, now)
        following = next(recurrence.occurrences(rec, now))
        newer = occurrence is None or schedule.runs.filter(scheduled_for__gte=occurrence).exists()
        run = None
        if not newer:
            late = missed > 0 or (now - occurrence).total_seconds() > settings.SCHEDULE_LATE_AFTER_SECONDS
            try:
                with transaction.atomic():
                    run = ScheduleRun.objects.create(
                        schedule=schedule,
                        scheduled_for=occurrence,
                        claimed_at=timezone.now(),
                        is_late=late,
                        missed=missed,
                    )
            except IntegrityError:
                run = None  # the unique row: another process has this occurrence
        Schedule.objects.filter(pk=schedule.pk).update(next_run_at=following)
        if run is not None:
            events.run_started(schedule=schedule, run=run, scheduled_for=occurrence, late=run.is_late, missed=missed)
    if run is not None:
        log.info(
            "schedule %s: run %s for %s%s",
            schedule.pk,
            run.pk,
            occurrence.isoformat(),
            " (late)" if run.is_late else "",
        )
    return run


def schedule_blocker(schedule: Schedule) -> str | None:
    """Why the schedule cannot run any more and must pause (owner's access, the catalog); None if it can."""
    owner, dashboard = schedule.owner, schedule.dashboard
    if not owner.is_active:
        return f"{owner.username}'s account is deactivated."
    if dashboard.is_stale:
        return f"{dashboard.name} is no longer in QuickSight."
    if not access.granted_dashboards(owner).filter(pk=dashboard.pk).exists():
        return f"{owner.username} no longer has access to {dashboard.name}."
    try:
        built = build_request(parse_spec(schedule.spec), user=owner, export_id=uuid.uuid4(), dashboard=dashboard)
        problems = [p for p in built.problems if p.rule != "rls-identity"]
    except SnapshotRequestInvalid as invalid:
        problems = invalid.problems
    if problems:
        # The owner reads this (schedule pages, mail): words only, no rule ids or request paths.
        return "The export can no longer be built: " + "; ".join(p.message for p in problems)
    return None


def recipient_skip(schedule: Schedule, user) -> tuple[str, str] | None:
    """(code, reason) when this recipient cannot get their own export now; the reason names no RLS value."""
    dashboard = schedule.dashboard
    if not user.is_active:
        return "inactive", f"{user.username}'s account is deactivated"
    if not access.granted_dashboards(user).filter(pk=dashboard.pk).exists():
        return "no-grant", f"{user.username} has no access to {dashboard.name}"
    if export_blocker(effective_identity(user, dashboard), dashboard):
        keys = ", ".join(dashboard.rls_tag_keys)
        return "no-rls-identity", f"{user.username} has no row-level security identity for {dashboard.name} ({keys})"
    destination = (schedule.spec or {}).get("destination")
    if destination and not access.allowed_destinations(user, dashboard).filter(name=destination).exists():
        return "destination", f"the S3 destination {destination} is not open to {user.username}"
    return None


def schedule_run_now(*, schedule: Schedule, actor, now: datetime | None = None, ip_address: str | None = None):
    """One occurrence now, at the owner's request: the same run as a tick's (one export per recipient,
    through the queue), within SCHEDULE_MIN_INTERVAL_MINUTES of the last run. The recurrence is unchanged.
    Returns the RunReport, or raises ScheduleInvalid saying why not."""
    now = now or timezone.now()
    minimum = timedelta(minutes=settings.SCHEDULE_MIN_INTERVAL_MINUTES)
    with transaction.atomic():
        # The row lock orders two clicks (and a tick): the second sees the first's run.
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if schedule.is_paused:
            raise ScheduleInvalid([ScheduleProblem("schedule", "run-now-paused", "resume the schedule to run it")])
        last = schedule.runs.order_by("-claimed_at").values_list("claimed_at", flat=True).first()
        if last is not None and now - last < minimum:
            raise ScheduleInvalid(
                [
                    ScheduleProblem(
                        "schedule",
                        "shortest-interval",
                        f"it last ran {_minutes(now - last)} ago; a schedule runs at most once every "
                        f"{_minutes(minimum)}",
                    )
                ]
            )
        try:
            with transaction.atomic():
                run = ScheduleRun.objects.create(schedule=schedule, scheduled_for=now, claimed_at=timezone.now())
        except IntegrityError:
            raise ScheduleInvalid(
                [ScheduleProblem("schedule", "run-once", "this occurrence is running already")]
            ) from None
        events.run_started(
            schedule=schedule,
            run=run,
            scheduled_for=now,
            late=False,
            missed=0,
            actor=actor,
            ip_address=ip_address,
            run_now=True,
        )
    return run_execute(run)


def run_execute(run: ScheduleRun) -> RunReport:
    """Make one export per recipient, each under the recipient's own identity; skip who cannot have one."""
    schedule = Schedule.objects.select_related("owner", "dashboard").get(pk=run.schedule_id)
    run.schedule = schedule
    report = RunReport(run)
    blocker = schedule_blocker(schedule)
    if blocker:
        report.blocked = blocker
        with transaction.atomic():
            if ScheduleRun.objects.filter(pk=run.pk, status=R.MAKING).update(
                status=R.BLOCKED, message=blocker, finished_at=timezone.now()
            ):
                run.status = R.BLOCKED
                events.run_ended(schedule=schedule, run=run, status=R.BLOCKED, reason=blocker)
                schedule_pause(schedule=schedule, reason=blocker)
        return report

    for user in recipients(schedule):
        if run.recipients.filter(user=user).exists():
            continue  # done by an earlier attempt of this run
        skip = recipient_skip(schedule, user)
        try:
            with transaction.atomic():
                outcome = ScheduleRunRecipient.objects.create(
                    run=run, user=user, skip_code=skip[0] if skip else "", skip_reason=skip[1] if skip else ""
                )
                if skip is None:
                    export = export_create(user=user, spec=schedule.spec)
                    Export.objects.filter(pk=export.pk).update(schedule_run=run, is_scheduled=True)
                    outcome.export = export
                    outcome.save(update_fields=["export"])
        except IntegrityError:
            continue  # another process took this recipient
        except SnapshotRequestInvalid as invalid:
            skip = ("spec-invalid", f"{user.username}: " + "; ".join(p.message for p in invalid.problems))
            with transaction.atomic():
                ScheduleRunRecipient.objects.get_or_create(
                    run=run, user=user, defaults={"skip_code": skip[0], "skip_reason": skip[1]}
                )

    outcomes = list(run.recipients.select_related("user").order_by("user__username"))
    report.exports = [(o.user.username, str(o.export_id)) for o in outcomes if o.export_id]
    report.skipped = [(o.user.username, o.skip_reason) for o in outcomes if not o.export_id]
    with transaction.atomic():
        to = R.WAITING if report.exports else R.FAILED
        if ScheduleRun.objects.filter(pk=run.pk, status=R.MAKING).update(status=to):
            run.status = to
            events.run_made(schedule=schedule, run=run, exports=report.exports, skipped=report.skipped)
            if report.skipped:
                transaction.on_commit(lambda: notify.skipped_mail(run, report.skipped))
    if run.status == R.FAILED:
        _run_ended(run, R.FAILED, "No recipient could get an export.")
    return report


def run_finish_if_ended(run_id: int) -> bool:
    """Once every export of a waiting run has ended: SUCCEEDED if one completed, else FAILED."""
    statuses = set(Export.objects.filter(schedule_run_id=run_id).values_list("status", flat=True))
    if not statuses or not statuses <= Export.TERMINAL:
        return False
    run = ScheduleRun.objects.select_related("schedule__owner", "schedule__dashboard").get(pk=run_id)
    if statuses & Export.WITH_FILES:
        return _run_ended(run, R.SUCCEEDED, "")
    return _run_ended(run, R.FAILED, "No export of this run completed.")


def _run_ended(run: ScheduleRun, to: str, message: str) -> bool:
    """Count the schedule's failures in a row; past the setting, pause it and tell the owner."""
    schedule = run.schedule
    with transaction.atomic():
        if (
            ScheduleRun.objects.filter(pk=run.pk, status__in=[R.MAKING, R.WAITING, R.FAILED], finished_at=None).update(
                status=to, message=message, finished_at=timezone.now()
            )
            != 1
        ):
            return False
        run.status = to
        if to == R.SUCCEEDED:
            Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=0)
        else:
            Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=F("consecutive_failures") + 1)
        failures = Schedule.objects.values_list("consecutive_failures", flat=True).get(pk=schedule.pk)
        events.run_ended(schedule=schedule, run=run, status=to, reason=message, consecutive_failures=failures)
        limit = settings.SCHEDULE_MAX_CONSECUTIVE_FAILURES
        if to == R.FAILED and failures >= limit:
            schedule_pause(schedule=schedule, reason=f"its last {failures} runs failed (the limit is {limit}).")
    return True


def schedules_of(user) -> Any:
    """Schedules a user owns or receives (the later My schedules page)."""
    return (
        Schedule.objects.filter(Q(owner=user) | Q(recipient_users=user) | Q(recipient_groups__in=user.groups.all()))
        .distinct()
        .select_related("dashboard", "owner")
    )
