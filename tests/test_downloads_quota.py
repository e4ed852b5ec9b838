"""Several Download clicks in a row: each one asks QuickSight for a fresh link through the shared
call quota, and the person waits a moment for a token instead of being refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exports import aws
from exports.models import Dashboard, Export, ExportFile
from tests.history_factory import make_export

CATALOG_SHEET = {"SheetId": "catalog", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["product-list"]}


@pytest.fixture
def completed_job(qs_local, alice):
    dashboard = Dashboard.objects.create(
        aws_account_id=qs_local.account_id, region="us-east-1", dashboard_id="sales-overview", name="Sales overview"
    )
    export = make_export(alice, dashboard, formats=("PDF", "EXCEL", "CSV"))
    request = export.request
    groups = request["SnapshotConfiguration"]["FileGroups"]
    groups[0]["Files"][0]["SheetSelections"] = [{"SheetId": "catalog", "SelectionScope": "ALL_VISUALS"}]
    for group in groups[1:]:
        group["Files"][0]["SheetSelections"] = [CATALOG_SHEET]
    request["SnapshotConfiguration"].pop("Parameters")
    request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] = [{"Key": "region", "Value": "*"}]
    aws.quicksight_client().start_dashboard_snapshot_job(**request)
    qs_local.wait("sales-overview", export.snapshot_job_id, {"COMPLETED"}, timeout=30)
    Export.objects.filter(pk=export.pk).update(request=request)
    for index, fmt in enumerate(("PDF", "EXCEL", "CSV")):
        # Stored links have lapsed: every click must ask QuickSight again.
        ExportFile.objects.create(export=export, index=index, format=fmt, s3_uri=f"{qs_local.url}/files/lapsed")
    return export


def test_three_downloads_in_a_row_each_get_a_fresh_link(client, alice, completed_job, qs_local):
    client.force_login(alice)
    before = qs_local.calls.count(operation="DescribeDashboardSnapshotJobResult")
    locations = []
    for index in range(3):
        url = reverse("exports:download", kwargs={"export_id": completed_job.pk, "index": index})
        response = client.get(url)
        assert response.status_code == 302
        locations.append(response["Location"])
    assert all(location.startswith(f"{qs_local.url}/files/") for location in locations), locations
    assert len(set(locations)) == 3
    assert qs_local.calls.count(operation="DescribeDashboardSnapshotJobResult") - before == 3
