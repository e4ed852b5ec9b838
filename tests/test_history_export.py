"""The auditor's history as CSV and JSON Lines: streamed, filtered, complete, and itself audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from exports.history import HISTORY_COLUMNS
from exports.models import AuditEvent, Export
from tests.history_factory import build_export, make_dashboard

ROWS = 10_000


@pytest.fixture
def ten_thousand_exports(alice, bob):
    dashboard = make_dashboard()
    Export.objects.bulk_create(
        [
            build_export(
                alice if i % 2 else bob,
                dashboard,
                formats=["CSV"] if i % 3 else ["PDF"],
                tags={"region": "EMEA" if i % 2 else "AMER"},
            )
            for i in range(ROWS)
        ],
        batch_size=1000,
    )


def body_of(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_history_csv_streams_ten_thousand_exports(client, audra, ten_thousand_exports):
    client.force_login(audra)
    response = client.get(reverse("exports:audit_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="export-history-')
    rows = list(csv.reader(io.StringIO(body_of(response))))
    assert rows[0] == HISTORY_COLUMNS
    assert len(rows) == ROWS + 1
    record = dict(zip(HISTORY_COLUMNS, rows[1], strict=True))
    assert json.loads(record["rls_tags"]) in ({"region": "EMEA"}, {"region": "AMER"})
    assert record["start_request_id"].startswith("req-")


def test_history_json_lines_streams_ten_thousand_exports(client, audra, ten_thousand_exports):
    client.force_login(audra)
    response = client.get(reverse("exports:audit_jsonl"))
    lines = body_of(response).splitlines()
    assert len(lines) == ROWS
    records = [json.loads(line) for line in lines]
    assert {r["user"] for r in records} == {"alice", "bob"}
    assert records[0]["request"]["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]


def test_history_export_follows_the_filters_and_is_audited(client, audra, ten_thousand_exports):
    client.force_login(audra)
    response = client.get(reverse("exports:audit_jsonl"), {"user": "alice", "format": "PDF"})
    records = [json.loads(line) for line in body_of(response).splitlines()]
    expected = len([i for i in range(ROWS) if i % 2 and not i % 3])
    assert len(records) == expected
    assert all(r["user"] == "alice" and r["formats"] == ["PDF"] for r in records)
    event = AuditEvent.objects.get(action="history.exported")
    assert event.actor == audra
    assert event.data == {"format": "jsonl", "filters": {"user": "alice", "format": "PDF"}}


def test_a_history_export_by_dashboard_records_its_quicksight_id(client, audra):
    # The dashboard filter's value is the dashboard as listed (exports.forms.ListedDashboardField):
    # the audit record names it by its QuickSight id, as it did when the field read it with get().
    sales = make_dashboard("sales-2026", "Sales")
    client.force_login(audra)
    body_of(client.get(reverse("exports:audit_csv"), {"dashboard": sales.pk}))
    event = AuditEvent.objects.get(action="history.exported")
    assert event.data == {"format": "csv", "filters": {"dashboard": "sales-2026"}}


def test_history_export_is_for_auditors_only(client, alice, db):
    client.force_login(alice)
    assert client.get(reverse("exports:audit_csv")).status_code == 403
    assert client.get(reverse("exports:audit_jsonl")).status_code == 403


def test_history_record_lists_aws_request_ids_and_who_downloaded(client, alice, audra):
    from exports import audit
    from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION
    from tests.history_factory import make_export

    export = make_export(alice, make_dashboard(), tags={"region": "EMEA"})
    audit.record("export.running", export=export, data={"request_id": "describe-job-1"})
    audit.record("export.completed", export=export, data={"request_id": "describe-result-1"})
    audit.record(DOWNLOAD_ACTION, actor=alice, export=export, data={"file": 0}, ip_address="192.0.2.9")
    client.force_login(audra)
    (record,) = [json.loads(line) for line in body_of(client.get(reverse("exports:audit_jsonl"))).splitlines()]
    assert record["aws_request_ids"] == [export.start_request_id, "describe-job-1", "describe-result-1"]
    assert record["rls_tags"] == {"region": "EMEA"}
    assert record["downloads"] == 1
    assert record["download_log"][0]["user"] == "alice"
    assert record["download_log"][0]["ip_address"] == "192.0.2.9"
    assert record["download_log"][0]["file"] == 1  # counted from 1, as on screen


def test_history_stream_memory_does_not_grow_with_rows(audra, ten_thousand_exports):
    import tracemalloc

    from exports.history import history_jsonl_lines

    def peak_while_streaming(filters: dict) -> tuple[int, float]:
        tracemalloc.start()
        try:
            lines = sum(1 for _ in history_jsonl_lines(filters))
            return lines, tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    few, few_peak = peak_while_streaming({"format": "PDF"})  # a third of the rows
    every, every_peak = peak_while_streaming({})
    assert (few, every) == (len(range(0, ROWS, 3)), ROWS)
    # Three times the rows, about the same peak: only one chunk is ever held.
    assert every_peak < few_peak * 1.5, (few_peak, every_peak)
