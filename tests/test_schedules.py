"""Schedules in the database: creating within the limits, runs claimed once per occurrence, one export
per recipient under their own identity, skips, pauses, DST with a frozen clock, and the mails."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.utils.html import escape

from exports import events, jobs, recurrence, schedules
from exports.models import AuditEvent, Export, ExportFile, Grant, Schedule, ScheduleRun, Visual
from exports.schedules import ScheduleInvalid
from tests.factories import make_sales_catalog

R = ScheduleRun.Status
SPEC = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]}
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
MONDAY_7_PARIS = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Exports are created here, not run: their wake-ups are collected (conftest no_broker).
pytestmark = pytest.mark.usefixtures("no_broker")


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


@pytest.fixture
def frank(sales):
    """An analyst (so granted) without any RLS tag."""
    user = get_user_model().objects.create_user("frank", "frank@example.com", "frank-pw")
    user.groups.add(Group.objects.get(name="Analysts"))
    return user


def create(owner, every="weekly mon 07:00 Europe/Paris", *, users=(), groups=(), now=CREATED, **options) -> Schedule:
    rec = recurrence.parse_every(every, default_timezone="UTC")
    return schedules.schedule_create(
        owner=owner,
        spec=options.pop("spec", SPEC),
        rec=rec,
        recipient_users=list(users),
        recipient_groups=list(groups),
        now=now,
        **options,
    )


def exports_of(run: ScheduleRun) -> dict[str, Export]:
    return {e.user.username: e for e in Export.objects.filter(schedule_run=run).select_related("user")}


def tags(export: Export) -> list[dict]:
    return export.request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]


def schedule_actions(schedule: Schedule) -> list[str]:
    events = AuditEvent.objects.filter(object_type="exports.schedule", object_id=str(schedule.pk)).order_by("seq")
    return list(events.values_list("action", flat=True))


# --- creating ---


@pytest.mark.django_db
def test_create_stores_the_spec_recurrence_and_first_run_and_audits_it(sales, alice, bob):
    schedule = create(alice, users=[bob])

    assert schedules.words(schedule) == "Every Monday at 07:00, Europe/Paris"
    assert schedule.next_run_at == MONDAY_7_PARIS
    assert [m.isoformat() for m in schedules.upcoming(schedule, now=CREATED)] == [
        "2026-11-30T07:00:00+01:00",
        "2026-12-07T07:00:00+01:00",
        "2026-12-14T07:00:00+01:00",
    ]
    assert schedule.spec == SPEC and schedule.dashboard == sales.dashboard
    assert [u.username for u in schedules.recipients(schedule)] == ["alice", "bob"]
    event = AuditEvent.objects.get(action="schedule.created")
    assert event.actor_username == "alice"
    assert event.data["recurrence"] == "Every Monday at 07:00, Europe/Paris"
    assert event.data["recipient_users"] == ["bob"] and event.data["cron"] == "0 7 * * 1"


@pytest.mark.django_db
def test_a_spec_the_owner_cannot_build_is_refused_with_its_rules(sales, alice, carol):
    bad = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "margin-bars"}]}
    with pytest.raises(ScheduleInvalid) as refused:
        create(alice, spec=bad)
    assert [str(p) for p in refused.value.problems] == [
        "files[0].visual: 'Margin by product' is a bar chart; CSV and Excel export only tables and pivot tables "
        "[visual-tabular]"
    ]
    with pytest.raises(ScheduleInvalid) as refused:
        create(carol)
    assert [p.rule for p in refused.value.problems] == ["dashboard-granted"]
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_limits_are_refused_with_messages_naming_the_rule(settings, sales, alice, bob, frank):
    settings.SCHEDULES_PER_USER = 1
    settings.SCHEDULE_MAX_RECIPIENTS = 2
    create(alice)

    with pytest.raises(ScheduleInvalid) as refused:
        create(alice, users=[bob, frank])
    assert [str(p) for p in refused.value.problems] == [
        "schedules: you have 1 schedules; a user may have at most 1 [schedules-per-user]",
        "recipients: this schedule reaches 3 people; a schedule may have at most 2 recipients "
        "[recipients-per-schedule]",
    ]

    settings.SCHEDULES_PER_USER = 5
    cron = recurrence.build(kind="CRON", cron="*/30 8-18 * * 1-5", timezone="Europe/Paris")
    with pytest.raises(ScheduleInvalid) as refused:
        schedules.schedule_create(owner=alice, spec=SPEC, rec=cron, now=CREATED)
    assert [str(p) for p in refused.value.problems] == [
        "cron: runs as often as every 30 minutes; a schedule runs at most once every 60 minutes [shortest-interval]"
    ]
    hourly = recurrence.build(kind="CRON", cron="0 8-18 * * 1-5", timezone="Europe/Paris")
    assert schedules.schedule_create(owner=alice, spec=SPEC, rec=hourly, now=CREATED).pk


@pytest.mark.django_db
def test_s3_delivery_needs_a_destination_and_nobody_to_receive_is_refused(sales, alice):
    with pytest.raises(ScheduleInvalid) as refused:
        create(alice, delivery=Schedule.Delivery.S3, owner_opted_out=True)
    assert [str(p) for p in refused.value.problems] == [
        "delivery: S3 delivery needs a destination in the spec [delivery-destination]",
        "recipients: name at least one recipient, or receive it yourself [recipients-required]",
    ]


# --- runs: once per occurrence, one export per recipient under their own identity ---


@pytest.mark.django_db
def test_a_run_makes_one_export_per_recipient_under_their_own_identity(sales, alice, bob):
    schedule = create(alice, users=[bob])

    assert schedules.run_due(MONDAY_7_PARIS - timedelta(seconds=1)) == []
    (report,) = schedules.run_due(MONDAY_7_PARIS + timedelta(seconds=20))

    run = report.run
    assert run.scheduled_for == MONDAY_7_PARIS and not run.is_late and run.status == R.WAITING
    made = exports_of(run)
    assert sorted(made) == ["alice", "bob"]
    assert tags(made["alice"]) == [{"Key": "region", "Value": "EMEA"}]
    assert tags(made["bob"]) == [{"Key": "region", "Value": "AMER"}]
    assert all(e.is_scheduled and e.status == Export.Status.PENDING and e.spec == SPEC for e in made.values())
    assert sorted(report.exports) == sorted((u, str(e.pk)) for u, e in made.items())
    # Each export has its own requested event, as the form's exports do.
    assert AuditEvent.objects.filter(action="export.requested", export__in=made.values()).count() == 2
    schedule.refresh_from_db()
    assert schedule.next_run_at == MONDAY_7_PARIS + timedelta(days=7)


@pytest.mark.django_db
def test_run_due_twice_for_the_same_moment_makes_nothing_the_second_time(sales, alice, bob):
    create(alice, users=[bob])
    now = MONDAY_7_PARIS + timedelta(seconds=5)

    assert len(schedules.run_due(now)) == 1
    assert schedules.run_due(now) == []
    assert schedules.run_due(now + timedelta(seconds=50)) == []
    assert ScheduleRun.objects.count() == 1 and Export.objects.count() == 2


@pytest.mark.django_db
def test_a_retried_tick_that_read_the_schedule_before_the_claim_makes_nothing(sales, alice, bob):
    schedule = create(alice, users=[bob])
    now = MONDAY_7_PARIS + timedelta(seconds=5)
    schedules.run_due(now)
    # What a tick that read the row before the first claim committed still sees: the same occurrence due.
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=MONDAY_7_PARIS)

    assert schedules.run_due(now + timedelta(seconds=30)) == []
    assert ScheduleRun.objects.count() == 1 and Export.objects.count() == 2
    schedule.refresh_from_db()
    assert schedule.next_run_at == MONDAY_7_PARIS + timedelta(days=7)


@pytest.mark.django_db
def test_after_downtime_only_the_latest_missed_occurrence_runs_once_marked_late(sales, alice, bob):
    create(alice, users=[bob])
    back = MONDAY_7_PARIS + timedelta(days=21, hours=3)  # three Mondays later, at 10:00 Paris

    (report,) = schedules.run_due(back)
    assert schedules.run_due(back + timedelta(minutes=1)) == []

    run = report.run
    assert run.scheduled_for == MONDAY_7_PARIS + timedelta(days=21)
    assert run.is_late and run.missed == 3
    assert ScheduleRun.objects.count() == 1 and Export.objects.count() == 2
    event = AuditEvent.objects.get(action="schedule.run_started")
    assert event.data["late"] is True and event.data["missed"] == 3


@pytest.mark.django_db
def test_a_recipient_without_rls_identity_is_skipped_with_the_reason_and_the_owner_is_told(
    sales, alice, bob, frank, carol, django_capture_on_commit_callbacks
):
    create(alice, users=[bob, frank, carol])

    with django_capture_on_commit_callbacks(execute=True):
        (report,) = schedules.run_due(MONDAY_7_PARIS)

    assert sorted(exports_of(report.run)) == ["alice", "bob"]
    skipped = {o.user.username: (o.skip_code, o.skip_reason) for o in report.run.recipients.filter(export=None)}
    assert skipped == {
        "carol": ("no-grant", "carol has no access to Sales overview"),
        "frank": ("no-rls-identity", "frank has no row-level security identity for Sales overview (region)"),
    }
    (owner_mail,) = [m for m in mail.outbox if m.to == [alice.email]]
    assert owner_mail.subject.startswith("Sales overview: 2 recipient(s) skipped in the run of Monday 30 November 2026")
    assert "  - frank: frank has no row-level security identity for Sales overview (region)" in owner_mail.body
    assert "EMEA" not in owner_mail.body and "AMER" not in owner_mail.body
    made = AuditEvent.objects.get(action="schedule.run_made")
    assert {s["user"] for s in made.data["skipped"]} == {"carol", "frank"}


@pytest.mark.django_db
def test_opted_out_recipients_and_owner_get_nothing(sales, alice, bob, frank):
    schedule = create(alice, users=[bob], groups=[Group.objects.get(name="Analysts")], owner_opted_out=True)
    assert schedules.schedule_opt_out(schedule=schedule, user=frank)

    (report,) = schedules.run_due(MONDAY_7_PARIS)

    assert sorted(exports_of(report.run)) == ["bob"]
    assert report.skipped == []
    assert "schedule.opted_out" in schedule_actions(schedule)


@pytest.mark.django_db
def test_revoked_owner_grant_pauses_the_schedule_with_the_reason(sales, alice, bob, django_capture_on_commit_callbacks):
    schedule = create(alice, users=[bob])
    Grant.objects.filter(dashboard=sales.dashboard).delete()
    Grant.objects.create(dashboard=sales.dashboard, user=bob)  # bob could still export: alice's schedule stops

    with django_capture_on_commit_callbacks(execute=True):
        (report,) = schedules.run_due(MONDAY_7_PARIS)

    schedule.refresh_from_db()
    assert schedule.is_paused and schedule.pause_reason == "alice no longer has access to Sales overview."
    assert report.run.status == R.BLOCKED and report.blocked == schedule.pause_reason
    assert not Export.objects.exists()
    (owner_mail,) = mail.outbox
    assert owner_mail.to == [alice.email] and "paused itself: alice no longer has access" in owner_mail.body
    assert schedules.run_due(MONDAY_7_PARIS + timedelta(days=7)) == []
    assert schedule_actions(schedule)[-2:] == ["schedule.run_ended", "schedule.paused"]


@pytest.mark.django_db
def test_a_visual_gone_from_the_catalog_pauses_the_schedule(sales, alice):
    schedule = create(alice)
    Visual.objects.filter(visual_id="order-lines").update(is_stale=True)

    (report,) = schedules.run_due(MONDAY_7_PARIS)

    schedule.refresh_from_db()
    assert schedule.is_paused
    assert schedule.pause_reason == (
        "The export can no longer be built: the dashboard has no visual 'order-lines' (any more)"
    )
    assert not Export.objects.exists()


@pytest.mark.django_db
def test_after_n_failed_runs_in_a_row_the_schedule_pauses_and_tells_the_owner(
    settings, sales, alice, frank, django_capture_on_commit_callbacks
):
    settings.SCHEDULE_MAX_CONSECUTIVE_FAILURES = 2
    schedule = create(alice, "daily 07:00 Europe/Paris", users=[frank], owner_opted_out=True)
    first = schedule.next_run_at

    with django_capture_on_commit_callbacks(execute=True):
        (one,) = schedules.run_due(first)
        schedule.refresh_from_db()
        assert (one.run.status, schedule.consecutive_failures, schedule.is_paused) == (R.FAILED, 1, False)
        (two,) = schedules.run_due(first + timedelta(days=1))

    schedule.refresh_from_db()
    assert two.run.status == R.FAILED and schedule.consecutive_failures == 2
    assert schedule.is_paused and schedule.pause_reason == "its last 2 runs failed (the limit is 2)."
    assert any("paused itself: its last 2 runs failed" in m.body for m in mail.outbox)
    assert schedules.run_due(first + timedelta(days=2)) == []

    assert schedules.schedule_resume(schedule=schedule, actor=alice, now=first + timedelta(days=2, hours=1))
    schedule.refresh_from_db()
    assert not schedule.is_paused and schedule.consecutive_failures == 0
    assert schedule.next_run_at == first + timedelta(days=3)  # what was missed while paused does not run


# --- DST with the clock pinned: the tick calls run_due() with the real time ---


def tick_at(moment: datetime) -> list:
    with time_machine.travel(moment, tick=False):
        return schedules.run_due()


@pytest.mark.django_db
def test_paris_spring_forward_runs_at_the_next_valid_minute_on_the_tick(sales, alice):
    create(alice, "daily 02:30 Europe/Paris", now=datetime(2026, 3, 28, 12, tzinfo=UTC))

    assert tick_at(datetime(2026, 3, 29, 0, 59, 30, tzinfo=UTC)) == []  # 01:59:30 CET
    (report,) = tick_at(datetime(2026, 3, 29, 1, 0, 10, tzinfo=UTC))  # 03:00:10 CEST

    assert report.run.scheduled_for == datetime(2026, 3, 29, 1, 0, tzinfo=UTC) and not report.run.is_late
    assert tick_at(datetime(2026, 3, 29, 1, 31, tzinfo=UTC)) == []  # 03:31 CEST: not a second run
    (next_day,) = tick_at(datetime(2026, 3, 30, 0, 30, 5, tzinfo=UTC))  # 02:30 CEST
    assert next_day.run.scheduled_for == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_paris_fall_back_runs_the_ambiguous_time_once_on_the_tick(sales, alice):
    create(alice, "daily 02:30 Europe/Paris", now=datetime(2026, 10, 24, 12, tzinfo=UTC))

    (report,) = tick_at(datetime(2026, 10, 25, 0, 30, 5, tzinfo=UTC))  # 02:30 CEST, the first
    assert tick_at(datetime(2026, 10, 25, 1, 30, 5, tzinfo=UTC)) == []  # 02:30 CET, the second

    assert report.run.scheduled_for == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert ScheduleRun.objects.count() == 1


@pytest.mark.django_db
def test_new_york_spring_forward_runs_at_the_next_valid_minute_on_the_tick(sales, alice):
    create(alice, "daily 02:30 America/New_York", now=datetime(2026, 3, 7, 12, tzinfo=UTC))
    assert tick_at(datetime(2026, 3, 8, 6, 59, tzinfo=UTC)) == []  # 01:59 EST
    (spring,) = tick_at(datetime(2026, 3, 8, 7, 0, 5, tzinfo=UTC))  # 03:00 EDT
    assert spring.run.scheduled_for == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_new_york_fall_back_runs_the_ambiguous_time_once_on_the_tick(sales, bob):
    create(bob, "daily 01:30 America/New_York", now=datetime(2026, 10, 31, 12, tzinfo=UTC))
    (fall,) = tick_at(datetime(2026, 11, 1, 5, 30, 5, tzinfo=UTC))  # 01:30 EDT
    assert tick_at(datetime(2026, 11, 1, 6, 30, 5, tzinfo=UTC)) == []  # 01:30 EST
    assert fall.run.scheduled_for == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


# --- exactly once with concurrent ticks on PostgreSQL ---


@pytest.mark.django_db(transaction=True)
def test_four_ticks_at_once_make_one_run(demo_users):
    # On PostgreSQL the row lock and the unique run row decide; SQLite serializes every writer anyway.
    make_sales_catalog()
    alice, bob = demo_users["alice"], demo_users["bob"]
    create(alice, users=[bob])
    start = threading.Barrier(4)
    reports, errors = [], []

    def tick():
        try:
            start.wait()
            reports.extend(schedules.run_due(MONDAY_7_PARIS + timedelta(seconds=3)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and len(reports) == 1
    assert ScheduleRun.objects.count() == 1
    assert sorted(Export.objects.values_list("user__username", flat=True)) == ["alice", "bob"]


# --- when a scheduled export ends ---


@pytest.mark.django_db
def test_each_recipient_is_mailed_a_link_to_their_export_page_and_the_run_then_succeeds(
    settings, sales, alice, bob, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://exports.example.com/"
    schedule = create(alice, users=[bob])
    (report,) = schedules.run_due(MONDAY_7_PARIS)
    made = exports_of(report.run)
    mail.outbox.clear()

    for username, export in made.items():
        Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED, finished_at=MONDAY_7_PARIS)
        ExportFile.objects.create(
            export=export, index=0, format="CSV", s3_uri=f"https://files.example/{username}?X-Signature=secret"
        )
        jobs.export_ended(export_id=export.pk)

    by_user = {m.to[0]: m for m in mail.outbox}
    assert set(by_user) == {alice.email, bob.email}  # no generic "your export" mail on top
    bob_mail = by_user[bob.email]
    assert (
        bob_mail.subject
        == "Sales overview: your scheduled export of Monday 30 November 2026, 07:00 (Europe/Paris) is ready"
    )
    assert f"Open it in the portal: https://exports.example.com/exports/{made['bob'].pk}/" in bob_mail.body
    assert "  - CSV #1: ready to download" in bob_mail.body
    assert "opt out of it in the portal (My schedules), or ask alice to pause it" in bob_mail.body
    assert "X-Signature" not in bob_mail.body and "files.example" not in bob_mail.body
    assert "pause it in the portal" in by_user[alice.email].body
    report.run.refresh_from_db()
    assert report.run.status == R.SUCCEEDED
    assert schedule_actions(schedule)[-1] == "schedule.run_ended"


@pytest.mark.django_db
def test_runs_whose_exports_all_failed_count_as_failed(sales, alice):
    schedule = create(alice)
    (report,) = schedules.run_due(MONDAY_7_PARIS)
    (export,) = exports_of(report.run).values()
    Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error_message="QuickSight said no.")
    jobs.export_ended(export_id=export.pk)

    report.run.refresh_from_db()
    schedule.refresh_from_db()
    assert report.run.status == R.FAILED and schedule.consecutive_failures == 1
    assert "QuickSight said no." in mail.outbox[-1].body and "failed" in mail.outbox[-1].subject


# --- every change is in the history ---


@pytest.mark.django_db
def test_every_change_writes_an_audit_event(sales, alice, bob):
    schedule = create(alice)
    schedules.schedule_update(
        schedule=schedule,
        actor=alice,
        rec=recurrence.parse_every("daily 08:00 UTC", default_timezone="UTC"),
        recipient_users=[bob],
        now=CREATED,
    )
    schedules.schedule_pause(schedule=schedule, actor=alice, reason="holidays")
    schedules.schedule_resume(schedule=schedule, actor=alice, now=CREATED)
    schedules.schedule_opt_out(schedule=schedule, user=bob)
    schedules.schedule_opt_in(schedule=schedule, user=bob)
    schedule_id = schedule.pk
    schedules.schedule_delete(schedule=schedule, actor=alice)

    events = AuditEvent.objects.filter(object_type="exports.schedule", object_id=str(schedule_id)).order_by("seq")
    assert [(e.action, e.actor_username) for e in events] == [
        ("schedule.created", "alice"),
        ("schedule.changed", "alice"),
        ("schedule.paused", "alice"),
        ("schedule.resumed", "alice"),
        ("schedule.opted_out", "bob"),
        ("schedule.opted_in", "bob"),
        ("schedule.deleted", "alice"),
    ]
    changed = events[1].data
    assert changed["before"]["recurrence"] == "Every Monday at 07:00, Europe/Paris"
    assert changed["after"]["recurrence"] == "Every day at 08:00, UTC"
    assert changed["after"]["recipient_users"] == ["bob"]
    assert events[2].data == {"reason": "holidays", "by_itself": False}


@pytest.mark.django_db
def test_attach_delivery_attaches_the_files_when_they_fit_and_says_so_when_not(settings, sales, alice, s3_server):
    s3_server.create_bucket(Bucket="finance-exports")
    s3_server.put_object(Bucket="finance-exports", Key="snapshots/a/regions.csv", Body=b"Region,Revenue\nEMEA,12\n")
    create(alice, delivery=Schedule.Delivery.ATTACH)

    def run_and_complete(moment):
        (report,) = schedules.run_due(moment)
        (export,) = exports_of(report.run).values()
        Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED)
        ExportFile.objects.create(
            export=export, index=0, format="CSV", s3_uri="s3://finance-exports/snapshots/a/regions.csv"
        )
        jobs.export_ended(export_id=export.pk)
        return mail.outbox[-1]

    fits = run_and_complete(MONDAY_7_PARIS)
    ((name, content, mimetype),) = fits.attachments
    assert re.fullmatch(r"Sales overview - [^/]+ - \d{4}-\d\d-\d\d \d{4} UTC\.csv", name) and mimetype == "text/csv"
    assert (content.encode() if isinstance(content, str) else content) == b"Region,Revenue\nEMEA,12\n"
    assert "The files are attached." in fits.body

    settings.SCHEDULE_ATTACHMENT_MAX_BYTES = 10
    too_large = run_and_complete(MONDAY_7_PARIS + timedelta(days=7))
    assert too_large.attachments == []
    assert "The files could not be attached (too large, or not reachable just now): use the portal." in too_large.body


@pytest.mark.django_db
def test_auditors_see_schedule_changes_and_runs_in_the_audit_log(client, sales, alice, audra):
    create(alice)
    schedules.run_due(MONDAY_7_PARIS)
    client.force_login(audra)

    page = client.get("/audit/events/").content.decode()

    for action in ("schedule.created", "schedule.run_started", "schedule.run_made"):
        assert (
            f"<td>{escape(events.words(action))}" in page and f"<code>{action}</code>" in page
        )  # words, then the name


@pytest.mark.django_db
def test_a_run_whose_export_was_cancelled_by_its_recipient_ends_at_the_next_tick(sales, alice, bob):
    create(alice, users=[bob])
    interactive = make_export_for_other_requests(alice)  # an interactive export still running
    (report,) = schedules.run_due(MONDAY_7_PARIS)
    made = exports_of(report.run)
    for export in made.values():
        # Cancelling one's own waiting export sends no end-of-export mail, so no hook runs.
        assert jobs.export_cancel(export=export, actor=export.user)

    assert schedules.run_due(MONDAY_7_PARIS + timedelta(minutes=1)) == []

    report.run.refresh_from_db()
    assert report.run.status == R.FAILED and report.run.message == "No export of this run completed."
    assert interactive.status == Export.Status.PENDING


def make_export_for_other_requests(user) -> Export:
    from exports.services import export_create

    return export_create(user=user, spec=SPEC)


@pytest.mark.django_db
def test_admins_see_every_schedule_and_pause_it_with_an_audit_event(client, sales, alice, demo_users):
    schedule = create(alice)
    schedules.run_due(MONDAY_7_PARIS)
    client.force_login(demo_users["admin"])

    listing = client.get("/admin/exports/schedule/")
    assert listing.status_code == 200 and "Every Monday at 07:00, Europe/Paris" in listing.content.decode()
    assert client.get(f"/admin/exports/schedule/{schedule.pk}/change/").status_code == 200
    response = client.post(
        "/admin/exports/schedule/", {"action": "pause", "_selected_action": [schedule.pk]}, follow=True
    )

    assert "1 schedule(s) paused." in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.is_paused and schedule.pause_reason == "Paused by admin."
    assert schedule_actions(schedule)[-1] == "schedule.paused"


def test_beat_ticks_every_minute_with_the_registered_task(settings, db):  # celery's Django fixup closes connections
    from portal.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["run-due-schedules"]
    assert entry == {"task": "exports.tasks.run_due_schedules", "schedule": 60.0}
    assert entry["task"] in app.tasks
