"""Dashboards and exports as the job lifecycle leaves them, for the history and download tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.utils import timezone

from exports.models import Dashboard, Export, ExportFile, S3Destination, Sheet, Visual

ACCOUNT = "111122223333"
REGION = "us-east-1"


def make_dashboard(dashboard_id: str = "sales", name: str = "Sales overview") -> Dashboard:
    dashboard, _ = Dashboard.objects.get_or_create(
        aws_account_id=ACCOUNT,
        region=REGION,
        dashboard_id=dashboard_id,
        defaults={"name": name, "rls_tag_keys": ["region"]},
    )
    sheet, _ = Sheet.objects.get_or_create(dashboard=dashboard, sheet_id="s1", defaults={"name": "Overview"})
    Visual.objects.get_or_create(
        sheet=sheet, visual_id="v1", defaults={"title": "Orders table", "visual_type": "TableVisual"}
    )
    return dashboard


def snapshot_request(
    dashboard: Dashboard,
    job_id: str,
    *,
    formats: Iterable[str] = ("PDF", "CSV"),
    tags: dict[str, str] | None = None,
    destination: S3Destination | None = None,
) -> dict:
    groups = []
    for fmt in formats:
        if fmt == "PDF":
            selection = {"SheetId": "s1", "SelectionScope": "ALL_VISUALS"}
        else:
            selection = {"SheetId": "s1", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["v1"]}
        groups.append({"Files": [{"FormatType": fmt, "SheetSelections": [selection]}]})
    config = {
        "FileGroups": groups,
        "Parameters": {"StringParameters": [{"Name": "Country", "Values": ["France", "Spain"]}]},
    }
    if destination is not None:
        config["DestinationConfiguration"] = {
            "S3Destinations": [
                {
                    "BucketConfiguration": {
                        "BucketName": destination.bucket_name,
                        "BucketPrefix": destination.bucket_prefix,
                        "BucketRegion": destination.region,
                    }
                }
            ]
        }
    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {}).items()]
    return {
        "AwsAccountId": dashboard.aws_account_id,
        "DashboardId": dashboard.dashboard_id,
        "SnapshotJobId": job_id,
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTags": tag_list}]},
        "SnapshotConfiguration": config,
    }


def build_export(
    user,
    dashboard: Dashboard,
    *,
    status: str = Export.Status.COMPLETED,
    formats: Iterable[str] = ("PDF", "CSV"),
    tags: dict[str, str] | None = None,
    destination: S3Destination | None = None,
) -> Export:
    """An unsaved Export (bulk_create-friendly)."""
    export_id = uuid.uuid4()
    job_id = f"portal-{export_id}"
    now = timezone.now()
    terminal = status in Export.TERMINAL
    return Export(
        id=export_id,
        user=user,
        dashboard=dashboard,
        destination=destination,
        status=status,
        spec={"formats": list(formats)},
        request=snapshot_request(dashboard, job_id, formats=formats, tags=tags, destination=destination),
        formats=" ".join(formats),
        aws_account_id=dashboard.aws_account_id,
        region=dashboard.region,
        snapshot_job_id=job_id,
        job_arn=f"arn:aws:quicksight:{dashboard.region}:{dashboard.aws_account_id}:dashboard/{dashboard.dashboard_id}/snapshot-job/{job_id}"
        if status != Export.Status.PENDING
        else "",
        start_request_id=f"req-{export_id.hex[:12]}" if status != Export.Status.PENDING else "",
        submitted_at=now if status != Export.Status.PENDING else None,
        finished_at=now if terminal else None,
    )


def make_export(user, dashboard: Dashboard, *, uris: Iterable[str] = (), **kwargs) -> Export:
    """A saved export; one ExportFile per uri (by file group index) when given."""
    export = build_export(user, dashboard, **kwargs)
    export.save(force_insert=True)
    formats = [group["Files"][0]["FormatType"] for group in export.request["SnapshotConfiguration"]["FileGroups"]]
    for index, uri in enumerate(uris):
        ExportFile.objects.create(
            export=export,
            index=index,
            format=formats[index],
            sheet_ids=["s1"],
            visual_ids=[] if formats[index] == "PDF" else ["v1"],
            s3_uri=uri,
        )
    return export
