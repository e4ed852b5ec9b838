"""quicksight_local's files: signed download links, S3 destinations, and the files themselves."""

from __future__ import annotations

import csv
import io
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import openpyxl
import pypdf
import pytest
import time_machine

from exports import aws
from exports.file_names import content_disposition
from quicksight_local import storage
from quicksight_local.catalog import load_catalog
from quicksight_local.data import count_rows
from quicksight_local.render import worksheet_names
from tests.test_qs_api import ACCOUNT, csv_file, start_kwargs

DASHBOARD = "sales-overview"
BUCKET = "snapshot-exports"


@pytest.fixture
def client(qs_local, settings):
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    return aws.quicksight_client()


@pytest.fixture
def moto_bucket(s3_server):
    """moto's S3 server with one empty bucket; the service's uploads go there."""
    s3_server.create_bucket(Bucket=BUCKET)
    return s3_server


def run_job(client, qs_local, job_id: str = "job-1", **kwargs) -> list[dict]:
    """Start, wait for COMPLETED, and return the file groups of the result."""
    client.start_dashboard_snapshot_job(**start_kwargs(job_id, **kwargs))
    assert qs_local.wait(DASHBOARD, job_id) == "COMPLETED"
    response = client.describe_dashboard_snapshot_job_result(
        AwsAccountId=ACCOUNT, DashboardId=DASHBOARD, SnapshotJobId=job_id
    )
    return response["Result"]["AnonymousUsers"][0]["FileGroups"]


def fetch(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_csv_holds_exactly_the_rls_and_parameter_filtered_rows(client, qs_local):
    orders_from = datetime(2025, 7, 1, tzinfo=UTC)
    parameters = {
        "IntegerParameters": [{"Name": "MinQuantity", "Values": [5]}],
        "DateTimeParameters": [{"Name": "OrdersFrom", "Values": [orders_from]}],
    }
    groups = run_job(client, qs_local, files=[csv_file("orders", "order-lines")], Parameters=parameters)

    status, body, headers = fetch(groups[0]["S3Results"][0]["S3Uri"])
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    truth = count_rows(
        "sales_orders",
        {"region": "EMEA"},
        {"MinQuantity": [5], "OrdersFrom": [orders_from]},
        dashboard=load_catalog().dashboards[DASHBOARD],
    )

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    name = unquote(urlsplit(groups[0]["S3Results"][0]["S3Uri"]).path.rpartition("/")[2])
    assert re.fullmatch(r"Sales overview - Order lines - \d{4}-\d\d-\d\d \d{4} UTC\.csv", name)
    assert headers["Content-Disposition"] == content_disposition(name)
    assert 0 < len(rows) - 1 == truth
    assert len(rows) - 1 < count_rows("sales_orders", {"region": "EMEA"})


def test_excel_worksheets_follow_the_requested_order(client, qs_local):
    workbook_file = {
        "FormatType": "EXCEL",
        "SheetSelections": [
            {"SheetId": "catalog", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["product-list"]},
            {"SheetId": "orders", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["top-countries"]},
            {"SheetId": "summary", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["revenue-by-region"]},
        ],
    }
    groups = run_job(client, qs_local, files=[workbook_file])

    status, body, _ = fetch(groups[0]["S3Results"][0]["S3Uri"])
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    dashboard = load_catalog().dashboards[DASHBOARD]
    titles = [dashboard.sheet(s["SheetId"]).visual(s["VisualIds"][0]).title for s in workbook_file["SheetSelections"]]

    assert status == 200
    assert workbook.sheetnames == worksheet_names(titles)


def test_pdf_of_a_large_table_spans_several_pages(client, qs_local):
    pdf_file = {"FormatType": "PDF", "SheetSelections": [{"SheetId": "orders", "SelectionScope": "ALL_VISUALS"}]}
    groups = run_job(client, qs_local, files=[pdf_file])

    status, body, _ = fetch(groups[0]["S3Results"][0]["S3Uri"])
    reader = pypdf.PdfReader(io.BytesIO(body))

    assert status == 200
    assert len(reader.pages) > 1
    assert "Order lines" in reader.pages[0].extract_text()


def test_a_link_expires_after_five_minutes(client, qs_local):
    link = run_job(client, qs_local)[0]["S3Results"][0]["S3Uri"]
    expires = int(parse_qs(urlsplit(link).query)["X-Expires"][0])

    assert expires - time.time() == pytest.approx(300, abs=5)
    with time_machine.travel(datetime.fromtimestamp(expires - 5, UTC), tick=True):
        assert fetch(link)[0] == 200
    with time_machine.travel(datetime.fromtimestamp(expires + 1, UTC), tick=True):
        status, body, _ = fetch(link)

    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body and b"expired" in body


def test_a_fresh_result_gives_a_fresh_link(client, qs_local):
    run_job(client, qs_local)
    later = datetime.now(UTC) + timedelta(minutes=10)

    with time_machine.travel(later, tick=True):
        response = client.describe_dashboard_snapshot_job_result(
            AwsAccountId=ACCOUNT, DashboardId=DASHBOARD, SnapshotJobId="job-1"
        )
        link = response["Result"]["AnonymousUsers"][0]["FileGroups"][0]["S3Results"][0]["S3Uri"]
        assert fetch(link)[0] == 200


def _altered(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_an_altered_link_is_refused(client, qs_local):
    link = run_job(client, qs_local, files=[csv_file(), csv_file("orders", "top-countries")])[0]["S3Results"][0][
        "S3Uri"
    ]
    signature = parse_qs(urlsplit(link).query)["X-Signature"][0]
    expires = parse_qs(urlsplit(link).query)["X-Expires"][0]

    tampered = {
        "signature": _altered(link, **{"X-Signature": ("0" if signature[0] != "0" else "1") + signature[1:]}),
        "expiry": _altered(link, **{"X-Expires": str(int(expires) + 3600)}),
        "file": link.replace("%20Products%20", "%20Revenue%20by%20country%20"),
        "unsigned": link.split("?")[0],
    }

    assert fetch(link)[0] == 200
    for name, url in tampered.items():
        assert fetch(url)[0] == 403, name


def test_s3_destination_objects_land_in_the_bucket(client, qs_local, moto_bucket):
    destination = {"BucketName": BUCKET, "BucketPrefix": "portal/exports", "BucketRegion": "us-east-1"}
    groups = run_job(
        client,
        qs_local,
        files=[csv_file(), csv_file("orders", "top-countries")],
        DestinationConfiguration={"S3Destinations": [{"BucketConfiguration": destination}]},
    )

    uris = [g["S3Results"][0]["S3Uri"] for g in groups]
    keys = sorted(o["Key"] for o in moto_bucket.list_objects_v2(Bucket=BUCKET)["Contents"])
    body = moto_bucket.get_object(Bucket=BUCKET, Key=uris[0].removeprefix(f"s3://{BUCKET}/"))["Body"].read()

    stamp = datetime.fromtimestamp(qs_local.job(DASHBOARD, "job-1").created_at, UTC).strftime("%Y-%m-%d %H%M UTC")
    assert uris == [
        f"s3://{BUCKET}/portal/exports/job-1/Sales overview - Products - {stamp}.csv",
        f"s3://{BUCKET}/portal/exports/job-1/Sales overview - Revenue by country - {stamp}.csv",
    ]
    assert keys == sorted(u.removeprefix(f"s3://{BUCKET}/") for u in uris)
    assert groups[0]["S3Results"][0]["S3DestinationConfiguration"] == {"BucketConfiguration": destination}
    assert len(list(csv.reader(io.StringIO(body.decode())))) - 1 == count_rows("products", {"region": "EMEA"})


def test_a_missing_bucket_is_a_per_file_error(client, qs_local, moto_bucket):
    destination = {"BucketName": "no-such-bucket", "BucketPrefix": "x", "BucketRegion": "us-east-1"}
    groups = run_job(
        client, qs_local, DestinationConfiguration={"S3Destinations": [{"BucketConfiguration": destination}]}
    )

    (s3_result,) = groups[0]["S3Results"]
    assert "S3Uri" not in s3_result
    assert s3_result["ErrorInfo"][0]["ErrorType"] == "S3_UPLOAD_FAILED"
    assert "NoSuchBucket" in s3_result["ErrorInfo"][0]["ErrorMessage"]


def test_reset_forgets_jobs_and_their_files_but_leaves_other_files(client, qs_local):
    link = run_job(client, qs_local)[0]["S3Results"][0]["S3Uri"]
    job_dir = storage.job_dir(qs_local.job(DASHBOARD, "job-1").key)
    stranger = storage.data_dir() / "jobs" / "from-another-process"
    stranger.mkdir(parents=True, exist_ok=True)

    qs_local.state.reset()

    assert not job_dir.exists() and stranger.exists()
    assert fetch(link)[0] == 404
    stranger.rmdir()


def test_links_use_the_public_url_when_one_is_set(client, qs_local, settings):
    settings.QUICKSIGHT_LOCAL_PUBLIC_URL = "https://exports.example.test/quicksight/"

    link = run_job(client, qs_local)[0]["S3Results"][0]["S3Uri"]

    assert link.startswith("https://exports.example.test/quicksight/files/")
    assert fetch(link.replace("https://exports.example.test/quicksight", qs_local.url))[0] == 200


def _raw_get(base_url: str, path_and_query: str) -> tuple[int, bytes]:
    """GET a path exactly as written: urllib and browsers may fold `..` away before sending it."""
    import http.client

    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path + path_and_query)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("job_key", "filename"),
    [
        ("..", "demo.duckdb"),  # the job key climbs to the data directory
        ("%2e%2e", "demo.duckdb"),  # the same, percent-encoded
        (".", "jobs"),  # the folder of every job
        ("0" * 32, ".."),  # a job-shaped key whose file name climbs out
    ],
)
def test_a_signed_link_outside_a_job_folder_serves_nothing(client, qs_local, job_key, filename):
    run_job(client, qs_local)  # the demo database exists and a job folder is there to climb out of
    assert (storage.data_dir() / "demo.duckdb").is_file()
    real_name = job_key.replace("%2e", ".")
    expires = int(time.time()) + 60
    # Signed with the service's own key: the route must refuse the path, not only a bad signature.
    signature = storage._signature(real_name, filename, expires)

    status, body = _raw_get(qs_local.url, f"/files/{job_key}/{filename}?X-Expires={expires}&X-Signature={signature}")

    assert status == 404
    assert b"<Code>NoSuchKey</Code>" in body
    assert b"DUCK" not in body and len(body) < 1000


def test_a_job_key_not_shaped_like_one_is_refused_before_the_disk_is_read(client, qs_local):
    link = run_job(client, qs_local)[0]["S3Results"][0]["S3Uri"]
    job_key = urlsplit(link).path.split("/")[-2]
    shaped = storage.job_dir(job_key)
    odd = storage.data_dir() / "jobs" / "not-a-job-key"
    odd.mkdir(parents=True, exist_ok=True)
    (odd / "secret.csv").write_text("a,b\n")
    expires = int(time.time()) + 60
    signature = storage._signature("not-a-job-key", "secret.csv", expires)

    status, body = _raw_get(
        qs_local.url, f"/files/not-a-job-key/secret.csv?X-Expires={expires}&X-Signature={signature}"
    )

    assert shaped.is_dir() and fetch(link)[0] == 200
    assert status == 404 and b"<Code>NoSuchKey</Code>" in body
    (odd / "secret.csv").unlink()
    odd.rmdir()


def test_a_link_answers_head_with_the_size_and_no_body(client, qs_local):
    link = run_job(client, qs_local)[0]["S3Results"][0]["S3Uri"]

    with urllib.request.urlopen(urllib.request.Request(link, method="HEAD"), timeout=10) as response:
        head_length, head_body = response.headers["Content-Length"], response.read()
        disposition = response.headers["Content-Disposition"]
    status, body, _ = fetch(link)

    assert status == 200 and head_body == b"" and int(head_length) == len(body) > 0
    assert disposition.startswith('attachment; filename="Sales overview - Products - ')
