"""A double click on "Create export" in a real browser creates one export (issue #12), and a
submission over the hourly limit shows the limit's notice in the page (htmx swaps the 429)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from exports.models import Export
from tests.factories import make_sales_catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DETAIL = re.compile(r".*/exports/[0-9a-f-]{36}/$")


def submits_seen(page) -> list:
    """Every POST of the form's Create button, with whether the server answered it."""
    seen = []
    page.on(
        "request",
        lambda request: (
            seen.append(request) if request.method == "POST" and "action=submit" in (request.post_data or "") else None
        ),
    )
    return seen


def settled(requests) -> bool:
    return all(request.failure is not None or request.response() is not None for request in requests)


def test_a_double_click_on_create_export_creates_one_export(demo_users, login, live_server):
    make_sales_catalog()
    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")
    page.locator("#add-pdf").click()
    expect(page.locator("#submit-export")).to_be_enabled()
    submits = submits_seen(page)

    page.locator("#submit-export").dblclick()
    page.wait_for_url(DETAIL)

    deadline = time.monotonic() + 10
    while not settled(submits) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(submits) == 2  # both clicks reached the server...
    assert Export.objects.count() == 1  # ...and made one export
    assert page.url.endswith(f"/exports/{Export.objects.get().pk}/")


def test_over_the_hourly_limit_the_page_shows_the_limit_and_creates_nothing(
    demo_users, login, live_server, settings, redis_url
):
    settings.REDIS_URL = redis_url
    settings.EXPORT_SUBMISSIONS_PER_HOUR = 1
    make_sales_catalog()
    page = login("alice")
    for attempt in range(2):
        page.goto(f"{live_server.url}/exports/new/?dashboard=sales")
        page.locator("#add-pdf").click()
        expect(page.locator("#submit-export")).to_be_enabled()
        page.locator("#submit-export").click()
        if attempt == 0:  # the first is created: wait for its page, or the next goto aborts the POST
            page.wait_for_url(re.compile(r".*/exports/[0-9a-f-]{36}/$"))
    page.wait_for_url(re.compile(r".*/exports/new/\?dashboard=sales$"))  # the second stayed on the form

    expect(page.locator("#limit-notice")).to_have_text(
        "You have reached the limit of 1 export submissions per hour. Try again in 60 minutes."
    )
    expect(page.locator("#builder")).to_be_visible()  # the form is still there, as the user left it
    assert Export.objects.count() == 1
