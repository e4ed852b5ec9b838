"""In the browser: the form marks a field only once it was touched or checked; an export that ended
while its requester was elsewhere shows up in the navigation and as a notice, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from exports import jobs
from exports.models import Export
from tests.factories import make_sales_catalog
from tests.history_factory import make_dashboard, make_export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_adding_an_excel_workbook_is_not_red_until_touched_or_checked(demo_users, login, live_server):
    make_sales_catalog()
    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")

    page.locator("#add-excel").click()
    expect(page.locator("#file-0")).to_be_visible()
    expect(page.locator("#files-0-errors li")).to_have_count(0)
    expect(page.locator("#preview-status .badge.bad")).to_have_count(0)
    expect(page.locator("#preview-status")).to_contain_text("Not ready yet")

    # A second file: the untouched workbook still shows nothing.
    page.locator("#add-pdf").click()
    expect(page.locator("#file-1")).to_be_visible()
    expect(page.locator("#files-0-errors li")).to_have_count(0)

    # Tick and untick a worksheet: the workbook was touched, now it says what it lacks.
    page.locator("#files-0-visual-order-lines").check()
    expect(page.locator("#files-0-up-order-lines")).to_be_visible()
    page.locator("#files-0-visual-order-lines").uncheck()
    expect(page.locator("#files-0-errors")).to_contain_text("choose 1 to 5")
    expect(page.locator("#preview-status .badge.bad")).to_have_count(1)

    # A new CSV without a table, untouched: quiet; Enter (Check) shows every problem.
    page.locator("#add-csv").click()
    expect(page.locator("#file-2")).to_be_visible()
    page.select_option("#files-2-visual", index=0)  # "Choose a table…"
    expect(page.locator("#files-2-errors")).to_contain_text("choose the table")
    page.locator("#add-csv").click()
    expect(page.locator("#file-3")).to_be_visible()
    page.locator("#param-3-0").fill("2")
    page.locator("#param-3-0").press("Enter")
    expect(page.locator("#files-0-errors")).to_contain_text("choose 1 to 5")
    expect(page.locator("#files-2-errors")).to_contain_text("choose the table")
    expect(page.locator(".rule")).to_have_count(0)  # rule ids are for admins and auditors


def test_a_choice_made_the_moment_a_file_appears_is_not_lost(demo_users, login, live_server):
    # htmx wires up what it swapped in when it settles (20 ms later by default); a change before
    # that (a quick keyboard user, whose focus base.html puts on the new select) reached no server.
    make_sales_catalog()
    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")
    page.evaluate(
        """() => document.addEventListener("htmx:afterSwap", () => setTimeout(() => {
            const select = document.getElementById("files-0-visual");
            if (select && select.value) {
                select.value = "";
                select.dispatchEvent(new Event("change", {bubbles: true}));
            }
        }, 0))"""
    )
    page.locator("#add-csv").click()
    expect(page.locator("#files-0-errors")).to_contain_text("choose the table")


def test_an_export_that_ended_elsewhere_is_counted_and_announced_once(demo_users, login, live_server):
    export = make_export(demo_users["alice"], make_dashboard(), status=Export.Status.RUNNING)
    page = login("alice")
    page.goto(f"{live_server.url}/dashboards/")
    expect(page.locator("#nav-my-exports .nav-count")).to_have_count(0)

    Export.objects.filter(pk=export.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert jobs.reconcile().timed_out == 1

    page.goto(f"{live_server.url}/schedules/")
    expect(page.locator("#nav-my-exports")).to_have_accessible_name("My exports 1 ended since you last looked")
    expect(page.locator("#end-notices")).to_contain_text("Your export of Sales overview timed out.")
    page.locator("#end-notices a").click()
    expect(page.locator("#export-status")).to_have_text("Timed out")
    expect(page.locator("#end-notices")).to_have_count(0)
    expect(page.locator("#nav-my-exports .nav-count")).to_have_count(0)
