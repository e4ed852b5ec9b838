"""The business users' Dashboards page: what is granted, search (full page and htmx), RLS verdicts, 404s."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from exports.models import Dashboard, Grant, RlsTagMapping, Sheet, Visual
from tests.factories import make_sales_catalog


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog(dashboard_id="sales-overview").dashboard


@pytest.fixture
def support(demo_users):
    dashboard = Dashboard.objects.create(
        aws_account_id="111122223333", region="us-east-1", dashboard_id="support-ops", name="Support operations"
    )
    sheet = Sheet.objects.create(dashboard=dashboard, sheet_id="backlog", name="Backlog")
    Visual.objects.create(sheet=sheet, visual_id="open-tickets", title="Tickets", visual_type="TableVisual")
    Grant.objects.create(dashboard=dashboard, group=Group.objects.get(name="Analysts"))
    return dashboard


def page(client, user, url="/dashboards/", **headers):
    client.force_login(user)
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_analyst_sees_granted_dashboards_with_sheets_and_visuals(client, alice, sales, support):
    html = page(client, alice)

    assert "Sales overview" in html and "Support operations" in html
    assert "Summary" in html and "Detail" in html
    assert "Revenue by region" in html and "Order lines" in html
    # Charts are listed as PDF-only; tables and pivots export as CSV and Excel too.
    assert html.count("PDF only") == 2
    assert html.count("CSV · Excel · PDF") == 5
    assert 'href="/exports/new/?dashboard=sales-overview"' in html


def test_stale_sheets_and_visuals_are_not_offered(client, alice, sales):
    html = page(client, alice)

    assert "<h3>Detail" in html and "<h3>Old" not in html
    assert "Gone table" not in html


def test_a_stale_dashboard_is_not_listed(client, alice, sales):
    Dashboard.objects.filter(pk=sales.pk).update(is_stale=True)

    assert "Sales overview" not in page(client, alice)


def test_outsider_does_not_see_the_dashboard_on_the_page(client, carol, sales):
    html = page(client, carol)

    assert "Sales overview" not in html
    assert "No dashboard has been shared with you yet" in html


def test_outsider_gets_404_for_the_dashboard_url(client, carol, alice, sales):
    client.force_login(carol)
    assert client.get("/dashboards/sales-overview/").status_code == 404
    assert client.get("/dashboards/no-such-dashboard/").status_code == 404

    assert "Revenue by region" in page(client, alice, "/dashboards/sales-overview/")


def test_a_grant_to_the_user_alone_shows_the_dashboard(client, carol, sales):
    Grant.objects.create(dashboard=sales, user=carol)
    RlsTagMapping.objects.create(user=carol, tag_key="region", tag_value="APAC")

    html = page(client, carol)

    assert "Sales overview" in html and "New export" in html


def test_user_without_rls_tags_is_told_why_and_gets_no_button(client, carol, sales):
    Grant.objects.create(dashboard=sales, user=carol)

    html = page(client, carol)

    assert "shows only the rows your row-level security tags allow (region)" in html
    assert "Ask an administrator to map your tags." in html
    assert "/exports/new/?dashboard=sales-overview" not in html


def test_search_filters_by_dashboard_sheet_or_visual(client, alice, sales, support):
    by_name = page(client, alice, "/dashboards/?q=support")
    by_visual = page(client, alice, "/dashboards/?q=margin+by")
    nothing = page(client, alice, "/dashboards/?q=zzz")

    assert "Support operations" in by_name and "Sales overview" not in by_name
    assert "Sales overview" in by_visual and "Support operations" not in by_visual
    assert "No dashboard shared with you matches “zzz”" in nothing


def test_search_by_a_stale_visual_finds_nothing(client, alice, sales):
    assert "Sales overview" not in page(client, alice, "/dashboards/?q=gone+table")


def test_htmx_search_returns_only_the_results(client, alice, sales, support):
    html = page(client, alice, "/dashboards/?q=support", HX_Request="true")

    assert html.lstrip().startswith('<div id="dashboard-results"')
    assert "<html" not in html and "Support operations" in html and "Sales overview" not in html


def test_htmx_history_restore_gets_the_whole_page(client, alice, sales):
    html = page(client, alice, "/dashboards/?q=sales", HX_Request="true", HX_History_Restore_Request="true")

    assert "<html" in html and 'name="q"' in html


def test_search_form_works_without_javascript(client, alice, sales):
    html = page(client, alice)

    assert '<form class="search" method="get" action="/dashboards/"' in html
    assert 'hx-get="/dashboards/"' in html and 'hx-target="#dashboard-results"' in html


def test_page_needs_login(client):
    response = client.get("/dashboards/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_query_count_does_not_grow_with_the_catalog(client, alice, django_assert_max_num_queries):
    client.force_login(alice)
    for n in range(8):
        make_sales_catalog(dashboard_id=f"sales-{n}")

    with django_assert_max_num_queries(7):
        html = client.get("/dashboards/").content.decode()

    assert html.count("New export") == 8
    with django_assert_max_num_queries(7):
        client.get("/dashboards/?q=revenue", headers={"HX-Request": "true"})
