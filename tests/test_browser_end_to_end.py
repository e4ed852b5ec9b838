"""End to end in a real browser: alice exports, watches it finish without reloading, and downloads the file.

Everything is real except QuickSight: the portal (live_server), a Celery worker process on Redis,
quicksight_local over HTTP (catalog synced from it, files rendered from its demo data with
alice's RLS tag), and Debian's Chromium.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION
from exports.models import AuditEvent, Dashboard, Export, Grant
from exports.sync import sync_dashboards
from tests.services import celery_worker, use_broker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST_WORKER = {
    "EXPORT_POLL_FIRST_SECONDS": "0.2",
    "EXPORT_POLL_MAX_SECONDS": "1",
    "EXPORT_STEP_LEASE_SECONDS": "5",
    "EXPORT_RECONCILE_GRACE_SECONDS": "0",
}
WAITING = re.compile("Waiting|Submitting|Queued in QuickSight|Running")


@pytest.fixture
def worker(qs_local, redis_url, tmp_path):
    use_broker(redis_url)
    try:
        extra = {"QUICKSIGHT_ENDPOINT_URL": qs_local.url, **FAST_WORKER}
        with celery_worker(redis_url, log_path=tmp_path / "worker.log", extra_env=extra) as proc:
            yield proc
    finally:
        use_broker(None)


def test_alice_submits_watches_it_complete_without_reloading_and_downloads(
    demo_users, login, live_server, qs_local, worker
):
    # QuickSight keeps the job QUEUED then RUNNING for a moment, so the page has something to watch.
    qs_local.faults.min_queued_seconds = 1
    qs_local.faults.min_running_seconds = 1
    report = sync_dashboards(account_id=qs_local.account_id, region="us-east-1", dashboard_id="sales-overview")
    assert not any(d.error_code for d in report.dashboards), report
    dashboard = Dashboard.objects.get(dashboard_id="sales-overview")
    Grant.objects.create(dashboard=dashboard, group=Group.objects.get(name="Analysts"))

    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales-overview")
    page.locator("#add-csv").click()
    expect(page.locator("#file-0")).to_be_visible()
    page.select_option("#files-0-visual", "top-countries")
    expect(page.locator("#preview-status")).to_contain_text("Ready to send")
    page.locator("#submit-export").click()
    page.wait_for_url(re.compile(r".*/exports/[0-9a-f-]{36}/$"))

    # The export page follows the job by itself: mark this document and check it is never replaced.
    page.evaluate("window.__stillTheSamePage = true")
    expect(page.locator("#export-status")).to_have_text(WAITING)
    expect(page.locator("#export-status")).to_have_text("Completed", timeout=60_000)
    assert page.evaluate("window.__stillTheSamePage === true")

    export = Export.objects.get(user=demo_users["alice"])
    assert export.status == Export.Status.COMPLETED
    with page.expect_download() as download_info:
        page.locator("#file-0 a.download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert rows, "the CSV has data rows"
    regions = {row[key] for row in rows for key in row if key.lower() == "region"}
    assert regions <= {"EMEA"}, f"alice's RLS tag (EMEA) filters the rows, got {regions}"

    event = AuditEvent.objects.get(action=DOWNLOAD_ACTION, export=export)
    assert event.actor_username == "alice" and event.data["file"] == 0
