"""A small export catalog for tests: one dashboard granted to Analysts, with every kind of piece."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group

from exports.models import Dashboard, DashboardParameter, Grant, S3Destination, Sheet, Visual

ACCOUNT = "111122223333"
REGION = "us-east-1"


@dataclass
class SalesCatalog:
    dashboard: Dashboard
    destination: S3Destination
    other_region_destination: S3Destination


def make_sales_catalog(*, dashboard_id: str = "sales", grant_group: str = "Analysts") -> SalesCatalog:
    """Sheets 'summary' (pivot, chart, table) and 'detail' (2 tables, 1 chart, 1 stale table);
    parameters of all four types; RLS key 'region'; one destination open to Analysts."""
    dashboard = Dashboard.objects.create(
        aws_account_id=ACCOUNT,
        region=REGION,
        dashboard_id=dashboard_id,
        name="Sales overview",
        rls_tag_keys=["region"],
    )
    summary = Sheet.objects.create(dashboard=dashboard, sheet_id="summary", name="Summary", position=0)
    detail = Sheet.objects.create(dashboard=dashboard, sheet_id="detail", name="Detail", position=1)
    Sheet.objects.create(dashboard=dashboard, sheet_id="old-sheet", name="Old", position=2, is_stale=True)
    visuals = [
        (summary, "revenue-pivot", "Revenue by region", "PivotTableVisual"),
        (summary, "revenue-chart", "Monthly revenue", "LineChartVisual"),
        (summary, "top-products", "Top products", "TableVisual"),
        (detail, "order-lines", "Order lines", "TableVisual"),
        (detail, "returns", "Returns", "TableVisual"),
        (detail, "margin-bars", "Margin by product", "BarChartVisual"),
        (detail, "gone-table", "Gone table", "TableVisual"),
    ]
    for position, (sheet, visual_id, title, visual_type) in enumerate(visuals):
        Visual.objects.create(
            sheet=sheet,
            visual_id=visual_id,
            title=title,
            visual_type=visual_type,
            position=position,
            is_stale=visual_id == "gone-table",
        )
    for name, param_type, multi in [
        ("Country", "STRING", True),
        ("MinQuantity", "INTEGER", False),
        ("MinPrice", "DECIMAL", False),
        ("From", "DATETIME", False),
        ("Retired", "STRING", False),
    ]:
        DashboardParameter.objects.create(
            dashboard=dashboard, name=name, param_type=param_type, multi_valued=multi, is_stale=name == "Retired"
        )
    group, _ = Group.objects.get_or_create(name=grant_group)
    Grant.objects.create(dashboard=dashboard, group=group)
    destination, _ = S3Destination.objects.get_or_create(
        name="Finance bucket",
        defaults={"bucket_name": "finance-exports", "bucket_prefix": "snapshots/", "region": REGION},
    )
    destination.allowed_groups.add(group)
    other, _ = S3Destination.objects.get_or_create(
        name="Dublin bucket",
        defaults={"bucket_name": "dublin-exports", "bucket_prefix": "snapshots/", "region": "eu-west-1"},
    )
    other.allowed_groups.add(group)
    return SalesCatalog(dashboard, destination, other)


def make_demo_users() -> None:
    """seed_demo's users, groups and RLS tags, as rows only: the tags skip the services (and their
    audit events), so every test's history starts empty."""
    from django.contrib.auth import get_user_model

    from exports.management.commands.seed_demo import DEMO_USERS, seed_users
    from exports.models import RlsTagMapping

    seed_users()
    for user in get_user_model().objects.filter(username__in=DEMO_USERS):
        for key, value in DEMO_USERS[user.username][2].items():
            RlsTagMapping.objects.update_or_create(
                user=user, dashboard=None, tag_key=key, defaults={"tag_value": value}
            )
