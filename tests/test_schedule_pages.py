"""The schedule pages: "Schedule this" from the export form and from an export, the form with its live
recurrence in words, My schedules, a schedule's runs, the buttons, access, and the recipient's opt-out."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from exports import notify, recurrence, schedules
from exports.models import AuditEvent, Export, Schedule, ScheduleOptOut, ScheduleRun
from exports.services import export_create
from tests.factories import make_sales_catalog

SPEC = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]}
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TIME_ZONE = "UTC"


# Exports are created here, not run: their wake-ups are collected (conftest no_broker).
pytestmark = pytest.mark.usefixtures("no_broker")


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


def create(owner, every="weekly mon 07:00 Europe/Paris", *, users=(), **options) -> Schedule:
    rec = recurrence.parse_every(every, default_timezone="UTC")
    return schedules.schedule_create(
        owner=owner, spec=SPEC, rec=rec, recipient_users=list(users), now=options.pop("now", CREATED), **options
    )


def form_data(**changes) -> dict:
    data = {
        "spec": json.dumps(SPEC),
        "kind": "WEEKLY",
        "time": "07:00",
        "weekdays": ["0"],
        "month_day": "1",
        "cron": "",
        "timezone": "Europe/Paris",
        "recipients": "bob, group:Analysts",
        "receive_myself": "on",
        "delivery": "LINK",
        "action": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def words(response) -> str:
    """What a reader sees: the text without tags."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).replace(" ]", "]")


# --- "Schedule this" and the form ---


@pytest.mark.django_db
def test_the_export_form_offers_schedule_this_with_its_spec_once_the_request_is_ready(client, sales, alice):
    client.force_login(alice)
    response = client.post(
        reverse("exports:new"),
        {"dashboard": "sales", "files-0-format": "CSV", "files-0-visual": "order-lines", "action": "refresh"},
    )
    link = re.search(r'id="schedule-this" href="([^"]+)"', response.content.decode())
    assert link, "a ready request offers Schedule this"
    url = html.unescape(link[1])
    assert json.loads(parse_qs(urlsplit(url).query)["spec"][0]) == SPEC

    page = client.get(url)
    assert page.status_code == 200
    body = text(page)
    assert "Schedule an export of Sales overview" in body
    assert "CSV of Order lines" in body
    # The recurrence in words with its next three runs (the default: Mondays at 07:00 in TIME_ZONE).
    assert re.search(r'id="schedule-words">Every Monday at 07:00, UTC<', body)
    assert len(re.findall(r"<li><time datetime=", body)) == 3

    # Not ready (no file yet): no link.
    empty = client.post(reverse("exports:new"), {"dashboard": "sales", "action": "refresh"})
    assert 'id="schedule-this"' not in empty.content.decode()


@pytest.mark.django_db
def test_a_new_schedule_starts_in_the_browsers_zone_else_time_zone(client, sales, alice, settings):
    settings.TIME_ZONE = "America/New_York"
    client.force_login(alice)
    url = f"{reverse('exports:schedule_new')}?spec={quote(json.dumps(SPEC))}"
    assert 'name="timezone" value="America/New_York"' in client.get(url).content.decode()
    client.cookies["portal_tz"] = "Asia/Tokyo"
    assert 'name="timezone" value="Asia/Tokyo"' in client.get(url).content.decode()
    client.cookies["portal_tz"] = "../../etc/passwd"  # not an IANA name: ignored
    assert 'name="timezone" value="America/New_York"' in client.get(url).content.decode()

    # The form sends the browser's zone; a form without a zone field uses it.
    preview = client.post(
        reverse("exports:schedule_new_preview"),
        form_data(timezone=None, browser_timezone="Europe/Paris"),
        **HTMX,
        HTTP_HX_TRIGGER_NAME="time",
    )
    assert "Every Monday at 07:00, Europe/Paris" in preview.content.decode()


@pytest.mark.django_db
def test_saving_without_javascript_creates_the_schedule_for_the_users_and_groups_named(client, sales, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("exports:schedule_new"), form_data(weekdays=["0", "3"], delivery="ATTACH"))

    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exports:schedule", args=[schedule.pk])
    assert schedule.owner == alice and schedule.spec == SPEC and schedule.delivery == "ATTACH"
    assert schedules.words(schedule) == "Every Monday and Thursday at 07:00, Europe/Paris"
    assert list(schedule.recipient_users.all()) == [bob]
    assert list(schedule.recipient_groups.all()) == [Group.objects.get(name="Analysts")]
    assert AuditEvent.objects.filter(action="schedule.created", actor_username="alice").count() == 1


@pytest.mark.django_db
def test_the_preview_shows_words_and_next_runs_and_errors_only_of_touched_fields(client, sales, alice):
    client.force_login(alice)
    url = reverse("exports:schedule_new_preview")
    # Typing a cron expression that runs too often, with a broken zone the user has not touched yet.
    response = client.post(
        url, form_data(kind="CRON", cron="*/5 * * * *", timezone="Mars/Olympus"), **HTMX, HTTP_HX_TRIGGER_NAME="cron"
    )
    body = text(response)
    assert "'Mars/Olympus' is not an IANA time zone" not in body
    assert 'id="sf-timezone-errors" hx-swap-oob="true"></ul>' in body
    assert "Fix the recurrence to see when it runs." in body
    assert '<input type="hidden" name="touched" value="cron">' in body

    response = client.post(
        url,
        form_data(kind="CRON", cron="*/5 * * * *", timezone="Mars/Olympus", touched=["cron"]),
        **HTMX,
        HTTP_HX_TRIGGER_NAME="timezone",
    )
    assert "Time zone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris)" in words(response)

    response = client.post(
        url,
        form_data(kind="CRON", cron="*/5 * * * *", touched=["cron", "timezone"]),
        **HTMX,
        HTTP_HX_TRIGGER_NAME="cron",
    )
    body = words(response)
    assert "Cron expression: runs as often as every 5 minutes; a schedule runs at most once every 60 minutes" in body
    assert "Every 5 minutes, Europe/Paris" in body

    response = client.post(url, form_data(kind="DAILY", time="06:30"), **HTMX, HTTP_HX_TRIGGER_NAME="kind")
    body = text(response)
    assert "Every day at 06:30, Europe/Paris" in body
    # Each next run in words, in the schedule's zone (06:30 in Paris, whatever the viewer's zone).
    assert len(re.findall(r"<li><time datetime=\"[^\"]+\">\w+day \d+ \w+ 20\d\d, 06:30 CES?T</time></li>", body)) == 3
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_saving_shows_every_problem_naming_the_field_and_the_rule_and_saves_nothing(client, sales, alice):
    client.force_login(alice)
    response = client.post(
        reverse("exports:schedule_new"), form_data(time="25:00", recipients="nobody", weekdays=None), **HTMX
    )
    body = words(response)
    assert response.status_code == 200
    assert "Time: '25:00' is not a time of day as HH:MM (00:00-23:59)" in body
    assert "Weekdays: choose one or more weekdays (mon ... sun)" in body
    assert "Recipients: no user 'nobody'" in body
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_schedule_this_from_an_export_is_for_its_requester_only(client, sales, alice, bob):
    export = export_create(user=alice, spec=SPEC)
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert f'href="{reverse("exports:schedule_new")}?from={export.pk}"' in page
    form = client.get(f"{reverse('exports:schedule_new')}?from={export.pk}")
    assert form.status_code == 200 and "CSV of Order lines" in form.content.decode()

    client.force_login(bob)
    assert client.get(f"{reverse('exports:schedule_new')}?from={export.pk}").status_code == 404
    # A spec for a dashboard not granted: 404 before anything else.
    carol_spec = quote(json.dumps({"dashboard": "nope", "files": []}))
    assert client.get(f"{reverse('exports:schedule_new')}?spec={carol_spec}").status_code == 404


# --- My schedules and a schedule's page ---


@pytest.mark.django_db
def test_my_schedules_shows_words_next_run_in_the_viewers_zone_and_last_outcome(
    client, sales, alice, bob, django_assert_max_num_queries
):
    first = create(alice, users=[bob])
    for hour in ("08:00", "09:00", "10:00"):
        create(alice, f"daily {hour} Europe/Paris")
    schedules.run_due(datetime(2026, 11, 30, 6, 0, 5, tzinfo=UTC))
    client.force_login(alice)
    client.cookies["portal_tz"] = "America/New_York"

    with django_assert_max_num_queries(7):
        response = client.get(reverse("exports:schedules"))
    body = text(response)
    card = body[body.index(f'id="schedule-{first.pk}"') :]
    assert "Every Monday at 07:00, Europe/Paris" in card
    # Paris 07:00 on 7 December is 01:00 in New York.
    assert "Monday 7 December 2026, 01:00 EST" in card  # the zone abbreviated, as on every other page
    assert "Waiting for the exports" in card
    assert "Times in America/New_York" not in body
    assert 'href="/schedules/"' in body  # the navigation link


@pytest.mark.django_db
def test_someone_elses_schedule_is_404_on_every_page_and_button(client, sales, alice, bob):
    schedule = create(alice, users=[bob])
    client.force_login(bob)
    for name in ("schedule", "schedule_edit", "schedule_delete"):
        assert client.get(reverse(f"exports:{name}", args=[schedule.pk])).status_code == 404
    for name in ("schedule_pause", "schedule_resume", "schedule_run_now", "schedule_delete", "schedule_edit_preview"):
        assert client.post(reverse(f"exports:{name}", args=[schedule.pk]), **HTMX).status_code == 404
    schedule.refresh_from_db()
    assert not schedule.is_paused and Schedule.objects.count() == 1 and not ScheduleRun.objects.exists()
    assert client.get(reverse("exports:schedule", args=[schedule.pk + 99])).status_code == 404


@pytest.mark.django_db
def test_pause_resume_and_delete_after_confirming(client, sales, alice):
    schedule = create(alice)
    client.force_login(alice)
    assert client.get(reverse("exports:schedule_pause", args=[schedule.pk])).status_code == 405

    client.post(reverse("exports:schedule_pause", args=[schedule.pk]), {"next": "list"})
    body = text(client.get(reverse("exports:schedules")))
    assert 'Paused</span> <span class="reason">Paused by alice.</span>' in body
    assert f'id="resume-{schedule.pk}"' in body and f'id="run-now-{schedule.pk}"' not in body

    client.post(reverse("exports:schedule_resume", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert not schedule.is_paused

    confirm = client.get(reverse("exports:schedule_delete", args=[schedule.pk]))
    assert "Delete the schedule of Sales overview?" in text(confirm) and Schedule.objects.exists()
    response = client.post(reverse("exports:schedule_delete", args=[schedule.pk]))
    assert response["Location"] == reverse("exports:schedules") and not Schedule.objects.exists()
    actions = list(AuditEvent.objects.filter(object_type="exports.schedule").values_list("action", flat=True))
    assert actions == ["schedule.created", "schedule.paused", "schedule.resumed", "schedule.deleted"]


@pytest.mark.django_db
def test_edit_changes_the_recurrence_and_recipients(client, sales, alice, bob):
    schedule = create(alice, users=[bob])
    client.force_login(alice)
    form = client.get(reverse("exports:schedule_edit", args=[schedule.pk])).content.decode()
    assert 'name="recipients" value="bob"' in form and 'name="spec"' not in form
    preview = client.post(
        reverse("exports:schedule_edit_preview", args=[schedule.pk]),
        form_data(spec=None, kind="DAILY", time="18:15"),
        **HTMX,
        HTTP_HX_TRIGGER_NAME="time",
    )
    assert "Every day at 18:15, Europe/Paris" in words(preview)

    client.post(
        reverse("exports:schedule_edit", args=[schedule.pk]),
        form_data(spec=None, kind="MONTHLY", month_day="last", recipients="", timezone="America/New_York"),
    )
    schedule.refresh_from_db()
    assert schedules.words(schedule) == "On the last day of every month at 07:00, America/New_York"
    assert not schedule.recipient_users.exists()
    assert AuditEvent.objects.filter(action="schedule.changed").count() == 1


@pytest.mark.django_db
def test_run_now_makes_one_export_per_recipient_and_the_page_links_only_the_owners(client, sales, alice, bob):
    schedule = create(alice, users=[bob])
    client.force_login(alice)

    response = client.post(reverse("exports:schedule_run_now", args=[schedule.pk]), follow=True)
    assert "Run started: 2 exports queued." in text(response)
    run = ScheduleRun.objects.get()
    made = {e.user.username: e for e in Export.objects.filter(schedule_run=run)}
    assert sorted(made) == ["alice", "bob"] and all(e.is_scheduled for e in made.values())
    event = AuditEvent.objects.get(action="schedule.run_started")
    assert event.actor_username == "alice" and event.data["run_now"] is True

    # Again at once: refused by the shortest interval, nothing made.
    again = client.post(reverse("exports:schedule_run_now", args=[schedule.pk]), follow=True)
    assert "a schedule runs at most once every 60 minutes" in text(again)
    assert "[shortest-interval]" not in text(again)  # rule ids are for admins and auditors
    assert ScheduleRun.objects.count() == 1 and Export.objects.count() == 2

    page = text(client.get(reverse("exports:schedule", args=[schedule.pk])))
    assert f'href="/exports/{made["alice"].pk}/"' in page
    assert str(made["bob"].pk) not in page  # bob's export was made for bob's identity
    assert 'bob: <span class="badge status-pending">Waiting</span> <span class="muted">their own export</span>' in page
    assert client.get(reverse("exports:detail", args=[made["bob"].pk])).status_code == 404


@pytest.mark.django_db
def test_a_recipient_opts_out_from_the_export_page_their_mail_links_to(client, sales, alice, bob):
    schedule = create(alice, users=[bob])
    (report,) = schedules.run_due(datetime(2026, 11, 30, 6, 0, 5, tzinfo=UTC))
    bobs = Export.objects.get(schedule_run=report.run, user=bob)
    Export.objects.filter(pk=bobs.pk).update(status=Export.Status.FAILED)
    mail.outbox.clear()
    notify.export_ended_mail(Export.objects.get(pk=bobs.pk))
    (message,) = mail.outbox
    link = re.search(r"Open it in the portal: \S*(/exports/[^/]+/)", message.body)[1]
    assert "opt out of it in the portal" in message.body

    client.force_login(bob)
    page = text(client.get(link))
    assert "alice's schedule made this export for you." in page
    response = client.post(reverse("exports:schedule_opt_out", args=[schedule.pk]), {"export": str(bobs.pk)})
    assert response["Location"] == link
    assert ScheduleOptOut.objects.filter(schedule=schedule, user=bob).exists()
    assert [u.username for u in schedules.recipients(schedule)] == ["alice"]
    assert "You opted out of alice's schedule" in text(client.get(link))
    assert "You opted out" in text(client.get(reverse("exports:schedules")))

    # The owner's own export has no opt-out (the owner pauses it), and strangers cannot opt out.
    client.force_login(alice)
    alices = Export.objects.get(schedule_run=report.run, user=alice)
    assert 'id="opt-out"' not in client.get(reverse("exports:detail", args=[alices.pk])).content.decode()
    assert client.post(reverse("exports:schedule_opt_out", args=[schedule.pk])).status_code == 404


@pytest.mark.django_db
def test_hostile_input_gets_words_not_a_server_error(client, sales, alice):
    client.force_login(alice)
    nul_spec = json.dumps({**SPEC, "destination": "x\x00y"})
    assert client.get(f"{reverse('exports:schedule_new')}?spec={quote(nul_spec)}").status_code == 404
    assert client.get(f"{reverse('exports:schedule_new')}?spec=%7Bnot%20json").status_code == 404
    assert client.get(f"{reverse('exports:schedule_new')}?from=not-a-uuid").status_code == 404
    response = client.post(
        reverse("exports:schedule_new"),
        form_data(recipients="bob\x00, group:\x00", timezone="Europe/\x00", cron="\x00", time="\x00", month_day="\x00"),
    )
    # The request guard (portal/middleware.py) refuses a NUL before the form sees it, naming the field.
    assert response.status_code == 400 and not Schedule.objects.exists()
    assert "contains a NUL character (\\x00) [text-nul]" in response.content.decode()
    response = client.post(
        reverse("exports:schedule_new"),
        form_data(recipients="nobody", timezone="Europe/Nowhere", kind="CRON", cron="0 7 * *"),
    )
    body = words(response)
    assert response.status_code == 200 and not Schedule.objects.exists()
    assert "Recipients: no user 'nobody'" in body
    assert "Time zone: 'Europe/Nowhere' is not an IANA time zone (e.g. Europe/Paris)" in body
    assert "Cron expression: '0 7 * *' is not a cron expression of 5 fields" in body
