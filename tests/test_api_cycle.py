"""A token's whole life over HTTP: created on the page, validate, export, poll to COMPLETED through a
real Celery worker, Redis and quicksight_local, download (302, no-store) the real file, revoke, 401."""

from __future__ import annotations

import csv
import io
import time
import urllib.request

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from exports.models import AuditEvent, Dashboard, Grant
from exports.sync import sync_dashboards
from tests.services import celery_worker, use_broker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_WORKER = {
    "EXPORT_POLL_FIRST_SECONDS": "0.2",
    "EXPORT_POLL_MAX_SECONDS": "1",
    "EXPORT_RECONCILE_GRACE_SECONDS": "0",
}
SPEC = {"dashboard": "sales-overview", "files": [{"format": "CSV", "visual": "revenue-by-region"}]}


def test_a_tokens_full_cycle(qs_local, redis_url, tmp_path, demo_users):
    alice = demo_users["alice"]
    assert sync_dashboards(account_id=qs_local.account_id, region="us-east-1").ok
    Grant.objects.create(
        dashboard=Dashboard.objects.get(dashboard_id="sales-overview"), group=Group.objects.get(name="Analysts")
    )

    page = Client()
    page.force_login(alice)
    created = page.post("/tokens/", {"name": "cycle", "scopes": ["exports:read", "exports:write"], "expires_days": 1})
    secret = created.context["secret"]
    api = Client(headers={"Authorization": f"Bearer {secret}"})

    checked = api.post("/api/v1/exports/validate", SPEC, content_type="application/json")
    assert checked.status_code == 200 and checked.json()["request"]["DashboardId"] == "sales-overview"

    use_broker(redis_url)
    try:
        extra = {"QUICKSIGHT_ENDPOINT_URL": qs_local.url, **FAST_WORKER}
        with celery_worker(redis_url, log_path=tmp_path / "worker.log", concurrency=2, extra_env=extra):
            made = api.post("/api/v1/exports", SPEC, content_type="application/json", headers={"Idempotency-Key": "c1"})
            assert made.status_code == 201, made.content
            path = f"/api/v1/exports/{made.json()['id']}"
            deadline = time.monotonic() + 60
            while (export := api.get(path).json())["status"] not in ("COMPLETED", "FAILED", "TIMED_OUT"):
                assert time.monotonic() < deadline, f"export still {export['status']} after 60 s"
                time.sleep(0.2)  # the client polls, as a script would; the worker never sleeps
    finally:
        use_broker(None)

    assert export["status"] == "COMPLETED", export
    assert [e["action"] for e in export["timeline"]][-1] == "export.completed"
    (file,) = export["files"]
    download = api.get(file["download"])
    assert download.status_code == 302 and download["Cache-Control"] == "no-store"
    with urllib.request.urlopen(download["Location"], timeout=10) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    assert [row["Region"] for row in rows] == ["EMEA"]  # alice's RLS identity, never the request's

    token_id = created.context["created"].pk
    assert page.post(f"/tokens/{token_id}/revoke/").status_code == 302
    refused = api.get(path)
    assert refused.status_code == 401 and refused.json()["detail"] == "the token was revoked"

    used = AuditEvent.objects.filter(action="api.used", data__token=token_id)
    operations = [e.data["operation"] for e in used.filter(data__write=True)]
    assert operations == ["POST /api/v1/exports", f"GET {file['download']}"]
    assert AuditEvent.objects.filter(action="export.file_downloaded", actor=alice).count() == 1
