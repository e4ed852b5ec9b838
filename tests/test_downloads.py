"""Downloads: who may, a fresh link on every click, s3:// signed by the portal, the archive, the audit trail."""

from __future__ import annotations

import hashlib
import json
import urllib.request

import pytest
from botocore.stub import Stubber
from django.urls import reverse

from exports import aws
from exports.downloads import export_files_archive
from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION
from exports.models import AuditEvent, Export, ExportFile, S3Destination
from tests.history_factory import REGION, make_dashboard, make_export

EXPIRED = "https://quicksight.example/expired/file.pdf?X-Amz-Expires=60&X-Amz-Signature=old"
FRESH = "https://quicksight.example/fresh/file.pdf?X-Amz-Expires=60&X-Amz-Signature=new"
BUCKET = "portal-results"


@pytest.fixture
def moto_s3(s3_server):
    s3_server.create_bucket(Bucket=BUCKET)
    return s3_server


@pytest.fixture
def quicksight_stub():
    aws.reset_clients()
    client = aws.quicksight_client(REGION)
    with Stubber(client) as stubber:
        yield stubber
    aws.reset_clients()


def requested_files(export: Export) -> list[dict]:
    return [group["Files"][0] for group in export.request["SnapshotConfiguration"]["FileGroups"]]


def result_response(export: Export, uris: list[str | list[str]], order: list[int] | None = None) -> dict:
    """QuickSight's answer: group i echoes requested file i and holds uris[i] (a list: several parts);
    `order` lists the groups as QuickSight happens to return them."""
    files = requested_files(export)
    groups = []
    for i in order if order is not None else range(len(uris)):
        parts = uris[i] if isinstance(uris[i], list) else [uris[i]]
        s3 = [{"S3Uri": u} if u else {"ErrorInfo": [{"ErrorMessage": "gone", "ErrorType": "X"}]} for u in parts]
        groups.append({"Files": [files[i]], "S3Results": s3})
    return {
        "Arn": export.job_arn,
        "JobStatus": "COMPLETED",
        "Result": {"AnonymousUsers": [{"FileGroups": groups}]},
        "RequestId": "describe-result-request",
        "Status": 200,
    }


def expect_result(stubber: Stubber, export: Export, uris: list, order: list[int] | None = None) -> None:
    stubber.add_response(
        "describe_dashboard_snapshot_job_result",
        result_response(export, uris, order),
        {
            "AwsAccountId": export.aws_account_id,
            "DashboardId": export.dashboard.dashboard_id,
            "SnapshotJobId": export.snapshot_job_id,
        },
    )


def test_expired_quicksight_link_is_refreshed_on_every_click(client, alice, quicksight_stub):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    expect_result(quicksight_stub, export, [FRESH])
    expect_result(quicksight_stub, export, [FRESH.replace("new", "newer")])
    client.force_login(alice)
    url = reverse("exports:download", args=[export.pk, 0])

    first = client.get(url)
    assert first.status_code == 302
    assert first["Location"] == FRESH
    assert "no-store" in first["Cache-Control"]
    second = client.get(url)
    assert second["Location"] == FRESH.replace("new", "newer")
    quicksight_stub.assert_no_pending_responses()
    # The stored row never learns the fresh link.
    assert ExportFile.objects.get(export=export).s3_uri == EXPIRED


def test_each_download_writes_an_audit_event_without_the_link(client, alice, quicksight_stub):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    expect_result(quicksight_stub, export, [FRESH])
    client.force_login(alice)
    client.get(reverse("exports:download", args=[export.pk, 0]), REMOTE_ADDR="192.0.2.7")

    event = AuditEvent.objects.get(action=DOWNLOAD_ACTION)
    assert event.actor == alice and event.actor_username == "alice"
    assert event.export_id == export.pk
    assert event.object_type == "exports.exportfile"
    assert event.data["file"] == 0 and event.data["format"] == "PDF" and event.data["source"] == "quicksight"
    assert event.ip_address == "192.0.2.7"
    assert event.created_at is not None
    assert "quicksight.example" not in str(event.data)


def test_refresh_refused_by_quicksight_sends_the_user_back_with_a_message(client, alice, quicksight_stub):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    quicksight_stub.add_client_error(
        "describe_dashboard_snapshot_job_result", "ResourceNotFoundException", "job is gone", 404
    )
    client.force_login(alice)
    response = client.get(reverse("exports:download", args=[export.pk, 0]), follow=True)
    assert "QuickSight did not give a fresh link for this file (ResourceNotFoundException)" in response.content.decode()
    assert not AuditEvent.objects.filter(action=DOWNLOAD_ACTION).exists()


def test_s3_result_is_signed_by_the_portal_with_a_filename(client, alice, moto_s3):
    body = b"region,amount\nEMEA,42\n"
    moto_s3.put_object(Bucket=BUCKET, Key="exports/orders.csv", Body=body)
    destination = S3Destination.objects.create(name="Finance", bucket_name=BUCKET, region=REGION)
    export = make_export(
        alice, make_dashboard(), formats=["CSV"], destination=destination, uris=[f"s3://{BUCKET}/exports/orders.csv"]
    )
    client.force_login(alice)
    response = client.get(reverse("exports:download", args=[export.pk, 0]))
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read() == body
        disposition = fetched.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Sales overview - Orders table - ')
    assert disposition.endswith(".csv")
    assert AuditEvent.objects.get(action=DOWNLOAD_ACTION).data["source"] == "s3"


def test_outsider_gets_404_and_no_aws_call(client, alice, bob, carol, no_aws):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    for user in (bob, carol):
        client.force_login(user)
        assert client.get(reverse("exports:download", args=[export.pk, 0])).status_code == 404
    assert no_aws == []
    assert not AuditEvent.objects.exists()


def test_auditor_downloads_only_when_allowed(client, alice, audra, settings, quicksight_stub):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    client.force_login(audra)
    settings.AUDITORS_CAN_DOWNLOAD = False
    assert client.get(reverse("exports:download", args=[export.pk, 0])).status_code == 404
    settings.AUDITORS_CAN_DOWNLOAD = True
    expect_result(quicksight_stub, export, [FRESH])
    response = client.get(reverse("exports:download", args=[export.pk, 0]))
    assert response.status_code == 302
    assert AuditEvent.objects.get(action=DOWNLOAD_ACTION).actor == audra


def test_admin_may_download(client, alice, demo_users, quicksight_stub):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    expect_result(quicksight_stub, export, [FRESH])
    client.force_login(demo_users["admin"])
    assert client.get(reverse("exports:download", args=[export.pk, 0]))["Location"] == FRESH


def test_failed_file_is_not_downloadable(client, alice, no_aws):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[""])
    ExportFile.objects.filter(export=export).update(error_code="RENDER_FAILED", error_message="The PDF failed.")
    client.force_login(alice)
    response = client.get(reverse("exports:download", args=[export.pk, 0]), follow=True)
    assert "File 1: The PDF failed." in response.content.decode()
    assert client.get(reverse("exports:download", args=[export.pk, 5])).status_code == 404
    assert no_aws == []


def test_archive_copies_files_with_checksums_and_serves_them_after_links_lapse(
    client, alice, settings, tmp_path, moto_s3, quicksight_stub, monkeypatch
):
    settings.ARCHIVE_EXPORTS = True
    settings.MEDIA_ROOT = tmp_path
    pdf, csv_bytes = b"%PDF-1.7 demo", b"a,b\n1,2\n"
    moto_s3.put_object(Bucket=BUCKET, Key="qs/file.pdf", Body=pdf)
    moto_s3.put_object(Bucket=BUCKET, Key="dest/file.csv", Body=csv_bytes)
    # QuickSight's own result: an expiring http(s) link (here a presigned GET on the moto bucket).
    quicksight_link = moto_s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "qs/file.pdf"})
    export = make_export(
        alice, make_dashboard(), formats=["PDF", "CSV"], uris=[EXPIRED, f"s3://{BUCKET}/dest/file.csv"]
    )
    expect_result(quicksight_stub, export, [quicksight_link, ""])

    archived = export_files_archive(export=export)

    assert [f.index for f in archived] == [0, 1]
    rows = {f.index: f for f in ExportFile.objects.filter(export=export)}
    assert rows[0].sha256 == hashlib.sha256(pdf).hexdigest() and rows[0].size_bytes == len(pdf)
    assert rows[1].sha256 == hashlib.sha256(csv_bytes).hexdigest() and rows[1].size_bytes == len(csv_bytes)
    event = AuditEvent.objects.get(action="export.files_archived")
    assert [f["sha256"] for f in event.data["files"]] == [rows[0].sha256, rows[1].sha256]

    calls = []
    monkeypatch.setattr(aws, "quicksight_client", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(aws, "s3_client", lambda *a, **k: calls.append(a))
    client.force_login(alice)
    response = client.get(reverse("exports:download", args=[export.pk, 0]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment;")
    assert calls == []
    download = AuditEvent.objects.get(action=DOWNLOAD_ACTION)
    assert download.data["source"] == "archive" and download.data["sha256"] == rows[0].sha256
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert rows[0].sha256 in page


def test_archive_does_nothing_when_the_setting_is_off(alice, settings, no_aws):
    settings.ARCHIVE_EXPORTS = False
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    assert export_files_archive(export=export) == []
    assert not ExportFile.objects.get(export=export).archived_file


def test_the_fresh_link_is_the_one_of_the_group_echoing_the_file_not_the_one_at_its_position(
    client, alice, quicksight_stub
):
    export = make_export(alice, make_dashboard(), formats=["PDF", "CSV"], uris=[EXPIRED, EXPIRED.replace("pdf", "csv")])
    fresh_csv = "https://quicksight.example/fresh/file.csv?X-Amz-Signature=csv"
    expect_result(quicksight_stub, export, [FRESH, fresh_csv], order=[1, 0])
    client.force_login(alice)

    response = client.get(reverse("exports:download", args=[export.pk, 1]))

    assert response.status_code == 302 and response["Location"] == fresh_csv
    assert AuditEvent.objects.get(action=DOWNLOAD_ACTION).data["format"] == "CSV"


def split_csv_export(alice) -> tuple[Export, list[str]]:
    """A CSV file group that QuickSight answered with three objects (links that have since lapsed)."""
    export = make_export(alice, make_dashboard(), formats=["CSV"])
    stored = [f"https://quicksight.example/job/orders-{n}.csv?X-Amz-Signature=old" for n in range(3)]
    for part, uri in enumerate(stored):
        ExportFile.objects.create(
            export=export, index=0, part=part, parts=3, format="CSV", sheet_ids=["s1"], visual_ids=["v1"], s3_uri=uri
        )
    return export, stored


def test_each_part_of_a_group_is_offered_and_downloads_its_own_object(client, alice, quicksight_stub):
    export, stored = split_csv_export(alice)
    fresh = [uri.replace("old", "new") for uri in stored]
    # The fresh answer lists the parts in another order: each part follows its own object.
    expect_result(quicksight_stub, export, [[fresh[2], fresh[0], fresh[1]]])
    expect_result(quicksight_stub, export, [[fresh[2], fresh[0], fresh[1]]])
    client.force_login(alice)
    part_urls = [reverse("exports:download_part", args=[export.pk, 0, part]) for part in range(3)]

    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    listing = client.get(reverse("exports:list")).content.decode()
    second = client.get(part_urls[1])
    third = client.get(part_urls[2])

    assert all(url in page for url in part_urls) and "part 3 of 3" in page
    assert all(url in listing for url in part_urls)
    assert (second.status_code, second["Location"]) == (302, fresh[1])
    assert third["Location"] == fresh[2]
    downloads = AuditEvent.objects.filter(action=DOWNLOAD_ACTION).order_by("seq")
    assert [(e.data["file"], e.data["part"], e.data["parts"]) for e in downloads] == [(0, 1, 3), (0, 2, 3)]
    assert [e.data["number"] for e in downloads] == ["1.2", "1.3"]
    assert [e.data["file_name"].rsplit(" (", 1)[1] for e in downloads] == ["part 2 of 3).csv", "part 3 of 3).csv"]
    assert "quicksight.example" not in str([e.data for e in downloads])


def test_the_auditor_sees_which_part_was_downloaded(client, alice, audra, quicksight_stub):
    export, stored = split_csv_export(alice)
    expect_result(quicksight_stub, export, [[uri.replace("old", "new") for uri in stored]])
    client.force_login(alice)
    client.get(reverse("exports:download_part", args=[export.pk, 0, 1]))
    client.force_login(audra)

    page = client.get(reverse("exports:audit")).content.decode()
    record = json.loads(client.get(reverse("exports:audit_jsonl")).getvalue().decode().splitlines()[0])

    assert "File 1 (CSV), part 2" in page
    # Counted the same way in the history's download as on screen (it said 0 and 1 here before).
    assert [(d["user"], d["file"], d["part"]) for d in record["download_log"]] == [("alice", 1, 2)]


def test_a_part_that_does_not_exist_is_404(client, alice, no_aws):
    export, _ = split_csv_export(alice)
    client.force_login(alice)

    assert client.get(reverse("exports:download_part", args=[export.pk, 0, 3])).status_code == 404
    assert client.get(reverse("exports:download_part", args=[export.pk, 1, 0])).status_code == 404


def test_a_refresh_quicksight_would_refuse_as_malformed_is_not_called_busy(client, alice):
    # botocore refuses the call before it leaves (an account id is 12 digits): retrying cannot help.
    # No Stubber here: it would answer before botocore validates the parameters.
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[EXPIRED])
    Export.objects.filter(pk=export.pk).update(aws_account_id="12345")
    client.force_login(alice)

    page = client.get(reverse("exports:download", args=[export.pk, 0]), follow=True).content.decode()

    assert "QuickSight did not give a fresh link for this file (InvalidParameterValueException)" in page
    assert "QuickSight is busy" not in page
    assert not AuditEvent.objects.filter(action=DOWNLOAD_ACTION).exists()
