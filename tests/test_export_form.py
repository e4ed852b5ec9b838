from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from exports import snapshot_rules
from exports.forms import move_visual, parameter_field
from exports.models import AuditEvent, Export, Grant, RlsTagMapping
from exports.snapshot import load_catalog
from tests.factories import make_sales_catalog

NEW = reverse("exports:new")
FILES = reverse("exports:new_files")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


@pytest.fixture
def alice_client(client, alice, sales):
    client.force_login(alice)
    return client


def form(files=(), **extra):
    """POST data the page would send: files as (format, choice) pairs."""
    data = {"dashboard": "sales"}
    for i, (fmt, choice) in enumerate(files):
        data[f"files-{i}-format"] = fmt
        if fmt == "PDF":
            data[f"files-{i}-sheet"] = choice
        elif fmt == "CSV":
            data[f"files-{i}-visual"] = choice
        else:
            data[f"files-{i}-visuals"] = list(choice)
            data[f"files-{i}-order"] = list(choice)
    data.update(extra)
    return data


def element(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[^>]*\bid="{re.escape(element_id)}"[^>]*>', html, re.S)
    assert match, f"no element #{element_id}"
    return match[0]


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no element #{element_id}"
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[2])).strip())


def preview_request(html: str) -> dict:
    return json.loads(html_lib.unescape(text_of_raw(html, "request-json")))


def text_of_raw(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}"[^>]*>(.*?)</pre>', html, re.S)[1]


# --- access ---


def test_outsider_gets_404_for_any_dashboard_id(client, carol, sales):
    client.force_login(carol)
    for dashboard_id in ("sales", "does-not-exist"):
        assert client.get(NEW, {"dashboard": dashboard_id}).status_code == 404
        assert client.post(NEW, form(dashboard=dashboard_id)).status_code == 404
        assert client.post(FILES, form(dashboard=dashboard_id, action="add:PDF"), **HTMX).status_code == 404
    page = client.get(NEW)
    assert page.status_code == 200
    assert "No dashboard has been shared with you yet" in page.content.decode()


def test_signed_out_visitor_is_sent_to_login(client, sales):
    assert client.get(NEW).status_code == 302


def test_page_offers_only_granted_dashboards(alice_client, sales):
    make_sales_catalog(dashboard_id="secret", grant_group="Finance")
    html = alice_client.get(NEW).content.decode()
    assert 'value="sales"' in html
    assert 'value="secret"' not in html


def test_every_post_needs_the_csrf_token(alice, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(NEW, form([("PDF", "summary")], action="submit")).status_code == 403
    assert client.post(FILES, form(action="add:PDF"), **HTMX).status_code == 403
    assert Export.objects.count() == 0


# --- the partials ---


def test_choosing_a_dashboard_with_htmx_returns_only_the_builder(alice_client):
    response = alice_client.get(NEW, {"dashboard": "sales"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="builder">')
    assert "<html" not in html
    for part in ("files", "parameters", "destination", "preview", "add-pdf", "add-excel", "add-csv"):
        element(html, part)
    assert text_of(html, "contents").startswith("Sales overview: 2 sheets")
    assert "Monthly revenue (line chart: PDF only)" in text_of(html, "contents")
    # Nothing chosen yet: no error is shown beside the fields, the button says what is missing.
    assert "errorlist" not in element(html, "files")
    assert "disabled" in element(html, "submit-export")
    assert "add at least one file" in text_of(html, "preview-status")


def test_full_page_with_dashboard_shows_the_same_builder(alice_client):
    html = alice_client.get(NEW, {"dashboard": "sales"}).content.decode()
    assert "<html" in html
    assert 'id="builder"' in html
    assert 'value="sales" selected' in html


def test_add_button_returns_the_files_section_and_the_preview_out_of_band(alice_client):
    response = alice_client.post(FILES, form(action="add:PDF"), **HTMX)
    html = response.content.decode()

    assert html.lstrip().startswith('<section class="card" id="files">')
    assert 'name="files-0-format" value="PDF"' in html
    assert 'hx-swap-oob="true"' in element(html, "preview")
    kwargs = preview_request(html)
    assert kwargs["SnapshotConfiguration"]["FileGroups"][0]["Files"][0]["SheetSelections"] == [
        {"SheetId": "summary", "SelectionScope": "ALL_VISUALS"}
    ]
    assert 'id="parameters"' not in html


def test_pdf_button_is_disabled_with_its_reason_once_the_export_has_a_pdf(alice_client):
    html = alice_client.post(FILES, form([("PDF", "summary")], action="refresh"), **HTMX).content.decode()
    assert "disabled" in element(html, "add-pdf")
    assert text_of(html, "add-pdf-reason") == "An export holds one PDF, and this one has it."
    assert "disabled" not in element(html, "add-csv")


def test_csv_button_is_disabled_with_its_reason_at_five_csvs(alice_client):
    csvs = [("CSV", v) for v in ("revenue-pivot", "top-products", "order-lines", "returns", "returns")]
    html = alice_client.post(FILES, form(csvs[:4], action="add:CSV"), **HTMX).content.decode()
    assert 'name="files-4-format" value="CSV"' in html
    assert text_of(html, "add-csv-reason") == "An export holds at most 5 CSV files, and this one has 5."
    assert "disabled" not in element(html, "add-excel")


def test_every_add_button_is_disabled_with_the_reason_at_six_files(alice_client):
    files = [("PDF", "summary"), ("CSV", "revenue-pivot"), ("CSV", "top-products"), ("CSV", "order-lines")]
    html = alice_client.post(FILES, form([*files, ("CSV", "returns")], action="add:EXCEL"), **HTMX).content.decode()
    for fmt in ("pdf", "excel", "csv"):
        assert "disabled" in element(html, f"add-{fmt}")
        assert text_of(html, f"add-{fmt}-reason") == "An export holds at most 6 files, and this one has 6."


def test_remove_renumbers_the_files(alice_client):
    html = alice_client.post(
        FILES, form([("PDF", "summary"), ("CSV", "returns")], action="remove:0"), **HTMX
    ).content.decode()
    assert 'name="files-0-format" value="CSV"' in html
    assert "files-1-format" not in html


def test_csv_picker_offers_tables_and_shows_charts_disabled_with_the_reason(alice_client):
    html = alice_client.post(FILES, form(action="add:CSV"), **HTMX).content.decode()
    assert re.search(r'<option value="revenue-pivot" selected>Revenue by region \(pivot table\)</option>', html)
    assert re.search(
        r'<option value="revenue-chart" disabled>Monthly revenue — a line chart: CSV and Excel export only tables',
        html,
    )
    assert 'value="gone-table"' not in html


def test_choosing_a_chart_for_a_csv_shows_the_rule_beside_that_file_only(alice_client):
    url = reverse("exports:new_file", args=[1])
    response = alice_client.post(url, form([("PDF", "summary"), ("CSV", "margin-bars")]), **HTMX)
    html = response.content.decode()

    assert html.lstrip().startswith('<article class="file" id="file-1"')
    assert 'id="file-0"' not in html
    assert text_of(html, "files-1-errors") == (
        "'Margin by product' is a bar chart; CSV and Excel export only tables and pivot tables"
    )
    assert "1 thing to fix" in text_of(html, "preview-status")


def test_excel_picker_disables_charts_with_reason_and_keeps_the_users_order(alice_client):
    url = reverse("exports:new_file", args=[0])
    data = form([("EXCEL", ["order-lines", "revenue-pivot"])])
    data["files-0-visuals"].append("returns")  # newly ticked: goes last, next to its sheet's other table
    html = alice_client.post(url, data, **HTMX).content.decode()

    assert "disabled" in element(html, "files-0-visual-revenue-chart")
    assert text_of(html, "files-0-visual-revenue-chart-reason") == (
        "a line chart: CSV and Excel export only tables and pivot tables"
    )
    order = re.findall(r'name="files-0-order" value="([^"]+)"', html)
    assert order == ["order-lines", "returns", "revenue-pivot"]
    selections = preview_request(html)["SnapshotConfiguration"]["FileGroups"][0]["Files"][0]["SheetSelections"]
    assert [(s["SheetId"], s["VisualIds"]) for s in selections] == [
        ("detail", ["order-lines", "returns"]),
        ("summary", ["revenue-pivot"]),
    ]


def test_moving_a_worksheet_up_past_another_sheet_moves_its_sheet_block(alice_client):
    url = reverse("exports:new_file", args=[0])
    data = form([("EXCEL", ["order-lines", "returns", "revenue-pivot"])], action="up:0:2")
    html = alice_client.post(url, data, **HTMX).content.decode()
    assert re.findall(r'name="files-0-order" value="([^"]+)"', html) == ["revenue-pivot", "order-lines", "returns"]

    data = form([("EXCEL", ["order-lines", "returns", "revenue-pivot"])], action="down:0:0")
    html = alice_client.post(url, data, **HTMX).content.decode()
    assert re.findall(r'name="files-0-order" value="([^"]+)"', html) == ["returns", "order-lines", "revenue-pivot"]


def test_a_workbook_of_four_tables_is_ready_to_send(alice_client):
    url = reverse("exports:new_file", args=[0])
    tables = ["revenue-pivot", "top-products", "order-lines", "returns"]
    data = form([("EXCEL", tables)])
    html = alice_client.post(url, data, **HTMX).content.decode()
    assert text_of(html, "files-0-errors") == ""
    assert "Ready to send" in text_of(html, "preview-status")


def test_parameter_inputs_follow_each_declaration(alice_client):
    html = alice_client.get(NEW, {"dashboard": "sales"}, **HTMX).content.decode()
    names = {p: i for i, p in enumerate(["Country", "From", "MinPrice", "MinQuantity"])}
    assert 'type="text"' in element(html, f"param-{names['Country']}-0")
    assert 'type="datetime-local"' in element(html, f"param-{names['From']}-0")
    assert 'step="any"' in element(html, f"param-{names['MinPrice']}-0")
    assert 'type="number"' in element(html, f"param-{names['MinQuantity']}-0")
    assert 'step="1"' in element(html, f"param-{names['MinQuantity']}-0")
    assert "Retired" not in html


def test_multi_valued_parameter_grows_a_field_for_the_next_value(alice_client):
    url = reverse("exports:new_parameter", args=[0])
    html = alice_client.post(
        url, form([("PDF", "summary")], **{"param-Country": ["DE", "FR"]}), **HTMX
    ).content.decode()
    assert html.lstrip().startswith('<div class="parameter" id="param-0"')
    assert [m for m in re.findall(r'name="param-Country" value="([^"]*)"', html)] == ["DE", "FR", ""]
    assert preview_request(html)["SnapshotConfiguration"]["Parameters"]["StringParameters"] == [
        {"Name": "Country", "Values": ["DE", "FR"]}
    ]


def test_bad_parameter_value_is_named_beside_that_parameter(alice_client):
    url = reverse("exports:new_parameter", args=[3])
    html = alice_client.post(url, form([("PDF", "summary")], **{"param-MinQuantity": "2.5"}), **HTMX).content.decode()
    assert text_of(html, "param-3-errors") == ("'2.5' is not a whole number; MinQuantity takes integer values")
    assert 'value="2.5"' in html


def test_datetime_parameter_is_sent_as_utc(alice_client):
    url = reverse("exports:new_parameter", args=[1])
    html = alice_client.post(url, form([("PDF", "summary")], **{"param-From": "2026-03-01T08:30"}), **HTMX)
    parameters = preview_request(html.content.decode())["SnapshotConfiguration"]["Parameters"]
    assert parameters["DateTimeParameters"] == [{"Name": "From", "Values": ["2026-03-01T08:30:00+00:00"]}]


def test_destinations_are_only_those_allowed_in_the_dashboards_region(alice_client):
    url = reverse("exports:new_destination")
    html = alice_client.post(url, form([("PDF", "summary")], destination="Finance bucket"), **HTMX).content.decode()
    assert html.lstrip().startswith('<section class="card" id="destination">')
    assert '<option value="Finance bucket" selected>' in html
    assert "Dublin bucket" not in html
    destination = preview_request(html)["SnapshotConfiguration"]["DestinationConfiguration"]
    assert destination["S3Destinations"][0]["BucketConfiguration"]["BucketName"] == "finance-exports"


def test_smuggled_destination_is_refused_beside_the_field(alice_client):
    url = reverse("exports:new_destination")
    html = alice_client.post(url, form([("PDF", "summary")], destination="Dublin bucket"), **HTMX).content.decode()
    assert text_of(html, "destination-errors") == ("'Dublin bucket' is not a destination open to you")


def test_preview_masks_tag_values_and_no_tag_travels_in_the_form(alice_client):
    html = alice_client.post(FILES, form(action="add:PDF"), **HTMX).content.decode()
    tags = preview_request(html)["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]
    assert tags == [{"Key": "region", "Value": "•••"}]
    assert "EMEA" not in html
    assert "aws quicksight start-dashboard-snapshot-job" in html


def test_admins_see_the_real_tag_values_in_the_preview(client, demo_users, sales):
    admin = demo_users["admin"]
    Grant.objects.create(dashboard=sales.dashboard, user=admin)
    RlsTagMapping.objects.create(user=admin, tag_key="region", tag_value="*")
    client.force_login(admin)
    html = client.post(FILES, form(action="add:PDF"), **HTMX).content.decode()
    tags = preview_request(html)["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]
    assert tags == [{"Key": "region", "Value": "*"}]


def test_posted_tags_are_ignored(alice_client):
    data = form([("PDF", "summary")], tags="region=*", **{"RowLevelPermissionTags": "*"}, action="submit")
    alice_client.post(NEW, data)
    assert Export.objects.get().request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] == [
        {"Key": "region", "Value": "EMEA"}
    ]


# --- without JavaScript, and submitting ---


def test_no_js_button_post_rerenders_the_whole_page_with_the_change(alice_client):
    html = alice_client.post(NEW, form([("PDF", "summary")], action="add:CSV")).content.decode()
    assert "<html" in html
    assert 'name="files-1-format" value="CSV"' in html
    assert "disabled" in element(html, "add-pdf")


def test_no_js_submit_of_an_invalid_request_returns_the_same_errors_and_creates_nothing(alice_client):
    data = form([("PDF", "old-sheet"), ("CSV", "revenue-chart")], action="submit", **{"param-MinPrice": "lots"})
    response = alice_client.post(NEW, data)
    html = response.content.decode()

    assert response.status_code == 422
    assert "<html" in html
    assert text_of(html, "files-0-errors") == "this sheet is not on the dashboard (any more)"
    assert "CSV and Excel export only tables" in text_of(html, "files-1-errors")
    assert "[visual-tabular]" not in html  # rule ids are for admins and auditors
    assert "'lots' is not a number" in text_of(html, "param-2-errors")
    assert Export.objects.count() == 0

    htmx_html = alice_client.post(reverse("exports:new_file", args=[1]), data, **HTMX).content.decode()
    assert text_of(htmx_html, "files-1-errors") == text_of(html, "files-1-errors")


def test_submit_creates_the_export_with_its_audit_event_and_shows_its_page(alice_client, alice):
    data = form(
        [("PDF", "summary"), ("EXCEL", ["returns", "revenue-pivot"]), ("CSV", "order-lines")],
        action="submit",
        destination="Finance bucket",
        **{"param-MinQuantity": "2"},
    )
    response = alice_client.post(NEW, data, REMOTE_ADDR="10.1.2.3")

    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:detail", args=[export.id])
    assert export.user == alice
    assert [g["Files"][0]["FormatType"] for g in export.request["SnapshotConfiguration"]["FileGroups"]] == [
        "PDF",
        "EXCEL",
        "CSV",
    ]
    event = AuditEvent.objects.get(export=export)
    assert (event.action, event.ip_address) == ("export.requested", "10.1.2.3")


def test_htmx_submit_redirects_the_browser_to_the_export(alice_client):
    response = alice_client.post(NEW, form([("PDF", "summary")], action="submit"), **HTMX)
    export = Export.objects.get()
    assert response["HX-Redirect"] == reverse("exports:detail", args=[export.id])


def test_htmx_submit_of_an_invalid_request_rerenders_the_builder_with_errors(alice_client):
    response = alice_client.post(NEW, form([("CSV", "")], action="submit"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 422  # base.html's htmx-config swaps a 422
    assert html.lstrip().startswith('<div id="builder">')
    assert "choose the table or pivot table to save as CSV" in text_of(html, "files-0-errors")
    assert Export.objects.count() == 0


def test_user_with_an_rls_blocker_sees_the_reason_and_cannot_submit(client, carol, sales):
    Grant.objects.create(dashboard=sales.dashboard, user=carol)
    client.force_login(carol)

    html = client.get(NEW, {"dashboard": "sales"}).content.decode()
    assert "you have no value for region" in text_of(html, "blocker")
    assert "Ask an administrator to map your tags." in text_of(html, "blocker")
    # One explanation, once; no file controls, no count of things to fix, nothing to submit.
    assert html.count("you have no value for region") == 1
    for control in ('id="add-pdf"', 'id="files"', 'id="submit-export"', "things to fix", "thing to fix"):
        assert control not in html

    response = client.post(NEW, form([("PDF", "summary")], action="submit"))
    assert response.status_code == 422
    assert "you have no value for region" in text_of(response.content.decode(), "blocker")
    assert Export.objects.count() == 0


@pytest.mark.parametrize(
    ("order", "position", "delta", "expected"),
    [
        (["order-lines", "returns", "revenue-pivot"], 1, -1, ["returns", "order-lines", "revenue-pivot"]),
        (["order-lines", "returns", "revenue-pivot"], 1, 1, ["revenue-pivot", "order-lines", "returns"]),
        (["order-lines", "returns", "revenue-pivot"], 0, -1, ["order-lines", "returns", "revenue-pivot"]),
        (["order-lines", "returns", "revenue-pivot"], 2, 1, ["order-lines", "returns", "revenue-pivot"]),
        (["order-lines", "returns", "revenue-pivot"], 9, 1, ["order-lines", "returns", "revenue-pivot"]),
    ],
)
def test_moving_a_worksheet_keeps_each_sheets_visuals_together(sales, order, position, delta, expected):
    assert move_visual(list(order), position, delta, load_catalog(sales.dashboard)) == expected


def test_a_change_costs_the_same_few_queries_however_many_files(alice_client, django_assert_max_num_queries):
    files = [("PDF", "summary"), ("EXCEL", ["order-lines", "returns", "revenue-pivot"]), ("CSV", "top-products")]
    data = form([*files, ("CSV", "returns")], destination="Finance bucket", **{"param-Country": ["DE", "FR"]})
    with django_assert_max_num_queries(12):
        assert alice_client.post(FILES, {**data, "action": "add:CSV"}, **HTMX).status_code == 200


def test_rewording_a_rules_english_leaves_the_forms_words_unchanged(alice_client, monkeypatch):
    # Eight files (6 cap, 1 PDF cap, 5 CSV cap), a chart as CSV, a single-valued parameter with two values.
    files = [("PDF", "summary"), ("PDF", "summary"), ("CSV", "margin-bars")] + [("CSV", "top-products")] * 5
    data = form(files, **{parameter_field("MinQuantity"): ["3", "4"]})

    def words() -> dict[str, str]:
        html = alice_client.post(reverse("exports:new"), data).content.decode()
        return {where: text_of(html, where) for where in ("files-errors", "files-2-errors", "param-3-errors")}

    before = words()
    reworded = {rule: f"REWORDED {rule}" for rule in snapshot_rules.MESSAGES}
    monkeypatch.setattr(snapshot_rules, "MESSAGES", reworded)

    assert words() == before
    assert "at most 6 files (this one has 8)" in before["files-errors"]
    assert "is a bar chart; CSV and Excel export only tables" in before["files-2-errors"]
    assert "takes one value (this one has 2)" in before["param-3-errors"]
    # The API's words did change: quicksight_local answers with them.
    [violation] = snapshot_rules.check({"AwsAccountId": "x"}, snapshot_rules.DashboardCatalog(region="us-east-1"))[:1]
    assert str(violation) == "AwsAccountId: REWORDED account-id-format [account-id-format]"


# --- errors only where the user has been; technical details behind a disclosure ---


def test_adding_an_excel_workbook_shows_no_error_until_it_is_touched_or_checked(alice_client):
    added = alice_client.post(FILES, {**form([("PDF", "summary")]), "action": "add:EXCEL"}, **HTMX).content.decode()
    assert text_of(added, "files-1-errors") == ""
    assert 'class="badge bad"' not in added and "Not ready yet next: choose 1 to 5" in text_of(added, "preview-status")

    # Ticking then unticking its only visual touches it: now its error shows, and the form carries that.
    data = {**form([("PDF", "summary"), ("EXCEL", [])]), "touched": ["files[0]"]}
    touched = alice_client.post(reverse("exports:new_file", args=[1]), data, **HTMX).content.decode()
    assert "choose 1 to 5" in text_of(touched, "files-1-errors")
    assert '<input type="hidden" name="touched" value="files[1]">' in touched

    # Check shows every problem at once, also of files not touched yet.
    checked = alice_client.post(NEW, {**form([("EXCEL", []), ("CSV", "")]), "action": "refresh"}, **HTMX)
    html = checked.content.decode()
    assert "choose 1 to 5" in text_of(html, "files-0-errors") and text_of(html, "files-1-errors")


def test_removing_a_file_moves_the_touched_marks_of_the_files_after_it(alice_client):
    data = {**form([("PDF", "summary"), ("CSV", "top-products"), ("EXCEL", [])]), "touched": ["files[0]", "files[2]"]}
    html = alice_client.post(FILES, {**data, "action": "remove:0"}, **HTMX).content.decode()
    assert '<input type="hidden" name="touched" value="files[1]">' in html  # the Excel file, now second
    assert 'value="files[0]">' not in html and "choose 1 to 5" in text_of(html, "files-1-errors")


def test_business_users_find_the_request_and_the_cli_only_under_technical_details(alice_client, audra):
    html = alice_client.get(NEW, {"dashboard": "sales"}).content.decode()
    disclosure = r'<details id="technical-details"><summary>Technical details</summary>(.*?)</details>'
    details = re.search(disclosure, html, re.S)
    assert details and "aws quicksight start-dashboard-snapshot-job" in details[1] and "request-json" in details[1]
    assert html.count("aws quicksight start-dashboard-snapshot-job") == 1

    alice_client.post(NEW, {**form([("PDF", "summary")]), "action": "submit"})
    export = Export.objects.get()
    page = alice_client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "<summary>Technical details</summary>" in page
    auditor = Client()
    auditor.force_login(audra)
    page = auditor.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "<summary>The request as sent to QuickSight</summary>" in page and "Technical details" not in page
