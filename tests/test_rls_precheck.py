"""The RLS pre-check per data set: before the request is built, before Start, and on the Dashboards page."""

from __future__ import annotations

import uuid

import pytest

from exports import jobs
from exports.models import Export, Grant
from exports.snapshot import build_request, parse_spec
from tests.factories import make_sales_catalog
from tests.jobs_support import actions, make_export

ORDERS = {"data_set_id": "orders", "name": "Orders", "error_code": "", "error": ""}
PLANS = {
    "data_set_id": "plans",
    "name": "Account plans",
    "rls": {
        "Status": "ENABLED",
        "TagRules": [
            {"TagKey": "region", "ColumnName": "region"},
            {"TagKey": "segment", "ColumnName": "segment"},
            {"TagKey": "manager", "ColumnName": "account_manager"},
        ],
        "TagRuleConfigurations": [["region", "segment"], ["manager"]],
    },
    "error_code": "",
    "error": "",
}
REGION_ONLY = {"Status": "ENABLED", "TagRules": [{"TagKey": "region", "ColumnName": "region"}]}
DENIED = {**ORDERS, "data_set_id": "uploads", "name": "Uploads", "rls": None, "error_code": "AccessDeniedException"}


def with_data_sets(dashboard, *data_sets):
    dashboard.data_sets = list(data_sets)
    dashboard.rls_tag_keys = ["manager", "region", "segment"]
    dashboard.save()
    return dashboard


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog().dashboard


def test_the_request_is_not_built_for_a_user_one_data_set_shows_nothing(alice, sales):
    with_data_sets(sales, {**ORDERS, "rls": REGION_ONLY}, PLANS)  # alice has region only

    spec = parse_spec({"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]})

    result = build_request(spec, user=alice, export_id=uuid.uuid4())

    [problem] = result.problems
    assert (problem.field, problem.rule) == ("identity", "rls-identity")
    assert "Its data set “Account plans” needs the tags region and segment, or manager" in problem.message
    assert result.kwargs is None


def test_the_dashboards_page_shows_why(client, alice, sales):
    with_data_sets(sales, {**ORDERS, "rls": REGION_ONLY}, DENIED)
    client.force_login(alice)

    html = client.get("/dashboards/").content.decode()

    assert "QuickSight did not let the portal read the row-level security rules of its data set" in html
    assert "“Uploads” (AccessDeniedException)" in html
    assert "/exports/new/?dashboard=sales" not in html


@pytest.fixture
def stub(quicksight_stubber):
    return quicksight_stubber


@pytest.mark.django_db
def test_a_data_set_found_unreadable_after_submit_cancels_before_start(stub, alice):
    export = make_export(alice)
    with_data_sets(export.dashboard, {**ORDERS, "rls": REGION_ONLY}, DENIED)

    jobs.export_submit(export_id=export.pk)  # the stub has no response: any call would raise

    export.refresh_from_db()
    assert export.status == Export.Status.CANCELLED
    assert "its data set “Uploads” (AccessDeniedException)" in export.error_message
    assert actions(export) == ["export.submitting", "export.cancelled"]


@pytest.mark.django_db
def test_a_rule_group_added_after_submit_cancels_before_start(stub, alice):
    export = make_export(alice)
    with_data_sets(export.dashboard, {**ORDERS, "rls": REGION_ONLY}, PLANS)

    jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == Export.Status.CANCELLED
    assert "you have no value for segment, manager" in export.error_message
    assert Grant.objects.filter(dashboard=export.dashboard).exists()


def test_the_admin_shows_each_data_set_and_the_blocked_reason(client, admin_user, sales):
    with_data_sets(sales, {**ORDERS, "rls": REGION_ONLY}, PLANS, {**DENIED, "error": "not authorized"})
    client.force_login(admin_user)

    listing = client.get("/admin/exports/dashboard/").content.decode()
    page = client.get(f"/admin/exports/dashboard/{sales.pk}/change/").content.decode()

    assert "“Uploads” (AccessDeniedException)" in listing
    assert "Orders <code>orders</code>: needs region" in page
    assert "Account plans <code>plans</code>: needs region and segment, or manager" in page
    assert "not readable: AccessDeniedException: not authorized" in page
    assert 'name="data_sets"' not in page  # written by a sync only
