from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from exports.models import Schedule
from exports.views.schedules import when_words
from tests.factories import make_sales_catalog

pytestmark = pytest.mark.browser


@pytest.fixture
def paris_page(browser):
    """A browser whose own time zone is Europe/Paris (the server's TIME_ZONE is UTC)."""
    context = browser.new_context(timezone_id="Europe/Paris")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_alice_schedules_from_the_form_sees_it_in_my_schedules_and_pauses_it(demo_users, live_server, paris_page):
    make_sales_catalog()
    page = paris_page
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-demo-pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")
    page.locator("#add-csv").click()
    page.locator("#schedule-this").click()

    # The form starts in the browser's zone, and the words follow every change.
    expect(page.locator("#sf-timezone")).to_have_value("Europe/Paris")
    expect(page.locator("#schedule-words")).to_have_text("Every Monday at 07:00, Europe/Paris")
    expect(page.locator("#schedule-upcoming li")).to_have_count(3)
    page.locator("#kind-daily").check()
    expect(page.locator("#schedule-words")).to_have_text("Every day at 07:00, Europe/Paris")
    expect(page.locator("#sf-weekday-0")).to_be_hidden()  # weekdays only for weekly schedules
    page.fill("#sf-time", "06:30")
    expect(page.locator("#schedule-words")).to_have_text("Every day at 06:30, Europe/Paris")

    # An error shows once the field was touched, naming the field (its rule id is for admins); nothing before.
    expect(page.locator("#sf-recipients-errors li")).to_have_count(0)
    page.fill("#sf-recipients", "nobody")
    page.locator("#sf-recipients").press("Tab")
    expect(page.locator("#sf-recipients-errors")).to_have_text("Recipients: no user 'nobody'")
    page.fill("#sf-recipients", "bob")
    expect(page.locator("#sf-recipients-errors li")).to_have_count(0)
    page.locator("#save-schedule").click()
    expect(page.locator(".messages")).to_contain_text("Scheduled: Every day at 06:30, Europe/Paris.")

    schedule = Schedule.objects.get()
    assert [u.username for u in schedule.recipient_users.all()] == ["bob"]
    page.locator("nav a", has_text="My schedules").click()
    card = page.locator(f"#schedule-{schedule.pk}")
    expect(card.locator(".schedule-words")).to_have_text("Every day at 06:30, Europe/Paris")
    expect(card.locator(".schedule-next")).to_have_text(when_words(schedule.next_run_at, ZoneInfo("Europe/Paris")))
    expect(card.locator(".schedule-state")).to_have_text("Active")

    card.locator(f"#pause-{schedule.pk}").click()
    card = page.locator(f"#schedule-{schedule.pk}")
    expect(card.locator(".schedule-state")).to_contain_text("Paused")
    expect(card.locator(f"#resume-{schedule.pk}")).to_be_visible()
    schedule.refresh_from_db()
    assert schedule.is_paused

    # A phone: My schedules does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator(f"#schedule-{schedule.pk}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert console_errors == []
