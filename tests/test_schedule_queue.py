"""Interactive users come first: scheduled exports share the account's queue and quota, but a click
starts in the next free slot however many schedules wait, and schedules hold at most a share of the slots."""

from __future__ import annotations

import pytest

from exports import history, jobs
from exports.models import Export
from tests.jobs_support import ACCOUNT, make_export

S = Export.Status


@pytest.fixture(autouse=True)
def twelve_slots_half_for_schedules(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 12
    settings.SCHEDULED_MAX_RUNNING_SHARE = 0.5


def scheduled_in_flight() -> int:
    return Export.objects.filter(status__in=Export.IN_FLIGHT, is_scheduled=True).count()


def end(export: Export) -> None:
    Export.objects.filter(pk=export.pk).update(status=S.COMPLETED)


def ids(exports) -> list[str]:
    return [str(e.pk) for e in exports]


@pytest.mark.django_db
def test_a_burst_of_30_scheduled_exports_holds_half_the_slots_and_a_click_takes_the_next_one(alice, bob):
    burst = [make_export(alice if i % 2 else bob, is_scheduled=True) for i in range(30)]

    assert jobs.queue_advance(ACCOUNT) == ids(burst[:6])
    # Six slots are free, but schedules hold their share: they wait.
    assert jobs.queue_advance(ACCOUNT) == []
    assert scheduled_in_flight() == 6

    click = make_export(alice)
    # The click is next in line, ahead of 24 older scheduled exports; the page shows the same.
    assert jobs.queue_position(click) == 1
    assert history.decorate_one(click).queue_position == 1
    assert jobs.queue_position(Export.objects.get(pk=burst[6].pk)) == 2
    assert history.decorate_one(Export.objects.get(pk=burst[6].pk)).queue_position == 2

    assert jobs.queue_advance(ACCOUNT) == [str(click.pk)]
    assert Export.objects.get(pk=click.pk).status == S.SUBMITTING


@pytest.mark.django_db
def test_when_every_slot_is_taken_the_first_freed_slot_goes_to_the_click_not_the_burst(alice, bob):
    burst = [make_export(bob, is_scheduled=True) for _ in range(30)]
    jobs.queue_advance(ACCOUNT)
    interactive = [make_export(alice) for _ in range(6)]
    assert jobs.queue_advance(ACCOUNT) == ids(interactive)  # all 12 slots taken now

    click = make_export(alice)
    assert jobs.queue_advance(ACCOUNT) == []
    end(burst[0])  # a scheduled export ends: its slot goes to the click
    assert jobs.queue_advance(ACCOUNT) == [str(click.pk)]

    end(burst[1])  # nobody clicked: the burst goes on, in order, within its share
    assert jobs.queue_advance(ACCOUNT) == [str(burst[6].pk)]
    assert scheduled_in_flight() == 5
    for export in interactive:
        end(export)
    # Seven slots free now, but schedules may take only the one left of their six.
    assert jobs.queue_advance(ACCOUNT) == [str(burst[7].pk)]
    assert scheduled_in_flight() == 6


@pytest.mark.django_db
def test_schedules_alone_never_hold_more_than_the_share_as_the_burst_drains(alice):
    burst = [make_export(alice, is_scheduled=True) for _ in range(30)]
    started: list[str] = []
    while len(started) < 30:
        started += jobs.queue_advance(ACCOUNT)
        assert scheduled_in_flight() <= 6
        for export in Export.objects.filter(status=S.SUBMITTING).order_by("created_at")[:2]:
            end(export)
    assert started == ids(burst)  # first come, first served among schedules


@pytest.mark.django_db
def test_a_share_that_rounds_to_nothing_still_lets_one_schedule_run(settings, alice):
    settings.SCHEDULED_MAX_RUNNING_SHARE = 0
    burst = [make_export(alice, is_scheduled=True) for _ in range(3)]
    assert jobs.queue_advance(ACCOUNT) == ids(burst[:1])


# --- through a real worker, Redis and quicksight_local ---


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_a_click_starts_at_once_while_30_scheduled_exports_wait(qs_local, redis_url, tmp_path):
    import time

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from tests.factories import make_demo_users
    from tests.services import celery_worker, use_broker
    from tests.test_jobs_worker import FAST_WORKER, wait_until

    make_demo_users()
    alice, bob = (get_user_model().objects.get(username=name) for name in ("alice", "bob"))

    def submit(user, **fields) -> Export:
        with transaction.atomic():
            export = make_export(user, ["CSV_SMALL"], **fields)
            jobs.export_enqueue(export)
        return export

    def started(export: Export) -> bool:
        return Export.objects.get(pk=export.pk).status in (S.QUEUED, S.RUNNING, S.COMPLETED)

    qs_local.faults.hold_jobs = True  # QuickSight keeps every job QUEUED until released
    use_broker(redis_url)
    extra = {"QUICKSIGHT_ENDPOINT_URL": qs_local.url, "SCHEDULED_MAX_RUNNING_SHARE": "0.5", **FAST_WORKER}
    try:
        with celery_worker(redis_url, log_path=tmp_path / "worker.log", concurrency=2, extra_env=extra):
            burst = [submit(bob, is_scheduled=True) for _ in range(30)]
            wait_until(lambda: qs_local.state.active_jobs() == 6, "six scheduled jobs in QuickSight")
            clicked = time.monotonic()
            click = submit(alice)
            wait_until(lambda: started(click), "the click to start", timeout=10)
            print(f"click started {time.monotonic() - clicked:.2f}s after submit, 24 scheduled exports waiting")
            assert qs_local.state.active_jobs() == 7 and scheduled_in_flight() == 6
            assert qs_local.calls.count("StartDashboardSnapshotJob", outcome="ok") == 7

            qs_local.faults.hold_jobs = False
            wait_until(
                lambda: Export.objects.filter(status=S.COMPLETED).count() == 31, "31 exports to end", timeout=120
            )
    finally:
        use_broker(None)

    assert qs_local.state.max_active <= 7
    first_waiting = Export.objects.get(pk=burst[6].pk)
    assert Export.objects.get(pk=click.pk).submitted_at < first_waiting.submitted_at
    assert qs_local.calls.count("StartDashboardSnapshotJob", outcome="LimitExceededException") == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1.5", "SCHEDULED_MAX_RUNNING_SHARE=1.5 is above the maximum of 1"),
        ("-0.1", "SCHEDULED_MAX_RUNNING_SHARE=-0.1 is below the minimum of 0"),
        ("half", "SCHEDULED_MAX_RUNNING_SHARE='half' is not a number"),
    ],
)
def test_a_share_outside_0_to_1_stops_the_start_naming_the_variable(raw, message):
    from tests.test_settings import run_manage

    result = run_manage("check", env={"DEBUG": "true", "SCHEDULED_MAX_RUNNING_SHARE": raw})
    assert result.returncode != 0
    assert message in result.stderr
