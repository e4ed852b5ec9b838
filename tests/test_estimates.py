"""How long an export should take (exports/estimates.py), the polls around that end (exports/jobs.py),
and what people are told: "about 15 s left", "taking longer than usual", a waiting export's start."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from exports import estimates, jobs
from exports.models import Export
from tests.history_factory import build_export, make_dashboard
from tests.jobs_support import make_export as make_job_export
from tests.test_api import bearer
from tests.test_jobs_lifecycle import expect_describe, expect_result, expect_start, file_result, key, make_due

S = Export.Status
ARN = "arn:aws:quicksight:us-east-1:111122223333:dashboard/sales-overview/snapshot-job/x"


def finished(user, dashboard, run_seconds, *, formats=("CSV",), status=S.COMPLETED, ago=0.0) -> Export:
    export = build_export(user, dashboard, status=status, formats=formats)
    export.run_seconds = run_seconds
    export.finished_at = timezone.now() - timedelta(seconds=ago)
    export.save(force_insert=True)
    return export


# --- the estimate ---


@pytest.mark.django_db
def test_the_first_exports_of_a_dashboard_are_expected_to_take_the_default(settings, alice):
    settings.EXPORT_ESTIMATE_DEFAULT_SECONDS = 45
    dashboard = make_dashboard()
    finished(alice, make_dashboard("costs", "Costs"), 12.0)  # another dashboard teaches nothing

    assert estimates.duration(dashboard.pk, "CSV") == estimates.Estimate(45, 0)


@pytest.mark.django_db
def test_the_estimate_is_the_upper_quartile_of_completed_runs_of_the_same_dashboard_and_formats(alice):
    dashboard = make_dashboard()
    for seconds in (10.0, 12.0, 14.0, 20.0):
        finished(alice, dashboard, seconds)
    finished(alice, dashboard, 300.0, formats=("PDF",))  # other formats
    finished(alice, dashboard, 300.0, formats=("CSV", "CSV"))  # two CSVs are other formats too
    finished(alice, dashboard, 1.0, status=S.FAILED)  # a failed job says nothing about a good one

    assert estimates.duration(dashboard.pk, "CSV") == estimates.Estimate(14.0, 4)
    assert estimates.duration(dashboard.pk, "PDF") == estimates.Estimate(300.0, 1)


@pytest.mark.django_db
def test_the_estimate_follows_the_latest_runs(settings, alice):
    settings.EXPORT_ESTIMATE_SAMPLES = 3
    dashboard = make_dashboard()
    for seconds in (100.0, 100.0, 100.0):
        finished(alice, dashboard, seconds, ago=3600)
    for seconds in (20.0, 21.0, 22.0):
        finished(alice, dashboard, seconds)

    assert estimates.duration(dashboard.pk, "CSV") == estimates.Estimate(22.0, 3)


@pytest.mark.django_db
def test_estimates_of_many_dashboards_and_formats_come_from_one_query(settings, alice, django_assert_num_queries):
    # A page of waiting exports of many dashboards asked one query per (dashboard, formats).
    settings.EXPORT_ESTIMATE_SAMPLES = 3
    keys = []
    for n in range(5):
        dashboard = make_dashboard(f"dash-{n}", f"Dashboard {n}")
        for formats in (("CSV",), ("PDF", "CSV")):
            for age, seconds in enumerate((10.0, 20.0, 30.0, 400.0)):  # the oldest (400 s) is past the samples
                finished(alice, dashboard, seconds + n * len(formats), formats=formats, ago=age)
            keys.append((dashboard.pk, " ".join(formats)))
    keys.append((make_dashboard("new", "New").pk, "CSV"))  # nothing learned yet: the default
    one_by_one = {key: estimates.duration(*key) for key in keys}

    with django_assert_num_queries(1 if connection.vendor == "postgresql" else len(keys)):
        together = estimates.durations(keys)

    assert together == one_by_one
    assert together[keys[0]] == estimates.Estimate(30.0, 3)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index is read alone on PostgreSQL")
def test_estimates_read_run_times_from_the_index_alone(alice):
    from django.db import transaction

    dashboard = make_dashboard()
    for seconds in range(30):
        finished(alice, dashboard, float(seconds), ago=seconds)
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute(
            "EXPLAIN " + estimates._LATEST_RUNS_SQL, [[dashboard.pk, dashboard.pk], ["CSV", "PDF"], S.COMPLETED, 20]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Run times included in export_run_seconds_idx: the estimates of a page of waiting exports (and of
    # each poll) read no table row.
    assert "Index Only Scan using export_run_seconds_idx" in plan, plan


@pytest.mark.django_db
def test_a_completed_job_records_quicksights_own_run_time(quicksight_stubber, alice):
    export = make_job_export(alice)
    expect_start(quicksight_stubber, export)
    jobs.export_submit(export_id=export.pk)
    make_due(export)
    began = timezone.now() - timedelta(seconds=30)
    quicksight_stubber.add_response(
        "describe_dashboard_snapshot_job",
        {
            "Arn": ARN,
            "JobStatus": "COMPLETED",
            "CreatedTime": began,
            "LastUpdatedTime": began + timedelta(seconds=21.5),
            "RequestId": "req-completed",
            "Status": 200,
        },
        key(export),
    )
    expect_result(quicksight_stubber, export, [file_result("https://files.example/0")])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED and export.run_seconds == 21.5
    assert estimates.duration(export.dashboard_id, "CSV") == estimates.Estimate(21.5, 1)


# --- polling around the expected end ---


@pytest.mark.django_db
def test_once_learned_the_first_poll_comes_just_after_the_expected_end(quicksight_stubber, alice):
    history = make_job_export(alice)
    Export.objects.filter(pk=history.pk).update(status=S.COMPLETED, run_seconds=20.0, finished_at=timezone.now())
    export = make_job_export(alice)
    expect_start(quicksight_stubber, export)

    nxt = jobs.export_submit(export_id=export.pk)

    assert 20.0 <= nxt.poll_in <= 20.2  # not 2 s, 4 s, 8 s, 16 s, 30 s
    export.refresh_from_db()
    due = (export.next_action_at - export.submitted_at).total_seconds()
    assert 20.0 <= due <= 20.3  # the reconciler finds a lost message from the row


@pytest.mark.django_db
def test_a_job_still_running_at_its_expected_end_is_polled_tightly(quicksight_stubber, alice):
    history = make_job_export(alice)
    Export.objects.filter(pk=history.pk).update(status=S.COMPLETED, run_seconds=20.0, finished_at=timezone.now())
    export = make_job_export(alice)
    expect_start(quicksight_stubber, export)
    jobs.export_submit(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(submitted_at=timezone.now() - timedelta(seconds=20.3))
    make_due(export)
    # At the expected end the poll asks for the Result (tests/test_jobs_result_poll.py).
    quicksight_stubber.add_response(
        "describe_dashboard_snapshot_job_result",
        {"Arn": ARN, "JobStatus": "RUNNING", "RequestId": "req-running", "Status": 200},
        key(export),
    )

    nxt = jobs.export_poll(export_id=export.pk)

    assert Export.objects.get(pk=export.pk).status == S.RUNNING
    assert 0.8 <= nxt.poll_in <= 1.0


def test_polls_around_the_expected_end_are_few_and_tight_then_back_off(settings):
    settings.EXPORT_POLL_MAX_SECONDS, settings.EXPORT_POLL_TIGHT_SECONDS = 30, 1
    polls, elapsed = [], 0.0
    while elapsed < 20 + 120:
        elapsed += jobs.around_end(elapsed, expected=20)
        polls.append(elapsed)

    assert 20.0 < polls[0] <= 20.2  # one Describe just after the expected end
    assert all(0.8 <= b - a <= 1.0 for a, b in zip(polls[:5], polls[1:6], strict=True))  # then every second
    assert max(b - a for a, b in zip(polls, polls[1:], strict=False)) <= 30  # backing off to the cap
    assert len(polls) <= 14  # two minutes overdue still costs few Describes


def test_a_long_job_is_polled_at_the_cap_until_its_expected_end(settings):
    settings.EXPORT_POLL_MAX_SECONDS = 30
    polls, elapsed = [], 0.0
    while elapsed < 600:
        elapsed += jobs.around_end(elapsed, expected=600)
        polls.append(elapsed)

    assert len(polls) == 21 and polls[-1] == pytest.approx(600.1)  # 28.6 s apart, the last just after


@pytest.mark.django_db
def test_the_doubling_schedule_stays_selectable(quicksight_stubber, settings, alice):
    settings.EXPORT_POLL_SCHEDULE = "doubling"
    history = make_job_export(alice)
    Export.objects.filter(pk=history.pk).update(status=S.COMPLETED, run_seconds=20.0, finished_at=timezone.now())
    export = make_job_export(alice)
    expect_start(quicksight_stubber, export)

    assert 1.6 <= jobs.export_submit(export_id=export.pk).poll_in <= 2.0


# --- a freed slot ---


@pytest.mark.django_db
def test_a_completed_export_starts_the_next_waiting_one_at_once(
    quicksight_stubber, settings, alice, no_broker, django_capture_on_commit_callbacks
):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 1
    running, waiting = make_job_export(alice), make_job_export(alice)
    expect_start(quicksight_stubber, running)
    jobs.export_submit(export_id=running.pk)
    make_due(running)
    expect_describe(quicksight_stubber, running, "COMPLETED")
    expect_result(quicksight_stubber, running, [file_result("https://files.example/0")])

    with django_capture_on_commit_callbacks(execute=True):
        jobs.export_poll(export_id=running.pk)

    assert no_broker == [str(waiting.pk)]  # submit_export sent as soon as the end was seen, no countdown
    assert Export.objects.get(pk=waiting.pk).status == S.SUBMITTING


# --- what people see ---


def running_for(user, dashboard, seconds: float) -> Export:
    export = build_export(user, dashboard, status=S.RUNNING, formats=("CSV",))
    export.submitted_at = timezone.now() - timedelta(seconds=seconds)
    export.save(force_insert=True)
    return export


@pytest.mark.django_db
@time_machine.travel("2026-06-01 12:00:00+00:00", tick=False)
def test_a_running_export_says_about_how_long_is_left_on_its_page_and_row(client, alice):
    dashboard = make_dashboard()
    finished(alice, dashboard, 40.0)
    export = running_for(alice, dashboard, 10)
    client.force_login(alice)

    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    live = client.get(reverse("exports:detail", args=[export.pk]), headers={"HX-Request": "true"}).content.decode()
    row = client.get(reverse("exports:row", args=[export.pk])).content.decode()

    for html in (page, live, row):
        assert "about 30 s left" in html


@pytest.mark.django_db
@time_machine.travel("2026-06-01 12:00:00+00:00", tick=False)
def test_an_export_past_its_expected_end_is_taking_longer_than_usual(client, alice):
    dashboard = make_dashboard()
    finished(alice, dashboard, 40.0)
    export = running_for(alice, dashboard, 95)
    client.force_login(alice)

    row = client.get(reverse("exports:row", args=[export.pk])).content.decode()

    assert "taking longer than usual" in row and " left" not in row


@pytest.mark.django_db
@time_machine.travel("2026-06-01 12:00:00+00:00", tick=False)
def test_a_waiting_export_shows_its_place_and_when_it_should_start(client, settings, alice):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 2
    dashboard = make_dashboard()
    finished(alice, dashboard, 60.0)
    running_for(alice, dashboard, 15)  # ends in 45 s
    running_for(alice, dashboard, 50)  # ends in 10 s; the first waiting export takes its slot
    first = build_export(alice, dashboard, status=S.PENDING, formats=("CSV",))
    first.save(force_insert=True)
    with time_machine.travel(timezone.now() + timedelta(seconds=1), tick=False):
        second = build_export(alice, dashboard, status=S.PENDING, formats=("CSV",))
        second.save(force_insert=True)
    client.force_login(alice)

    page = client.get(reverse("exports:list")).content.decode()
    second_row = client.get(reverse("exports:row", args=[second.pk])).content.decode()

    assert "Position 1 in the queue" in page and "starts in about 10 s" in page
    assert "Position 2 in the queue" in second_row and "starts in about 45 s" in second_row


@pytest.mark.django_db
def test_the_queue_walk_reads_tuples_not_models(settings, alice):
    """Every waiting and running export of the account is walked for each page of waiting exports."""
    from django.db.models.signals import post_init

    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 1
    dashboard = make_dashboard()
    running_for(alice, dashboard, 5)
    waiting = build_export(alice, dashboard, status=S.PENDING, formats=("CSV",))
    waiting.save(force_insert=True)
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    post_init.connect(count, sender=Export)
    try:
        turns = estimates.queue_turns(waiting.aws_account_id, estimates._Durations(), timezone.now())
    finally:
        post_init.disconnect(count, sender=Export)

    assert turns[waiting.pk].position == 1 and built == []


@pytest.mark.django_db
def test_a_waiting_export_beyond_the_estimated_part_of_the_queue_still_shows_its_place(
    client, settings, monkeypatch, alice
):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 1
    monkeypatch.setattr(estimates, "MAX_AHEAD", 0)  # the queue walk reaches only the first
    dashboard = make_dashboard()
    first = build_export(alice, dashboard, status=S.PENDING, formats=("CSV",))
    first.save(force_insert=True)
    with time_machine.travel(timezone.now() + timedelta(seconds=1), tick=False):
        build_export(alice, dashboard, status=S.PENDING, formats=("CSV",)).save(force_insert=True)
    client.force_login(alice)

    page = client.get(reverse("exports:list")).content.decode()

    assert "Position 1 in the queue" in page and "Position 2 in the queue" in page
    assert page.count('class="muted estimate"') == 1  # no start is guessed past the walk


@pytest.mark.django_db
@time_machine.travel("2026-06-01 12:00:00+00:00", tick=False)
def test_the_api_gives_the_estimated_finish_and_start(alice):
    from tests.factories import make_sales_catalog

    dashboard = make_sales_catalog().dashboard
    finished(alice, dashboard, 30.0)
    running = running_for(alice, dashboard, 10)
    waiting = build_export(alice, dashboard, status=S.PENDING, formats=("CSV",))
    waiting.save(force_insert=True)
    api = bearer(alice)

    shown = api.get(f"/api/v1/exports/{running.pk}").json()
    queued = api.get(f"/api/v1/exports/{waiting.pk}").json()
    done = api.get(f"/api/v1/exports/{Export.objects.filter(status=S.COMPLETED).get().pk}").json()

    assert shown["estimated_finish_at"] == "2026-06-01T12:00:20Z"
    assert queued["queue_position"] == 1 and queued["estimated_start_at"] == "2026-06-01T12:00:00Z"
    assert done["estimated_finish_at"] is None and done["estimated_start_at"] is None
