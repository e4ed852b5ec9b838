from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from exports.models import AuditEvent, Export
from tests.factories import make_sales_catalog

pytestmark = pytest.mark.browser

SIX_FILES = "An export holds at most 6 files, and this one has 6."
FIVE_CSVS = "An export holds at most 5 CSV files, and this one has 5."


def order_of(page, index: int) -> list[str]:
    return page.locator(f'input[name="files-{index}-order"]').evaluate_all("els => els.map(e => e.value)")


@pytest.mark.django_db(transaction=True)
def test_alice_builds_pdf_excel_and_csv_with_mouse_and_keyboard_and_submits(demo_users, login, live_server):
    make_sales_catalog()
    page = login("alice")
    # A CSP violation or a failed htmx request shows up here.
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/exports/new/")

    page.select_option("#id_dashboard", "sales")
    expect(page.locator("#add-csv")).to_be_enabled()
    assert page.url.endswith("/exports/new/?dashboard=sales")

    # Five CSVs, by mouse and by keyboard: the CSV button then says why it is disabled.
    for n in range(5):
        if n % 2:
            page.locator("#add-csv").focus()
            page.keyboard.press("Enter")
        else:
            page.locator("#add-csv").click()
        expect(page.locator(f"#file-{n}")).to_be_visible()
    expect(page.locator("#add-csv")).to_be_disabled()
    expect(page.locator("#add-csv-reason")).to_have_text(FIVE_CSVS)
    expect(page.locator("#add-pdf")).to_be_enabled()
    # The picker shows charts, disabled, with the reason.
    chart = page.locator('#files-0-visual option[value="revenue-chart"]')
    expect(chart).to_be_disabled()
    expect(chart).to_contain_text("CSV and Excel export only tables and pivot tables")

    # A sixth file: every add button is disabled with the reason.
    page.locator("#add-pdf").click()
    expect(page.locator("#file-5")).to_be_visible()
    for fmt in ("pdf", "excel", "csv"):
        expect(page.locator(f"#add-{fmt}")).to_be_disabled()
        expect(page.locator(f"#add-{fmt}-reason")).to_have_text(SIX_FILES)

    # Back to one CSV and the PDF, then an Excel workbook built with the keyboard.
    for index in (4, 3, 2, 1):
        page.locator(f"#remove-{index}").click()
        expect(page.locator(f"#file-{index + 1}")).to_have_count(0)
    expect(page.locator("#add-excel")).to_be_enabled()
    page.select_option("#files-0-visual", "top-products")
    page.select_option("#files-1-sheet", "detail")
    expect(page.locator("#files-1-sheet")).to_have_value("detail")

    page.locator("#add-excel").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#file-2")).to_be_visible()
    expect(page.locator("#files-2-visual-margin-bars")).to_be_disabled()
    expect(page.locator("#files-2-visual-margin-bars-reason")).to_have_text(
        "a bar chart: CSV and Excel export only tables and pivot tables"
    )
    page.locator("#files-2-visual-order-lines").focus()
    page.keyboard.press("Space")
    expect(page.locator("#files-2-up-order-lines")).to_be_visible()
    page.locator("#files-2-visual-revenue-pivot").click()
    expect(page.locator("#files-2-up-revenue-pivot")).to_be_visible()
    assert order_of(page, 2) == ["order-lines", "revenue-pivot"]

    page.locator("#files-2-up-revenue-pivot").focus()
    page.keyboard.press("Enter")
    expect(page.locator('input[name="files-2-order"]').first).to_have_value("revenue-pivot")
    assert order_of(page, 2) == ["revenue-pivot", "order-lines"]

    page.fill("#param-3-0", "2")  # MinQuantity
    page.keyboard.press("Tab")
    expect(page.locator("#request-json")).to_contain_text('"Name": "MinQuantity"')
    expect(page.locator("#preview-status")).to_contain_text("Ready to send")
    preview = page.locator("#request-json").text_content()
    assert '"Value": "•••"' in preview
    assert "EMEA" not in preview
    assert re.search(r'"IntegerParameters": \[\s*\{\s*"Name": "MinQuantity",\s*"Values": \[\s*2\s*\]', preview)
    # The request and the AWS CLI wait under "Technical details" for a business user.
    expect(page.get_by_role("button", name="Copy as AWS CLI input JSON")).to_be_hidden()
    page.locator("#technical-details summary").click()
    expect(page.get_by_role("button", name="Copy as AWS CLI input JSON")).to_be_visible()
    page.fill("#param-3-0", "3")  # the preview is swapped in anew: the details stay open
    page.keyboard.press("Tab")
    expect(page.locator("#request-json")).to_contain_text(re.compile(r'"Values": \[\s*3\s*\]'))
    expect(page.locator("#technical-details")).to_have_attribute("open", "")
    expect(page.get_by_role("button", name="Copy as AWS CLI input JSON")).to_be_visible()

    assert console_errors == []

    page.locator("#submit-export").click()
    page.wait_for_url(re.compile(r".*/exports/[0-9a-f-]{36}/$"))

    export = Export.objects.get()
    assert export.user.username == "alice"
    groups = export.request["SnapshotConfiguration"]["FileGroups"]
    assert [g["Files"][0]["FormatType"] for g in groups] == ["CSV", "PDF", "EXCEL"]
    assert groups[1]["Files"][0]["SheetSelections"][0]["SheetId"] == "detail"
    assert [s["VisualIds"] for s in groups[2]["Files"][0]["SheetSelections"]] == [["revenue-pivot"], ["order-lines"]]
    assert AuditEvent.objects.get(export=export).action == "export.requested"


@pytest.mark.django_db(transaction=True)
def test_bob_builds_and_submits_an_export_with_javascript_off(demo_users, browser, live_server):
    make_sales_catalog()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "bob-demo-pw")
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/exports/new/")
    page.select_option("#id_dashboard", "sales")
    page.get_by_role("button", name="Open").click()
    page.get_by_role("button", name="Add PDF").click()
    expect(page.locator("#add-pdf-reason")).to_have_text("An export holds one PDF, and this one has it.")
    page.get_by_role("button", name="Add CSV").click()
    page.select_option("#files-1-visual", "order-lines")
    # Enter in a field checks the request (the form's first button); it never creates the export.
    page.fill("#param-3-0", "1.5")
    page.locator("#param-3-0").press("Enter")
    expect(page.locator("#param-3-errors")).to_have_text(
        "'1.5' is not a whole number; MinQuantity takes integer values"
    )
    expect(page.locator("#files-1-visual")).to_have_value("order-lines")
    expect(page.locator("#submit-export")).to_be_disabled()
    assert Export.objects.count() == 0

    page.fill("#param-3-0", "4")
    page.get_by_role("button", name="Check request").click()
    page.get_by_role("button", name="Create export").click()
    page.wait_for_url(re.compile(r".*/exports/[0-9a-f-]{36}/$"))
    export = Export.objects.get()
    assert export.user.username == "bob"
    assert export.spec["parameters"] == {"MinQuantity": ["4"]}
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_refused_submit_shows_why_in_place(demo_users, login, live_server):
    """The server refuses a submit with a 422; htmx (base.html's responseHandling) still swaps it in."""
    sales = make_sales_catalog()
    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")
    page.locator("#add-pdf").click()
    expect(page.locator("#submit-export")).to_be_enabled()

    # The sheet leaves QuickSight between the preview and the click.
    sales.dashboard.sheets.filter(sheet_id="summary").update(is_stale=True)
    with page.expect_response(lambda response: response.request.method == "POST") as submitted:
        page.locator("#submit-export").click()

    assert submitted.value.status == 422
    expect(page.locator("#files-0-errors")).to_contain_text("this sheet is not on the dashboard")
    assert Export.objects.count() == 0
