"""Recurrences: words, the next runs, and DST in the schedule's own zone (exports/recurrence.py, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exports import recurrence
from exports.recurrence import RecurrenceInvalid

WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def every(text: str, zone: str = "UTC"):
    return recurrence.parse_every(text, default_timezone=zone)


def local(moments) -> list[str]:
    return [m.strftime("%a %Y-%m-%d %H:%M %z") for m in moments]


def utc(moments) -> list[str]:
    return [m.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for m in moments]


def test_weekly_preset_in_words_with_its_next_three_runs():
    rec = every("weekly mon 07:00 Europe/Paris")

    assert rec.words() == "Every Monday at 07:00, Europe/Paris"
    assert local(recurrence.next_runs(rec, WEDNESDAY)) == [
        "Mon 2026-11-30 07:00 +0100",
        "Mon 2026-12-07 07:00 +0100",
        "Mon 2026-12-14 07:00 +0100",
    ]


@pytest.mark.parametrize(
    ("text", "words", "first"),
    [
        ("daily 18:30 America/New_York", "Every day at 18:30, America/New_York", "Wed 2026-11-25 18:30 -0500"),
        (
            "weekly fri,mon,wed 08:15 Europe/Paris",
            "Every Monday, Wednesday and Friday at 08:15, Europe/Paris",
            "Fri 2026-11-27 08:15 +0100",
        ),
        ("monthly 15 09:00 Asia/Tokyo", "On day 15 of every month at 09:00, Asia/Tokyo", "Tue 2026-12-15 09:00 +0900"),
        ("monthly last 23:00 UTC", "On the last day of every month at 23:00, UTC", "Mon 2026-11-30 23:00 +0000"),
    ],
)
def test_presets_in_words(text, words, first):
    rec = every(text)
    assert rec.words() == words
    assert local(recurrence.next_runs(rec, WEDNESDAY, 1)) == [first]


def test_the_last_day_of_the_month_follows_the_calendar():
    rec = every("monthly last 07:00 Europe/Paris")
    start = datetime(2028, 1, 1, tzinfo=UTC)
    assert [m.date().isoformat() for m in recurrence.next_runs(rec, start, 3)] == [
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
    ]


def test_cron_in_words_with_its_zone():
    rec = recurrence.build(kind="CRON", cron="0 7 * * 1", timezone="Europe/Paris")
    assert rec.words() == "At 07:00, only on Monday, Europe/Paris"
    assert utc(recurrence.next_runs(rec, WEDNESDAY, 2)) == ["2026-11-30 06:00", "2026-12-07 06:00"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("weekly funday 07:00 UTC", "weekdays: 'funday': name weekdays as mon,tue,...,sun [weekdays-chosen]"),
        ("daily 7am UTC", "time: '7am' is not a time of day as HH:MM (00:00-23:59) [time-hh-mm]"),
        (
            "daily 07:00 Mars/Olympus",
            "timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris) [timezone-iana]",
        ),
        (
            "daily 07:00 ../../etc/passwd",
            "timezone: '../../etc/passwd' is not an IANA time zone (e.g. Europe/Paris) [timezone-iana]",
        ),
        (
            "monthly 31 07:00 UTC",
            "month_day: a monthly schedule runs on day 1 to 28, or on the last day (not every month has a 29th) "
            "[month-day]",
        ),
        (
            "hourly",
            "every: 'hourly': write daily HH:MM, weekly mon[,tue...] HH:MM or monthly DAY|last HH:MM, "
            "then a zone (Europe/Paris) [every-form]",
        ),
    ],
)
def test_bad_presets_name_the_field_and_the_rule(text, problem):
    with pytest.raises(RecurrenceInvalid) as refused:
        every(text)
    assert [str(p) for p in refused.value.problems] == [problem]


def test_bad_cron_is_refused_by_name():
    with pytest.raises(RecurrenceInvalid) as refused:
        recurrence.build(kind="CRON", cron="61 * * * *", timezone="UTC")
    assert str(refused.value) == (
        "cron: '61 * * * *' is not a cron expression of 5 fields (minute hour day month weekday) [cron-valid]"
    )


# --- daylight saving time: Europe/Paris changes at 01:00 UTC, America/New_York at 02:00 local ---


def test_paris_spring_forward_runs_a_missing_time_at_the_next_valid_minute():
    rec = every("daily 02:30 Europe/Paris")
    runs = recurrence.next_runs(rec, datetime(2026, 3, 28, 0, 0, tzinfo=UTC))
    # 2026-03-29 02:30 does not exist in Paris (02:00 -> 03:00): it runs at 03:00 CEST.
    assert local(runs) == ["Sat 2026-03-28 02:30 +0100", "Sun 2026-03-29 03:00 +0200", "Mon 2026-03-30 02:30 +0200"]


def test_paris_fall_back_runs_an_ambiguous_time_once():
    rec = every("daily 02:30 Europe/Paris")
    runs = recurrence.next_runs(rec, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    # 02:30 happens twice on 2026-10-25 (CEST, then CET): one run, at the first.
    assert local(runs) == ["Sun 2026-10-25 02:30 +0200", "Mon 2026-10-26 02:30 +0100", "Tue 2026-10-27 02:30 +0100"]
    assert runs[1].astimezone(UTC) - runs[0].astimezone(UTC) == timedelta(hours=25)


def test_new_york_spring_forward_and_fall_back():
    spring = recurrence.next_runs(every("daily 02:30 America/New_York"), datetime(2026, 3, 7, 12, tzinfo=UTC))
    assert local(spring) == ["Sun 2026-03-08 03:00 -0400", "Mon 2026-03-09 02:30 -0400", "Tue 2026-03-10 02:30 -0400"]

    fall = recurrence.next_runs(every("daily 01:30 America/New_York"), datetime(2026, 10, 31, 12, tzinfo=UTC))
    assert utc(fall) == ["2026-11-01 05:30", "2026-11-02 06:30", "2026-11-03 06:30"]


def test_an_hourly_cron_across_spring_forward_runs_each_instant_once():
    rec = recurrence.build(kind="CRON", cron="0 * * * *", timezone="Europe/Paris")
    runs = recurrence.next_runs(rec, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), 4)
    # 02:00 does not exist: it would run at 03:00, which is also an occurrence: once.
    assert local(runs) == [
        "Sun 2026-03-29 01:00 +0100",
        "Sun 2026-03-29 03:00 +0200",
        "Sun 2026-03-29 04:00 +0200",
        "Sun 2026-03-29 05:00 +0200",
    ]


def test_latest_due_after_downtime_is_one_occurrence_and_counts_the_missed():
    rec = every("weekly mon 07:00 Europe/Paris")
    latest, missed = recurrence.latest_due(
        rec, datetime(2026, 11, 2, 6, 0, tzinfo=UTC), datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    )
    assert latest == datetime(2026, 11, 23, 6, 0, tzinfo=UTC) and missed == 3


@pytest.mark.parametrize(
    ("cron", "minutes"),
    [("*/5 * * * *", 5), ("0,59 * * * *", 1), ("30 1,2 * * *", 60), ("0 9 * * 1-5", 24 * 60)],
)
def test_shortest_interval_is_wall_clock(cron, minutes):
    rec = recurrence.build(kind="CRON", cron=cron, timezone="Europe/Paris")
    assert recurrence.shortest_interval(rec, datetime(2026, 1, 1, tzinfo=UTC)) == timedelta(minutes=minutes)
