"""manage.py schedule_export and run_due_schedules: what scripts and the beat see."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from exports.models import Export, Schedule, ScheduleRun
from tests.factories import make_sales_catalog
from tests.services import ROOT, worker_env

SPEC = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]}


# Exports are created here, not run: their wake-ups are collected (conftest no_broker).
pytestmark = pytest.mark.usefixtures("no_broker")


@pytest.fixture
def spec_file(tmp_path, demo_users):
    make_sales_catalog()
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    return str(path)


def run(command: str, *args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(command, *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
def test_schedule_export_creates_the_schedule_and_prints_it_with_its_next_runs(spec_file, time_machine):
    time_machine.move_to("2026-11-25T12:00:00+00:00")
    code, out = run(
        "schedule_export",
        "--user",
        "alice",
        "--every",
        "weekly mon 07:00 Europe/Paris",
        "--recipients",
        "bob",
        spec_file,
    )

    assert code == 0, out
    schedule = Schedule.objects.get()
    assert out.splitlines() == [
        f"schedule {schedule.pk}: Sales overview, Every Monday at 07:00, Europe/Paris",
        "recipients: alice, bob",
        "next run: 2026-11-30T07:00:00+01:00",
        "next run: 2026-12-07T07:00:00+01:00",
        "next run: 2026-12-14T07:00:00+01:00",
    ]
    assert schedule.owner.username == "alice" and schedule.spec == SPEC


@pytest.mark.django_db
def test_schedule_export_takes_a_cron_with_its_zone_and_groups(spec_file):
    code, out = run(
        "schedule_export",
        "--user",
        "alice",
        "--cron",
        "0 7 * * 1",
        "--tz",
        "America/New_York",
        "--recipients",
        "group:Analysts",
        "--owner-opts-out",
        spec_file,
    )

    assert code == 0, out
    schedule = Schedule.objects.get()
    assert (schedule.kind, schedule.cron, schedule.timezone) == ("CRON", "0 7 * * 1", "America/New_York")
    assert out.splitlines()[0].endswith("At 07:00, only on Monday, America/New_York")
    assert out.splitlines()[1] == "recipients: bob"  # alice opted out; Analysts are alice and bob


@pytest.mark.django_db
def test_schedule_export_prints_every_problem_one_a_line_and_exits_2(spec_file, tmp_path):
    code, out = run(
        "schedule_export",
        "--user",
        "alice",
        "--every",
        "weekly mon 25:00 Mars/Olympus",
        "--recipients",
        "bob,nobody,group:Ghosts",
        spec_file,
    )
    assert code == 2
    assert out.splitlines() == [
        "timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris) [timezone-iana]",
        "time: '25:00' is not a time of day as HH:MM (00:00-23:59) [time-hh-mm]",
        "recipients: no user 'nobody' [recipient-exists]",
        "recipients: no group 'Ghosts' [recipient-exists]",
    ]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dashboard": "sales", "files": [{"format": "CSV", "visual": "margin-bars"}]}))
    code, out = run("schedule_export", "--user", "alice", "--cron", "*/15 * * * *", str(bad))
    assert code == 2
    assert out.splitlines() == [
        "files[0].visual: 'Margin by product' is a bar chart; CSV and Excel export only tables and pivot tables "
        "[visual-tabular]",
        "cron: runs as often as every 15 minutes; a schedule runs at most once every 60 minutes [shortest-interval]",
    ]

    code, out = run("schedule_export", "--user", "alice", "--every", "daily 07:00", "--cron", "0 7 * * *", spec_file)
    assert (code, out) == (2, "every: give --every or --cron, not both [one-recurrence]\n")
    code, out = run("schedule_export", "--user", "alice", spec_file)
    assert (code, out) == (2, "every: give --every or --cron [recurrence-required]\n")
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_run_due_schedules_prints_the_runs_and_exports_and_a_second_call_makes_nothing(spec_file, time_machine):
    # Made the week before: a schedule's first run is the next one after its creation.
    time_machine.move_to("2026-11-25T12:00:00+00:00")
    run(
        "schedule_export",
        "--user",
        "alice",
        "--every",
        "weekly mon 07:00 Europe/Paris",
        "--recipients",
        "bob",
        spec_file,
    )

    assert run("run_due_schedules", "--now", "2026-11-30T06:59:00+01:00") == (0, "nothing due\n")
    code, out = run("run_due_schedules", "--now", "2026-11-30T07:00:30+01:00")

    assert code == 0
    run_row = ScheduleRun.objects.get()
    exports = {e.user.username: e.pk for e in Export.objects.select_related("user")}
    assert out.splitlines() == [
        f"run {run_row.pk}: schedule {run_row.schedule_id} (Sales overview) for 2026-11-30T06:00:00+00:00",
        f"  export {exports['alice']} for alice",
        f"  export {exports['bob']} for bob",
    ]
    assert run("run_due_schedules", "--now", "2026-11-30T07:00:30+01:00") == (0, "nothing due\n")
    assert Export.objects.count() == 2


@pytest.mark.django_db
def test_run_due_schedules_refuses_a_moment_that_is_not_iso_8601(demo_users):
    code, out = run("run_due_schedules", "--now", "next monday")
    assert code == 2
    assert out == "--now: 'next monday' is not an ISO 8601 date-time (e.g. 2026-11-30T07:00:00+01:00)\n"


@pytest.mark.django_db(transaction=True)
def test_real_processes_exit_with_the_documented_codes(demo_users, tmp_path):
    make_sales_catalog()
    env = worker_env()
    base = [sys.executable, "manage.py"]
    create = base + ["schedule_export", "--user", "alice", "--every", "daily 07:00 Europe/Paris", "-"]
    ok = subprocess.run(create, input=json.dumps(SPEC), capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "Every day at 07:00, Europe/Paris" in ok.stdout

    refused = subprocess.run(
        create[:-1] + ["--recipients", "nobody", "-"],
        input=json.dumps(SPEC),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2 and refused.stdout == "recipients: no user 'nobody' [recipient-exists]\n"

    tick = base + ["run_due_schedules", "--now", "2030-01-01T12:00:00Z"]
    # REDIS_URL=None: the embedded broker under this test's own folder, so the wake-up goes nowhere shared.
    env = worker_env(REDIS_URL=None, VAR_DIR=str(tmp_path))
    first = subprocess.run(tick, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    second = subprocess.run(tick, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert first.returncode == 0 and "(late, " in first.stdout and "for alice" in first.stdout, first.stderr
    assert (second.returncode, second.stdout) == (0, "nothing due\n")
