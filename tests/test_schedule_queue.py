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
