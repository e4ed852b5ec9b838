"""My exports, one export, its live row, Cancel, and the auditor's history page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exports.models import AuditEvent, Export, ExportFile, Sheet, Visual
from tests.history_factory import build_export, make_dashboard, make_export

HTTPS = "https://quicksight.example/results/file.pdf?X-Amz-Signature=secret"


def test_bob_gets_404_for_alices_export_page_row_and_download(client, alice, bob, no_aws):
    export = make_export(alice, make_dashboard(), uris=[HTTPS], tags={"region": "EMEA"})
    client.force_login(bob)
    assert client.get(reverse("exports:detail", args=[export.pk])).status_code == 404
    assert client.get(reverse("exports:detail", args=[export.pk]), headers={"HX-Request": "true"}).status_code == 404
    assert client.get(reverse("exports:row", args=[export.pk])).status_code == 404
    assert client.get(reverse("exports:download", args=[export.pk, 0])).status_code == 404
    assert client.post(reverse("exports:cancel", args=[export.pk])).status_code == 404
    assert no_aws == []
    assert not AuditEvent.objects.filter(action="export.file_downloaded").exists()


def test_my_exports_lists_only_mine_newest_first(client, alice, bob):
    dashboard = make_dashboard()
    older = make_export(alice, dashboard)
    Export.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    newer = make_export(alice, dashboard)
    make_export(bob, dashboard)
    client.force_login(alice)
    page = client.get(reverse("exports:list")).content.decode()
    assert page.count('class="export-row"') == 2
    assert page.index(f"export-{newer.pk}") < page.index(f"export-{older.pk}")


def test_my_exports_filter_by_status_dashboard_and_format(client, alice):
    sales, costs = make_dashboard(), make_dashboard("costs", "Costs")
    pdf_only = make_export(alice, sales, formats=["PDF"])
    csv_failed = make_export(alice, sales, formats=["CSV"], status=Export.Status.FAILED)
    costs_export = make_export(alice, costs, formats=["EXCEL"])
    client.force_login(alice)

    def shown(**params):
        page = client.get(reverse("exports:list"), params).content.decode()
        return {e.pk for e in (pdf_only, csv_failed, costs_export) if f"export-{e.pk}" in page}

    assert shown(status="FAILED") == {csv_failed.pk}
    assert shown(dashboard=costs.pk) == {costs_export.pk}
    assert shown(format="PDF") == {pdf_only.pk}
    assert shown(format="EXCEL") == {costs_export.pk}
    assert shown() == {pdf_only.pk, csv_failed.pk, costs_export.pk}


def test_row_shows_outputs_queue_position_files_and_rerun(client, alice):
    dashboard = make_dashboard()
    make_export(alice, dashboard, status=Export.Status.PENDING)
    waiting = make_export(alice, dashboard, status=Export.Status.PENDING, formats=["PDF", "CSV", "CSV"])
    done = make_export(alice, dashboard, uris=[HTTPS, "s3://bucket/key.csv"])
    client.force_login(alice)
    page = client.get(reverse("exports:list")).content.decode()
    assert "PDF, 2 CSV" in page
    assert "Position 2 in the queue" in page
    assert f"/exports/new/?dashboard=sales&amp;rerun={waiting.pk}" in page
    assert reverse("exports:download", args=[done.pk, 1]) in page
    assert "X-Amz-Signature" not in page and "s3://" not in page


def test_unfinished_row_keeps_polling_and_a_finished_row_stops_it(client, alice):
    export = make_export(alice, make_dashboard(), status=Export.Status.RUNNING)
    client.force_login(alice)
    response = client.get(reverse("exports:row", args=[export.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()

    Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED, finished_at=timezone.now())
    ExportFile.objects.create(export=export, index=0, format="PDF", sheet_ids=["s1"], s3_uri=HTTPS)
    response = client.get(reverse("exports:row", args=[export.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert "Completed" in html and reverse("exports:download", args=[export.pk, 0]) in html


def test_detail_polls_until_the_export_ends(client, alice):
    export = make_export(alice, make_dashboard(), status=Export.Status.QUEUED)
    client.force_login(alice)
    url = reverse("exports:detail", args=[export.pk])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
    Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error_message="QuickSight refused it.")
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "QuickSight refused it." in response.content.decode()


def test_cancel_while_waiting_then_not_again(client, alice):
    export = make_export(alice, make_dashboard(), status=Export.Status.PENDING)
    client.force_login(alice)
    response = client.post(reverse("exports:cancel", args=[export.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 286
    export.refresh_from_db()
    assert export.status == Export.Status.CANCELLED
    assert AuditEvent.objects.filter(export=export, action="export.cancelled", actor=alice).count() == 1

    response = client.post(reverse("exports:cancel", args=[export.pk]), follow=True)
    assert "can no longer be cancelled" in response.content.decode()
    assert AuditEvent.objects.filter(export=export, action="export.cancelled").count() == 1


def test_running_export_cannot_be_cancelled_from_the_portal(client, alice):
    export = make_export(alice, make_dashboard(), status=Export.Status.RUNNING)
    client.force_login(alice)
    client.post(reverse("exports:cancel", args=[export.pk]))
    export.refresh_from_db()
    assert export.status == Export.Status.RUNNING


def test_export_page_tells_the_request_in_words_without_rls_values(client, alice):
    export = make_export(alice, make_dashboard(), uris=[HTTPS, "s3://bucket/key.csv"], tags={"region": "EMEA"})
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "Sales overview (sales)" in page
    assert "PDF of sheet Overview (all visuals)" in page
    assert "CSV of Orders table (sheet Overview)" in page
    assert "Country = France, Spain" in page
    assert "Applied for region" in page
    assert "EMEA" not in page
    assert "X-Amz-Signature" not in page and "s3://" not in page and "quicksight.example" not in page


def test_auditor_sees_the_rls_identity_on_the_export_page(client, alice, audra):
    export = make_export(alice, make_dashboard(), tags={"region": "EMEA"})
    client.force_login(audra)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "region = EMEA" in page
    assert export.start_request_id in page


def test_export_page_shows_files_with_names_size_errors_and_timeline(client, alice):
    export = make_export(alice, make_dashboard(), uris=[HTTPS, ""])
    ExportFile.objects.filter(export=export, index=0).update(size_bytes=2048)
    ExportFile.objects.filter(export=export, index=1).update(
        error_code="VISUAL_TOO_LARGE", error_message="The visual has too many rows for CSV."
    )
    from exports import audit

    audit.record("export.created", actor=alice, export=export)
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "2.0\xa0KB" in page
    assert "The visual has too many rows for CSV." in page
    assert reverse("exports:download", args=[export.pk, 0]) in page
    assert reverse("exports:download", args=[export.pk, 1]) not in page
    assert "Created · alice" in page


def test_business_user_sees_no_other_users_rls_values_anywhere(client, alice, bob):
    dashboard = make_dashboard()
    make_export(bob, dashboard, tags={"region": "AMER-SECRET"})
    client.force_login(alice)
    for url in (reverse("exports:list"), reverse("exports:list") + "?status=COMPLETED"):
        assert "AMER-SECRET" not in client.get(url).content.decode()
    assert client.get(reverse("exports:audit")).status_code == 403
    assert client.get(reverse("exports:audit_csv")).status_code == 403


def test_auditor_sees_every_export_with_rls_identity_request_ids_and_downloads(client, alice, bob, audra):
    dashboard = make_dashboard()
    mine = make_export(alice, dashboard, tags={"region": "EMEA"}, uris=[HTTPS])
    theirs = make_export(bob, dashboard, tags={"region": "AMER"}, status=Export.Status.FAILED)
    Export.objects.filter(pk=theirs.pk).update(
        error_code="AccessDeniedException", error_detail="User is not authorized (request 1234)"
    )
    from exports import audit
    from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION

    audit.record(DOWNLOAD_ACTION, actor=alice, export=mine, data={"file": 0}, ip_address="10.1.2.3")
    client.force_login(audra)
    page = client.get(reverse("exports:audit")).content.decode()
    assert f"history-{mine.pk}" in page and f"history-{theirs.pk}" in page
    assert "region = EMEA" in page and "region = AMER" in page
    assert mine.start_request_id in page
    assert "AccessDeniedException" in page and "User is not authorized (request 1234)" in page
    assert "from 10.1.2.3" in page
    assert "X-Amz-Signature" not in page


def test_a_history_row_names_the_requester_dashboard_and_destination_and_lists_downloads_in_order(
    client, alice, bob, audra
):
    from exports import audit
    from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION
    from exports.models import S3Destination

    destination = S3Destination.objects.create(name="Finance <bucket>", bucket_name="finance", region="us-east-1")
    export = make_export(alice, make_dashboard("sales-2026", "Sales & Margin"), destination=destination, uris=[HTTPS])
    plain = make_export(alice, make_dashboard("costs", "Costs"))
    for who in (bob, alice):
        audit.record(DOWNLOAD_ACTION, actor=who, export=export, data={"file": 0}, ip_address="10.0.0.9")
    client.force_login(audra)
    page = client.get(reverse("exports:audit")).content.decode()
    row = page[page.index(f'id="history-{export.pk}"') :].split("</tr>")[0]
    assert "alice" in row and "Sales &amp; Margin" in row and "sales-2026" in row
    assert '<div class="muted">to Finance &lt;bucket&gt;</div>' in row
    assert row.index("bob") < row.rindex("alice")  # downloads oldest first
    assert row.count("from 10.0.0.9") == 2
    other = page[page.index(f'id="history-{plain.pk}"') :].split("</tr>")[0]
    assert 'muted">to ' not in other and '<td class="downloads"><span class="muted">none</span></td>' in other


def test_auditor_filters_by_user_dashboard_status_format_dates_and_text(client, alice, bob, audra):
    sales, costs = make_dashboard(), make_dashboard("costs", "Costs")
    a = make_export(alice, sales, formats=["PDF"])
    b = make_export(bob, costs, formats=["CSV"], status=Export.Status.FAILED)
    old = make_export(bob, sales, formats=["EXCEL"])
    Export.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    client.force_login(audra)

    def shown(**params):
        page = client.get(reverse("exports:audit"), params).content.decode()
        return {e.pk for e in (a, b, old) if f"history-{e.pk}" in page}

    today = timezone.localdate()
    assert shown(user="bob") == {b.pk, old.pk}
    assert shown(dashboard=costs.pk) == {b.pk}
    assert shown(status="FAILED") == {b.pk}
    assert shown(format="EXCEL") == {old.pk}
    assert shown(date_from=(today - timedelta(days=1)).isoformat()) == {a.pk, b.pk}
    assert shown(date_to=(today - timedelta(days=7)).isoformat()) == {old.pk}
    assert shown(q=a.start_request_id) == {a.pk}
    assert shown(q="costs") == {b.pk}


@pytest.mark.parametrize("rows", [3, 40])
def test_my_exports_runs_constant_queries(client, alice, django_assert_max_num_queries, rows):
    dashboard = make_dashboard()
    exports = Export.objects.bulk_create(
        [build_export(alice, dashboard, status=Export.Status.PENDING if i % 2 else "COMPLETED") for i in range(rows)]
    )
    ExportFile.objects.bulk_create(
        [ExportFile(export=e, index=0, format="PDF", s3_uri=HTTPS) for e in exports if e.status == "COMPLETED"]
    )
    client.force_login(alice)
    # 7 (one of them the permission check, exports/access.py), 1 for the count of exports that ended
    # while alice was elsewhere (exports/notices.py),
    # 2 for the waiting rows' places and estimated starts (the account's queue, one duration estimate).
    with django_assert_max_num_queries(8):
        response = client.get(reverse("exports:list"))
    assert response.content.decode().count('class="export-row"') == min(rows, 25)


@pytest.mark.parametrize("rows", [3, 40])
def test_auditor_history_runs_constant_queries(client, alice, audra, django_assert_max_num_queries, rows):
    dashboard = make_dashboard()
    Export.objects.bulk_create([build_export(alice, dashboard, tags={"region": "EMEA"}) for _ in range(rows)])
    client.force_login(audra)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("exports:audit"))
    assert response.content.decode().count('id="history-') == min(rows, 25)


def test_audit_chain_line_says_intact(client, alice, audra):
    from exports import audit

    audit.record("export.created", actor=alice)
    client.force_login(audra)
    assert "Checking the audit chain" in client.get(reverse("exports:audit")).content.decode()
    page = client.get(reverse("exports:audit_chain"), headers={"HX-Request": "true"}).content.decode()
    assert "Audit chain intact: 1 event checked." in page


def test_audit_log_lists_events_for_auditors(client, alice, audra):
    from exports import audit

    audit.record("export.created", actor=alice)
    client.force_login(alice)
    assert client.get(reverse("exports:audit_events")).status_code == 403
    client.force_login(audra)
    assert "export.created" in client.get(reverse("exports:audit_events")).content.decode()


@pytest.mark.parametrize("events", [3, 80])
def test_audit_log_runs_constant_queries(client, alice, audra, django_assert_max_num_queries, events):
    from exports import audit

    export = make_export(alice, make_dashboard())
    for n in range(events):
        audit.record("test.step", actor=alice, export=export, data={"n": n})
    client.force_login(audra)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("exports:audit_events"))
    assert response.content.decode().count("test.step") == min(events, 50)


def test_workbook_over_two_sheets_names_each_visuals_own_sheet(client, alice):
    dashboard = make_dashboard()
    sheet2 = Sheet.objects.create(dashboard=dashboard, sheet_id="s2", name="Regions")
    Visual.objects.create(sheet=sheet2, visual_id="v2", title="Region pivot", visual_type="PivotTableVisual")
    export = make_export(alice, dashboard, formats=("EXCEL",))
    export.request["SnapshotConfiguration"]["FileGroups"][0]["Files"][0]["SheetSelections"] = [
        {"SheetId": "s1", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["v1"]},
        {"SheetId": "s2", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["v2"]},
    ]
    export.save(update_fields=["request"])
    ExportFile.objects.create(
        export=export, index=0, format="EXCEL", sheet_ids=["s1", "s2"], visual_ids=["v1", "v2"], s3_uri=HTTPS
    )
    client.force_login(alice)
    response = client.get(reverse("exports:detail", args=[export.pk]))
    assert [f.description for f in response.context["files"]] == [
        "Excel of Orders table (sheet Overview), Region pivot (sheet Regions)"
    ]
