"""Exports of the demo catalog (account 111122223333, us-east-1) for the job lifecycle tests."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import Group

from exports.models import Dashboard, Export, Grant

ACCOUNT = "111122223333"
REGION = "us-east-1"

PDF = {"Files": [{"SheetSelections": [{"SheetId": "summary", "SelectionScope": "ALL_VISUALS"}], "FormatType": "PDF"}]}
CSV = {
    "Files": [
        {
            "SheetSelections": [
                {"SheetId": "orders", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["top-countries"]}
            ],
            "FormatType": "CSV",
        }
    ]
}
EXCEL = {
    "Files": [
        {
            "SheetSelections": [
                {"SheetId": "summary", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["revenue-by-region"]},
                {"SheetId": "orders", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["top-countries"]},
            ],
            "FormatType": "EXCEL",
        }
    ]
}
# The 24-row product list: the quickest file to render, for load tests.
CSV_SMALL = {
    "Files": [
        {
            "SheetSelections": [
                {"SheetId": "catalog", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["product-list"]}
            ],
            "FormatType": "CSV",
        }
    ]
}
GROUPS = {"PDF": PDF, "CSV": CSV, "EXCEL": EXCEL, "CSV_SMALL": CSV_SMALL}


def sales_dashboard() -> Dashboard:
    """The demo `sales-overview`, granted to Analysts (alice: region EMEA, bob: AMER)."""
    dashboard, created = Dashboard.objects.get_or_create(
        aws_account_id=ACCOUNT,
        region=REGION,
        dashboard_id="sales-overview",
        defaults={"name": "Sales overview", "rls_tag_keys": ["region"]},
    )
    if created:
        Grant.objects.create(dashboard=dashboard, group=Group.objects.get_or_create(name="Analysts")[0])
    return dashboard


def make_request(export_id: uuid.UUID, formats=("CSV",), tags: dict[str, str] | None = None, **extra) -> dict:
    tags = {"region": "EMEA"} if tags is None else tags
    anonymous: dict[str, Any] = {}
    if tags:
        anonymous["RowLevelPermissionTags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    request = {
        "AwsAccountId": ACCOUNT,
        "DashboardId": "sales-overview",
        "SnapshotJobId": f"export-{export_id}",
        "UserConfiguration": {"AnonymousUsers": [anonymous]},
        "SnapshotConfiguration": {"FileGroups": [GROUPS[f] for f in formats], **extra},
    }
    return request


def make_export(user, formats=("CSV",), tags: dict[str, str] | None = None, **fields) -> Export:
    """A PENDING export as the form would store it (request = the exact Start kwargs, JSON)."""
    export_id = uuid.uuid4()
    tags = {"region": "EMEA" if user.username == "alice" else "AMER"} if tags is None else tags
    extra = fields.pop("request_extra", {})
    return Export.objects.create(
        id=export_id,
        user=user,
        dashboard=sales_dashboard(),
        spec={"dashboard": "sales-overview", "files": [{"format": f} for f in formats]},
        request=make_request(export_id, formats, tags, **extra),
        formats=" ".join(GROUPS[f]["Files"][0]["FormatType"] for f in formats),
        aws_account_id=ACCOUNT,
        region=REGION,
        snapshot_job_id=f"export-{export_id}",
        **fields,
    )


def actions(export: Export) -> list[str]:
    return list(export.events.order_by("seq").values_list("action", flat=True))
