"""Catalog sync over real HTTP against quicksight_local: first run, idempotent re-run, what disappears."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.management import CommandError, call_command

from exports import quota
from exports.models import AuditEvent, Dashboard, DashboardParameter, Export, Sheet, Visual
from exports.sync import sync_dashboards
from quicksight_local.catalog import load_catalog

ACCOUNT, REGION = "111122223333", "us-east-1"


@pytest.fixture
def qs(qs_local, settings):
    # Many syncs in a few seconds: lift both quotas so the tests do not measure the rate limiter.
    settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 1000
    qs_local.limits.max_calls_per_second = 1000
    return qs_local


@pytest.fixture
def edit_catalog(qs):
    """edit_catalog(dashboard_id, fn) swaps that dashboard in quicksight_local's catalog for fn(dashboard)."""
    original = qs.state.catalog

    def edit(dashboard_id: str, fn):
        catalog = qs.state.catalog
        dashboards = dict(catalog.dashboards)
        changed = fn(dashboards[dashboard_id])
        if changed is None:
            del dashboards[dashboard_id]
        else:
            dashboards[dashboard_id] = changed
        qs.state.catalog = dataclasses.replace(catalog, dashboards=dashboards)

    yield edit
    qs.state.catalog = original


def without_visual(visual_id: str):
    def fn(dashboard):
        sheets = tuple(
            dataclasses.replace(sheet, visuals=tuple(v for v in sheet.visuals if v.visual_id != visual_id))
            for sheet in dashboard.sheets
        )
        return dataclasses.replace(dashboard, sheets=sheets)

    return fn


def sync(**kwargs):
    return sync_dashboards(account_id=ACCOUNT, region=REGION, **kwargs)


def test_first_sync_builds_the_catalog(qs, db):
    report = sync()

    assert report.ok and report.gone == []
    assert {d.dashboard_id: d.added for d in report.dashboards} == {
        "sales-overview": 15,
        "support-ops": 9,
        "account-plans": 4,
    }
    sales = Dashboard.objects.get(aws_account_id=ACCOUNT, region=REGION, dashboard_id="sales-overview")
    assert (sales.name, sales.version_number, sales.rls_tag_keys) == ("Sales overview", 3, ["region"])
    assert sales.arn == f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dashboard/sales-overview"
    assert sales.last_synced_at is not None and not sales.is_stale
    assert list(sales.sheets.values_list("sheet_id", "name", "position")) == [
        ("summary", "Summary", 0),
        ("orders", "Order lines", 1),
        ("catalog", "Product catalog", 2),
    ]
    summary = Visual.objects.filter(sheet__dashboard=sales, sheet__sheet_id="summary")
    assert list(summary.values_list("visual_id", "title", "visual_type")) == [
        ("revenue-by-region", "Revenue by region and channel", "PivotTableVisual"),
        ("monthly-revenue", "Monthly revenue", "LineChartVisual"),
        ("revenue-by-product", "Revenue by product", "BarChartVisual"),
    ]
    parameters = {p.name: (p.param_type, p.multi_valued, p.default_values) for p in sales.parameters.all()}
    assert parameters == {
        "Country": ("STRING", True, []),
        "MinQuantity": ("INTEGER", False, [1]),
        "MinRevenue": ("DECIMAL", False, []),
        "OrdersFrom": ("DATETIME", False, []),
        "OrdersTo": ("DATETIME", False, []),
    }
    assert qs.calls.count("ListDashboards", "ok") == 1
    assert qs.calls.count("DescribeDashboardDefinition", "ok") == 3
    # Four data sets (sales_orders, products, support_tickets, account_plans): each described once per sync.
    assert qs.calls.count("DescribeDataSet", "ok") == 4
    assert AuditEvent.objects.filter(action="catalog.synced").count() == 3


def test_second_sync_changes_nothing(qs, db):
    first = sync()
    rows_before = (Sheet.objects.count(), Visual.objects.count(), DashboardParameter.objects.count())
    events_before = AuditEvent.objects.count()

    second = sync()

    assert second.ok
    assert second.totals() == {"added": 0, "changed": 0, "stale": 0, "unchanged": first.totals()["added"]}
    assert (Sheet.objects.count(), Visual.objects.count(), DashboardParameter.objects.count()) == rows_before
    assert AuditEvent.objects.count() == events_before


def test_a_removed_visual_is_marked_stale_and_kept(qs, edit_catalog, alice):
    sync()
    chart = Visual.objects.get(visual_id="monthly-revenue")
    export = Export.objects.create(
        user=alice,
        dashboard=chart.sheet.dashboard,
        spec={"visual_ids": ["monthly-revenue"]},
        request={},
        aws_account_id=ACCOUNT,
        region=REGION,
        snapshot_job_id="history-1",
    )
    edit_catalog("sales-overview", without_visual("monthly-revenue"))

    report = sync()

    sales = next(d for d in report.dashboards if d.dashboard_id == "sales-overview")
    assert (sales.added, sales.stale) == (0, 1)
    # The charts that came after it moved up one place.
    assert sales.changed == 1
    chart.refresh_from_db()
    assert chart.is_stale
    assert Export.objects.get(pk=export.pk).dashboard.dashboard_id == "sales-overview"
    event = AuditEvent.objects.filter(action="catalog.synced").last()
    assert (event.data["dashboard_id"], event.data["stale"]) == ("sales-overview", 1)


def test_a_visual_that_comes_back_is_live_again(qs, edit_catalog, db):
    sync()
    edit_catalog("sales-overview", without_visual("order-lines"))
    sync()
    qs.state.catalog = load_catalog()

    report = sync()

    assert report.ok and report.totals()["stale"] == 0
    assert not Visual.objects.get(visual_id="order-lines").is_stale


def test_a_dashboard_gone_from_quicksight_is_stale_and_leaves_the_dashboards_page(qs, edit_catalog, client, alice):
    from django.contrib.auth.models import Group

    from exports.models import Grant

    sync()
    support = Dashboard.objects.get(dashboard_id="support-ops")
    Grant.objects.create(dashboard=support, group=Group.objects.get(name="Analysts"))
    edit_catalog("support-ops", lambda d: None)

    report = sync()

    assert report.gone == ["support-ops"]
    support.refresh_from_db()
    assert support.is_stale and support.grants.count() == 1
    client.force_login(alice)
    assert "Support operations" not in client.get("/dashboards/").content.decode()


def test_one_dashboard_only(qs, db):
    report = sync(dashboard_id="support-ops")

    assert [d.dashboard_id for d in report.dashboards] == ["support-ops"]
    assert list(Dashboard.objects.values_list("dashboard_id", flat=True)) == ["support-ops"]
    assert qs.calls.count("DescribeDashboardDefinition", "ok") == 1


def test_command_prints_the_summary(qs, db, capsys):
    call_command("sync_dashboards", "--account", ACCOUNT, "--region", REGION)

    out = capsys.readouterr().out
    assert "sales-overview: 15 added, 0 changed, 0 unchanged, 0 stale" in out
    assert "support-ops: 9 added, 0 changed, 0 unchanged, 0 stale" in out
    assert "account-plans: 4 added, 0 changed, 0 unchanged, 0 stale" in out
    assert "3 dashboard(s) in 111122223333/us-east-1: 28 added" in out


def test_command_defaults_to_the_local_account_and_region(qs, db, settings, capsys):
    settings.QUICKSIGHT_LOCAL_ACCOUNT_ID, settings.AWS_REGION = ACCOUNT, REGION

    call_command("sync_dashboards", "--dashboard", "sales-overview")

    assert "sales-overview: 15 added" in capsys.readouterr().out


def test_command_fails_when_quicksight_refuses(qs, db, capsys):
    with pytest.raises(CommandError, match="QuickSight did not list the dashboards"):
        call_command("sync_dashboards", "--account", "999999999999", "--region", REGION)

    out = capsys.readouterr().out
    assert "ListDashboards: FAILED AccessDeniedException" in out
    assert "Nothing synced in 999999999999/us-east-1" in out
    assert not Dashboard.objects.exists()


def test_command_names_the_option_it_refuses(db):
    with pytest.raises(CommandError, match="--account: An AWS account id is exactly 12 digits"):
        call_command("sync_dashboards", "--account", "12345")


def test_command_exits_non_zero_when_one_dashboard_fails(qs, db, capsys, edit_catalog):
    # A visual without an id: QuickSight's answer cannot become a catalog row.
    broken_sheet = dataclasses.replace(
        load_catalog().dashboards["support-ops"].sheets[0],
        visuals=(dataclasses.replace(load_catalog().dashboards["support-ops"].sheets[0].visuals[0], visual_id=""),),
    )
    edit_catalog("support-ops", lambda d: dataclasses.replace(d, sheets=(broken_sheet,)))

    with pytest.raises(CommandError, match="1 dashboard\\(s\\) could not be synced"):
        call_command("sync_dashboards", "--account", ACCOUNT, "--region", REGION)

    out = capsys.readouterr().out
    assert "sales-overview: 15 added" in out and "support-ops: FAILED UnexpectedResponse" in out
    assert set(Dashboard.objects.values_list("dashboard_id", flat=True)) == {"sales-overview", "account-plans"}


def test_an_admins_sync_keeps_out_of_the_lifecycles_reserve_but_not_to_one_persons_budget(qs, db, settings, admin_user):
    # A person's budget of one call a minute would stop a sync at its second call; the shared
    # interactive share (the rate above) lets the whole catalog through.
    settings.QUICKSIGHT_USER_CALLS_PER_SECOND = 1 / 60
    settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 100

    report = sync(actor=admin_user)

    assert report.ok and len(report.dashboards) == 3
    assert [bucket.key for bucket in quota.buckets_for(ACCOUNT, quota.SHARED)] == [ACCOUNT, f"interactive-{ACCOUNT}"]
