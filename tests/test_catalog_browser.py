"""The Dashboards page in a real browser: htmx live search swaps only the results and updates the URL."""

from __future__ import annotations

import pytest

from tests.factories import make_sales_catalog

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_live_search_narrows_the_list_as_alice_types(demo_users, login, live_server):
    make_sales_catalog(dashboard_id="sales-overview")
    make_sales_catalog(dashboard_id="sales-archive", grant_group="Analysts")
    page = login("alice")
    page.goto(f"{live_server.url}/dashboards/")
    page.evaluate("window.notReloaded = true")
    assert page.locator("article.dashboard").count() == 2

    page.get_by_label("Search dashboards, sheets and visuals").fill("archive")

    page.wait_for_url("**/dashboards/?q=archive")
    page.wait_for_function("document.querySelectorAll('article.dashboard').length === 1")
    assert page.locator("#dashboard-sales-archive").is_visible()
    assert page.evaluate("window.notReloaded") is True
    new_export = page.locator("#dashboard-sales-archive").get_by_role("link", name="New export")
    assert new_export.get_attribute("href") == "/exports/new/?dashboard=sales-archive"


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_navigation_wraps_instead_of_pushing_the_page_sideways(demo_users, login, live_server):
    make_sales_catalog(dashboard_id="sales-overview")
    page = login("alice")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/dashboards/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_role("button", name="Log out").or_(page.get_by_role("link", name="Log out")).is_visible()
