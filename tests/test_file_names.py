"""Files people can find: readable names (the same on the page, in the download, the zip and the
audit record), each file's size before download, and Download all as one streamed zip."""

from __future__ import annotations

import http.server
import io
import os
import re
import threading
import time
import unicodedata
import urllib.request
import zipfile
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from exports import aws, jobs
from exports.events import FILE_DOWNLOADED
from exports.file_names import MAX_BYTES, clean, content_disposition, file_name, unique
from exports.models import AuditEvent, Export, ExportFile, S3Destination, Visual
from tests import history_factory, jobs_support

AT = datetime(2026, 12, 3, 15, 41, tzinfo=UTC)
BUCKET = "portal-results"
STAMP = r"\d{4}-\d\d-\d\d \d{4} UTC"


def received_name(disposition: str) -> str:
    """The name a browser saves under: RFC 6266's filename* wins over the ASCII fallback."""
    return unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition)[1])


def downloads_audited() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=FILE_DOWNLOADED).order_by("seq"))


# --- the rule ---


def test_a_name_says_dashboard_sheet_and_time():
    name = file_name(dashboard="Sales Overview", subject="Summary", at=AT, extension="pdf")
    assert name == "Sales Overview - Summary - 2026-12-03 1541 UTC.pdf"


def test_one_object_of_several_says_which_part():
    name = file_name(dashboard="Sales", subject="Orders", at=AT, extension="csv", part=1, parts=3)
    assert name == "Sales - Orders - 2026-12-03 1541 UTC (part 2 of 3).csv"


def test_two_files_of_one_visual_do_not_share_a_name():
    name = file_name(dashboard="Sales", subject="Orders", at=AT, extension="csv")
    assert unique([name, name, name.upper()]) == [
        name,
        "Sales - Orders - 2026-12-03 1541 UTC (2).csv",
        "SALES - ORDERS - 2026-12-03 1541 UTC (3).CSV",  # Windows and macOS ignore case
    ]


HOSTILE = {
    "unicode": "Umsätze 売上 – Übersicht",
    "slashes": "EMEA/AMER\\APAC",
    "dots": "../../etc/passwd",
    "quotes": 'The "best" dashboard\'s',
    "windows": 'a<b>c:d*e?f|g"',
    "controls": "line\nbreak\x00nul\ttab\x1b[31m",
    "bidi": "invoice\u202efdp.exe",
    "zero-width": "in\u200bvisible\ufeff",
    "long": "Quarterly revenue " * 120,  # 2,160 characters
    "long-unicode": "売" * 2000,
    "only-dots": "...",
}


@pytest.mark.parametrize("title", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_titles_give_safe_names(title):
    name = file_name(dashboard=title, subject=title, at=AT, extension="xlsx")

    assert len(name.encode()) <= MAX_BYTES
    assert not set(name) & set('/\\:*?"<>|')
    assert not any(unicodedata.category(c).startswith("C") for c in name)
    assert ".." not in name and not name.startswith(".") and name == name.strip()
    assert name.endswith(" - 2026-12-03 1541 UTC.xlsx") and clean(name) == name
    disposition = content_disposition(name)
    assert disposition.isascii() and "\n" not in disposition and received_name(disposition) == name


def test_unicode_stays_readable_with_an_ascii_fallback():
    name = file_name(dashboard="Umsätze", subject="Übersicht", at=AT, extension="pdf")
    assert name == "Umsätze - Übersicht - 2026-12-03 1541 UTC.pdf"
    assert content_disposition(name) == (
        'attachment; filename="Umsatze - Ubersicht - 2026-12-03 1541 UTC.pdf"; '
        "filename*=UTF-8''Ums%C3%A4tze%20-%20%C3%9Cbersicht%20-%202026-12-03%201541%20UTC.pdf"
    )


# --- downloads the portal signs: S3 destinations ---


@pytest.fixture
def moto_s3(s3_server):
    s3_server.create_bucket(Bucket=BUCKET)
    return s3_server


def s3_export(alice, moto_s3, *, formats, bodies, dashboard_name="Sales overview"):
    dashboard = history_factory.make_dashboard(name=dashboard_name)
    destination = S3Destination.objects.create(name="Finance", bucket_name=BUCKET, region=history_factory.REGION)
    uris = []
    for n, body in enumerate(bodies):
        if body is None:
            uris.append("")
            continue
        moto_s3.put_object(Bucket=BUCKET, Key=f"exports/job/{n}.bin", Body=body)
        uris.append(f"s3://{BUCKET}/exports/job/{n}.bin")
    export = history_factory.make_export(alice, dashboard, formats=formats, destination=destination, uris=uris)
    ExportFile.objects.filter(export=export, s3_uri="").update(error_code="RENDER_FAILED", error_message="It broke.")
    return export


def test_an_s3_download_arrives_under_the_name_shown_and_audited(client, alice, moto_s3):
    export = s3_export(
        alice, moto_s3, formats=["CSV", "CSV"], bodies=[b"a\n1\n", b"b\n2\n"], dashboard_name="Umsätze/Q4"
    )
    client.force_login(alice)

    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    response = client.get(reverse("exports:download", args=[export.pk, 1]))
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        body, disposition = fetched.read(), fetched.headers["Content-Disposition"]

    got = received_name(disposition)
    # Two CSVs of one visual: the second is numbered rather than overwrite the first in a folder.
    assert re.fullmatch(rf"Umsätze-Q4 - Orders table - {STAMP} \(2\)\.csv", got), got
    assert body == b"b\n2\n"
    (event,) = downloads_audited()
    assert (event.data["file_name"], event.data["number"], event.data["source"]) == (got, "2", "s3")
    assert got in page


def test_the_archived_copy_is_served_under_the_same_name(client, alice, settings, tmp_path, moto_s3):
    from exports.downloads import export_files_archive

    settings.ARCHIVE_EXPORTS, settings.MEDIA_ROOT = True, tmp_path
    export = s3_export(alice, moto_s3, formats=["PDF"], bodies=[b"%PDF-1.7 demo"])
    export_files_archive(export=export)
    client.force_login(alice)

    response = client.get(reverse("exports:download", args=[export.pk, 0]))

    assert b"".join(response.streaming_content) == b"%PDF-1.7 demo"
    got = received_name(response["Content-Disposition"])
    assert re.fullmatch(rf"Sales overview - Overview - {STAMP}\.pdf", got), got
    assert downloads_audited()[0].data["file_name"] == got
    archive = zip_of(client.get(reverse("exports:download_all", args=[export.pk])))
    assert archive.namelist() == [got] and archive.read(got) == b"%PDF-1.7 demo"
    assert downloads_audited()[1].data["source"] == "archive"


# --- through a real export in quicksight_local ---


@pytest.fixture
def lifecycle(qs_local, settings, tmp_path, demo_users):
    settings.VAR_DIR, settings.REDIS_URL = tmp_path, None  # the file quota, no shared Redis
    aws.reset_clients()
    return qs_local


def run_export(qs_local, export: Export) -> Export:
    """Submit, let quicksight_local finish the job, and poll once: the result is stored as the worker does."""
    jobs.export_submit(export_id=export.pk)
    assert qs_local.wait("sales-overview", export.snapshot_job_id) == "COMPLETED"
    for _ in range(50):
        Export.objects.filter(pk=export.pk).update(next_action_at=timezone.now())
        wait = jobs.export_poll(export_id=export.pk).retry_in
        export.refresh_from_db()
        if export.is_terminal:
            break
        time.sleep(wait or 0.1)  # the quota's spacing between QuickSight calls
    assert export.status == Export.Status.COMPLETED, export.error_message
    return export


def test_quicksight_links_name_files_by_the_rule_and_show_their_size(client, lifecycle, alice):
    export = run_export(lifecycle, jobs_support.make_export(alice, formats=("PDF", "CSV", "EXCEL")))
    files = list(export.files.order_by("index"))
    client.force_login(alice)

    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    response = client.get(reverse("exports:download", args=[export.pk, 1]))
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        body, disposition = fetched.read(), fetched.headers["Content-Disposition"]

    assert [re.sub(STAMP, "T", f.name) for f in files] == [
        "Sales overview - Summary - T.pdf",
        "Sales overview - Revenue by country - T.csv",
        "Sales overview - Revenue by region and channel, Revenue by country - T.xlsx",
    ]
    assert received_name(disposition) == files[1].name == downloads_audited()[0].data["file_name"]
    assert files[1].size_bytes == len(body) > 0
    assert all(f.size_bytes and f.size_bytes > 0 for f in files)
    listing = client.get(reverse("exports:list")).content.decode()
    for f in files:
        assert f.name in page and f"<td>{filesizeformat(f.size_bytes)}</td>" in page
        assert f'<span class="size">({filesizeformat(f.size_bytes)})</span>' in listing
    assert "unknown" not in page


def test_s3_destination_files_are_measured_by_head(client, lifecycle, alice, moto_s3):
    destination = S3Destination.objects.create(name="Finance", bucket_name=BUCKET, region="us-east-1")
    destination.allowed_groups.add(*alice.groups.all())
    bucket = {"BucketName": BUCKET, "BucketPrefix": "exports", "BucketRegion": "us-east-1"}
    export = jobs_support.make_export(
        alice,
        formats=("CSV",),
        destination=destination,
        request_extra={"DestinationConfiguration": {"S3Destinations": [{"BucketConfiguration": bucket}]}},
    )
    export = run_export(lifecycle, export)
    (export_file,) = export.files.all()
    stored = moto_s3.get_object(Bucket=BUCKET, Key=export_file.s3_uri.removeprefix(f"s3://{BUCKET}/"))["Body"].read()

    assert export_file.s3_uri.startswith("s3://") and export_file.size_bytes == len(stored) > 0
    assert re.fullmatch(rf"Sales overview - top-countries - {STAMP}\.csv", export_file.name)


def test_a_size_that_cannot_be_known_says_so(client, alice, no_aws):
    export = history_factory.make_export(alice, history_factory.make_dashboard(), formats=["PDF"], uris=["s3://b/k"])
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "size unknown" in page


# --- Download all ---


def zip_of(response) -> zipfile.ZipFile:
    assert response.streaming and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_download_all_streams_one_zip_of_the_ready_files_and_says_which_are_missing(client, alice, moto_s3):
    export = s3_export(
        alice, moto_s3, formats=["PDF", "CSV", "CSV"], bodies=[b"%PDF-1.7", None, b"Region\nEMEA\n" * 1000]
    )
    names = [f.name or None for f in export.files.order_by("index")]
    client.force_login(alice)

    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    response = client.get(reverse("exports:download_all", args=[export.pk]))
    archive = zip_of(response)

    zip_name = received_name(response["Content-Disposition"])
    assert re.fullmatch(rf"Sales overview - {STAMP}\.zip", zip_name)
    members = archive.namelist()
    assert [re.sub(STAMP, "T", m) for m in members] == [
        "Sales overview - Overview - T.pdf",
        "Sales overview - Orders table - T (2).csv",
        "README.txt",
    ]
    assert archive.read(members[0]) == b"%PDF-1.7" and archive.read(members[1]) == b"Region\nEMEA\n" * 1000
    readme = archive.read("README.txt").decode()
    assert "2. Sales overview - Orders table" in readme and "It broke." in readme
    assert "Not in the zip (could not be produced): file 2" in page
    events = downloads_audited()
    assert [(e.data["number"], e.data["file_name"], e.data["zip"]) for e in events] == [
        ("1", members[0], zip_name),
        ("3", members[1], zip_name),
    ]
    assert all(e.actor == alice and e.data["source"] == "s3" for e in events)
    assert names == [None, None, None]  # rows from before names were stored get the rule's names


def test_download_all_fetches_quicksight_links_fresh(client, lifecycle, alice):
    export = run_export(lifecycle, jobs_support.make_export(alice, formats=("PDF", "CSV")))
    client.force_login(alice)

    archive = zip_of(client.get(reverse("exports:download_all", args=[export.pk])))

    assert archive.namelist() == [f.name for f in export.files.order_by("index")]
    assert archive.read(archive.namelist()[0]).startswith(b"%PDF")
    assert [e.data["source"] for e in downloads_audited()] == ["quicksight", "quicksight"]


def test_others_get_404_for_download_all_and_nothing_is_audited(client, alice, bob, carol, audra, moto_s3):
    export = s3_export(alice, moto_s3, formats=["PDF", "CSV"], bodies=[b"%PDF", b"a\n"])
    for user in (bob, carol, audra):
        client.force_login(user)
        assert client.get(reverse("exports:download_all", args=[export.pk])).status_code == 404
    assert downloads_audited() == []


def test_download_all_with_nothing_ready_sends_the_user_back(client, alice, no_aws):
    export = history_factory.make_export(alice, history_factory.make_dashboard(), formats=["PDF"], uris=[""])
    ExportFile.objects.filter(export=export).update(error_code="RENDER_FAILED", error_message="It broke.")
    client.force_login(alice)

    response = client.get(reverse("exports:download_all", args=[export.pk]), follow=True)

    assert "Download all: None of this export&#x27;s files can be downloaded." in response.content.decode()
    assert downloads_audited() == []


def test_download_all_sends_the_zip_as_it_reads_the_files(client, alice, moto_s3):
    big = os.urandom(5 * 1024 * 1024)  # an Excel workbook of 5 MiB, stored as it is
    export = s3_export(alice, moto_s3, formats=["EXCEL", "CSV"], bodies=[big, b"a\n"])
    client.force_login(alice)

    chunks = list(client.get(reverse("exports:download_all", args=[export.pk])).streaming_content)

    # Never the whole file at once: one chunk per megabyte read, give or take the zip's headers.
    assert len(chunks) >= 5 and max(len(c) for c in chunks) < 1.1 * 1024 * 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read(archive.namelist()[0]) == big and archive.testzip() is None


def test_hostile_catalog_titles_download_under_safe_names_on_postgresql(client, alice, moto_s3):
    export = s3_export(alice, moto_s3, formats=["CSV", "PDF"], bodies=[b"a\n", b"%PDF"], dashboard_name="Q/" * 1000)
    Visual.objects.filter(visual_id="v1").update(title='../../"evil"\u202e\x07' + "売" * 2000)
    client.force_login(alice)

    page = client.get(reverse("exports:detail", args=[export.pk]))
    single = client.get(reverse("exports:download", args=[export.pk, 0]))
    with urllib.request.urlopen(single["Location"], timeout=10) as fetched:
        saved = received_name(fetched.headers["Content-Disposition"])
    archive = zip_of(client.get(reverse("exports:download_all", args=[export.pk])))

    assert page.status_code == 200 and escape(saved) in page.content.decode()
    assert saved.startswith("Q-Q-Q") and "…" in saved and saved.endswith(".csv")
    assert len(saved.encode()) <= MAX_BYTES and clean(saved) == saved and ".." not in saved
    assert archive.namelist()[0] == saved and all("/" not in name for name in archive.namelist())


def test_a_mail_attaches_quicksight_files_under_their_names(lifecycle, alice):
    from exports.notify import attachments_for

    export = run_export(lifecycle, jobs_support.make_export(alice, formats=("CSV",)))

    ((name, content, mimetype),) = attachments_for(export)

    assert (name, mimetype) == (export.files.get().name, "text/csv")
    assert len(content) == export.files.get().size_bytes


class HeadRefused(http.server.BaseHTTPRequestHandler):
    """A pre-signed GET as S3 answers it: HEAD is not what was signed; a ranged GET is."""

    def do_HEAD(self):
        self.send_response(403)
        self.end_headers()

    def do_GET(self):
        assert self.headers["Range"] == "bytes=0-0"
        self.send_response(206)
        self.send_header("Content-Range", "bytes 0-0/2936012")
        self.send_header("Content-Length", "1")
        self.end_headers()
        self.wfile.write(b"P")

    def log_message(self, *args):
        pass


def test_a_link_that_refuses_head_is_measured_by_its_first_byte(alice):
    from exports.downloads import object_size

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HeadRefused)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        export = history_factory.make_export(alice, history_factory.make_dashboard(), formats=["EXCEL"])
        size = object_size(export, f"http://127.0.0.1:{server.server_port}/job/file.xlsx?X-Amz-Signature=s")
    finally:
        server.shutdown()

    assert size == 2936012 and filesizeformat(size) == "2.8\xa0MB"
