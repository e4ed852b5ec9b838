from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from pypdf import PdfReader

from quicksight_local import data
from quicksight_local.catalog import load_catalog
from quicksight_local.render import (
    RenderError,
    RenderJob,
    _chart_flowable,
    _csv_rows,
    _csv_value,
    _styles,
    nice_axis,
    render_snapshot_file,
    worksheet_names,
)

GENERATED_AT = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)
MARCH = {"OrdersFrom": [datetime(2025, 3, 1)], "OrdersTo": [datetime(2025, 3, 31, 23, 59, 59)]}
ORDER_LINES_HEADER = ["Order", "Date", "Region", "Country", "Product", "Channel", "Quantity", "Unit price", "Revenue"]


def csv_file(sheet_id: str, visual_id: str) -> dict:
    return {
        "FormatType": "CSV",
        "SheetSelections": [{"SheetId": sheet_id, "SelectionScope": "SELECTED_VISUALS", "VisualIds": [visual_id]}],
    }


def render(tmp_path, file: dict, *, tags=None, parameters=None, dashboard="sales-overview", name="out"):
    out = tmp_path / name
    render_snapshot_file(
        dashboard=dashboard,
        file=file,
        tags={"region": "*"} if tags is None else tags,
        parameters=parameters or {},
        out_path=out,
        generated_at=GENERATED_AT,
    )
    return out


def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, strict=True))


@pytest.mark.parametrize(
    ("tags", "where"),
    [
        ({"region": "EMEA"}, "region = 'EMEA'"),
        ({"region": "AMER"}, "region = 'AMER'"),
        ({"region": "EMEA,APAC"}, "region IN ('EMEA', 'APAC')"),
        ({"region": "*"}, "TRUE"),
        ({}, "FALSE"),
    ],
)
def test_csv_row_count_is_the_rls_and_parameter_filtered_truth(tmp_path, tags, where):
    parameters = {"Country": ["France", "Canada", "Japan", "Germany"], **MARCH}
    rows = read_csv(render(tmp_path, csv_file("orders", "order-lines"), tags=tags, parameters=parameters))
    assert rows[0] == ORDER_LINES_HEADER
    with data.connect() as conn:
        truth = conn.execute(
            "SELECT count(*) FROM sales_orders WHERE country IN ('France', 'Canada', 'Japan', 'Germany')"
            f" AND order_date BETWEEN '2025-03-01' AND '2025-03-31 23:59:59' AND {where}"
        ).fetchone()[0]
    assert len(rows) - 1 == truth == data.count_rows("sales_orders", tags, parameters)


def test_csv_is_rfc4180_utf8_with_raw_values(tmp_path):
    out = render(tmp_path, csv_file("catalog", "product-list"), tags={})
    raw = out.read_bytes()
    assert raw.startswith(b"Product,Category,List price\r\n")
    assert b'"Bookshelf, oak",Furniture,219.00\r\n' in raw
    assert b'"Monitor 27"" 4K",Electronics,429.00\r\n' in raw
    assert "Café table".encode() in raw
    rows = read_csv(out)
    assert len(rows) == 1 + len(data.PRODUCTS)


def test_csv_writes_iso_datetimes_and_plain_numbers(tmp_path):
    rows = read_csv(render(tmp_path, csv_file("orders", "order-lines"), parameters=MARCH))
    first = dict(zip(rows[0], rows[1], strict=True))
    assert datetime.fromisoformat(first["Date"]).date().isoformat() == "2025-03-01"
    assert int(first["Quantity"]) >= 1
    assert Decimal(first["Revenue"]) == int(first["Quantity"]) * Decimal(first["Unit price"])


def test_csv_of_a_pivot_has_one_column_per_distinct_value(tmp_path):
    rows = read_csv(render(tmp_path, csv_file("summary", "revenue-by-region"), tags={"region": "APAC"}))
    assert rows[0] == ["Region", "Direct sales", "Online", "Partner", "Retail"]
    assert [row[0] for row in rows[1:]] == ["APAC"]


def test_csv_of_a_chart_is_refused(tmp_path):
    with pytest.raises(RenderError, match="CSV exports only table and pivot-table visuals"):
        render(tmp_path, csv_file("summary", "monthly-revenue"))
    assert list(tmp_path.iterdir()) == []


def test_unknown_visual_is_a_render_error(tmp_path):
    with pytest.raises(RenderError, match="nope"):
        render(tmp_path, csv_file("orders", "nope"))


def test_full_order_lines_csv_renders_every_row(tmp_path):
    # Speed is bench/render_memory's job; here only that no row is lost.
    out = render(tmp_path, csv_file("orders", "order-lines"))
    with open(out, "rb") as handle:
        lines = sum(1 for _ in handle)
    assert lines == 1 + 250_000


def test_csv_writes_every_engine_type_as_one_conversion_per_cell_did():
    # The CSV writer converts only the columns csv.writer would write differently (speed); every
    # other type must come out as the per-cell _csv_value of before, exponent-prone decimals included.
    conn = duckdb.connect()
    conn.execute(
        "SELECT * FROM (VALUES (1::INTEGER, TIMESTAMP '2024-01-02 03:04:05', 0.00000001::DECIMAL(18, 8),"
        " 1.50::DECIMAL(10, 2), DATE '2024-01-02', 'a,\"b\"', TRUE, 2.5::DOUBLE, 7::HUGEINT, TIME '01:02:03',"
        " TIMESTAMPTZ '2024-01-02 03:04:05+00'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL))"
    )
    result = data.VisualResult(conn, [f"c{i}" for i in range(11)])
    fast, before = io.StringIO(), io.StringIO()
    for batch in result.batches():
        csv.writer(fast, lineterminator="\r\n").writerows(_csv_rows(result.engine_types, batch))
        csv.writer(before, lineterminator="\r\n").writerows([_csv_value(v) for v in row] for row in batch)
    assert fast.getvalue() == before.getvalue()
    assert "2024-01-02T03:04:05,0.00000001,1.50,2024-01-02," in fast.getvalue()
    assert fast.getvalue().endswith(",,,,,,,,,,\r\n")


# --- Excel ---


def excel_file(*selections: tuple[str, list[str]]) -> dict:
    return {
        "FormatType": "EXCEL",
        "SheetSelections": [
            {"SheetId": sheet, "SelectionScope": "SELECTED_VISUALS", "VisualIds": visuals}
            for sheet, visuals in selections
        ],
    }


def test_excel_has_one_worksheet_per_visual_in_the_requested_order(tmp_path):
    file = excel_file(
        ("orders", ["top-countries", "order-lines"]), ("catalog", ["product-list"]), ("summary", ["revenue-by-region"])
    )
    out = render(tmp_path, file, tags={"region": "EMEA"}, parameters=MARCH, name="out.xlsx")
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["Revenue by country", "Order lines", "Products", "Revenue by region and channel"]
    order_lines = workbook["Order lines"]
    assert order_lines.max_row - 1 == data.count_rows("sales_orders", {"region": "EMEA"}, MARCH)
    assert [c.value for c in order_lines[1]] == ORDER_LINES_HEADER
    assert {row[2] for row in order_lines.iter_rows(min_row=2, values_only=True)} == {"EMEA"}


def test_excel_writes_numbers_as_numbers_and_dates_as_dates(tmp_path):
    out = render(tmp_path, excel_file(("orders", ["order-lines"])), parameters=MARCH, name="out.xlsx")
    sheet = openpyxl.load_workbook(out)["Order lines"]
    order, when, region, *_, quantity, unit_price, revenue = (cell for cell in sheet[2])
    assert isinstance(order.value, int)
    assert isinstance(quantity.value, int)
    assert isinstance(unit_price.value, float)
    assert revenue.value == pytest.approx(quantity.value * unit_price.value)
    assert isinstance(when.value, datetime)
    assert when.is_date
    assert when.value.date().isoformat() == "2025-03-01"
    assert isinstance(region.value, str)


def test_excel_header_is_bold_and_frozen(tmp_path):
    out = render(tmp_path, excel_file(("catalog", ["product-list"]), ("orders", ["top-countries"])), name="out.xlsx")
    for sheet in openpyxl.load_workbook(out).worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        assert not sheet["A2"].font.bold


def test_excel_keeps_text_that_looks_like_a_formula_as_text(tmp_path):
    out = render(tmp_path, excel_file(("catalog", ["product-list"])), name="out.xlsx")
    values = [row[0] for row in openpyxl.load_workbook(out)["Products"].iter_rows(min_row=2, values_only=True)]
    assert 'Monitor 27" 4K' in values
    assert "Café table" in values


def test_excel_refuses_a_chart(tmp_path):
    with pytest.raises(RenderError, match="EXCEL exports only table and pivot-table visuals"):
        render(tmp_path, excel_file(("summary", ["revenue-by-region", "monthly-revenue"])), name="out.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_worksheet_names_are_excel_safe_and_unique():
    names = worksheet_names(["Revenue: Q1/Q2 [draft]?", "A" * 40, "a" * 40, "History", "''"])
    assert names[0] == "Revenue  Q1 Q2  draft"
    assert names[1] == "A" * 31
    assert names[2] == "a" * 27 + " (2)"
    assert names[3] == "History visual"
    assert names[4] == "Visual"
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


# --- PDF ---


def pdf_file(sheet_id: str) -> dict:
    return {"FormatType": "PDF", "SheetSelections": [{"SheetId": sheet_id, "SelectionScope": "ALL_VISUALS"}]}


def pdf_pages(path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_pdf_large_table_spans_pages_with_title_parameters_page_numbers_and_a_cut_note(tmp_path, settings):
    settings.QUICKSIGHT_LOCAL_PDF_MAX_TABLE_ROWS = 600
    parameters = {"Country": ["France", "Germany"], "MinQuantity": [2], "OrdersFrom": [datetime(2025, 1, 1)]}
    tags = {"region": "EMEA"}
    out = render(tmp_path, pdf_file("orders"), tags=tags, parameters=parameters, name="out.pdf")
    pages = pdf_pages(out)
    assert len(pages) > 10
    first = pages[0]
    assert "Order lines" in first
    assert "Sales overview" in first
    assert "Country: France, Germany" in first
    assert "MinQuantity: 2" in first
    assert "OrdersFrom: 2025-01-01 00:00 UTC" in first
    assert "MinRevenue: all" in first
    assert "2026-11-28 14:30 UTC" in first
    assert f"Page 1 of {len(pages)}" in first
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Unit price" in pages[3]  # the header repeats on continuation pages
    total = data.visual_row_count("sales-overview", "order-lines", tags=tags, parameters=parameters)
    assert total > 600
    assert f"Showing the first 600 of {total:,} rows; export CSV or Excel for every row." in first
    assert "Revenue by country" in "".join(pages)


def test_pdf_without_a_cut_has_no_cut_note(tmp_path):
    out = render(tmp_path, pdf_file("trends"), dashboard="support-ops", tags={"region": "AMER"}, name="out.pdf")
    pages = pdf_pages(out)
    text = "".join(pages)
    assert "Trends" in text
    assert "Support operations" in text
    assert "Priority: all" in text
    assert "Showing the first" not in text
    assert "Page 1 of" in pages[0]


def test_pdf_charts_are_drawn_as_charts(tmp_path):
    out = render(tmp_path, pdf_file("summary"), name="out.pdf")
    reader = PdfReader(out)
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in ("Summary", "Monthly revenue", "2024-01", "2025-12", "Revenue by product", "Aeron chair"):
        assert expected in text
    drawing_ops = b"".join(page.get_contents().get_data() for page in reader.pages)
    assert drawing_ops.count(b" re") > 30  # product bars and the pivot's rows
    assert drawing_ops.count(b" l\n") + drawing_ops.count(b" l ") > 23  # the monthly line and the grid


def test_pdf_section_shows_the_pivot_with_its_value_columns(tmp_path):
    out = render(tmp_path, pdf_file("summary"), tags={"region": "AMER"}, name="out.pdf")
    first = pdf_pages(out)[0]
    assert "Revenue by region and channel" in first
    assert "Direct sales" in first
    assert "EMEA" not in first.replace("EMEA,", "")


def test_pdf_has_one_section_per_selected_sheet_each_on_its_own_page(tmp_path):
    file = {
        "FormatType": "PDF",
        "SheetSelections": [
            {"SheetId": "trends", "SelectionScope": "ALL_VISUALS"},
            {"SheetId": "backlog", "SelectionScope": "ALL_VISUALS"},
        ],
    }
    parameters = {"Priority": ["Urgent"], "OpenedAfter": [datetime(2025, 12, 1)]}
    out = render(tmp_path, file, dashboard="support-ops", tags={"region": "APAC"}, parameters=parameters, name="o.pdf")
    pages = pdf_pages(out)
    backlog_start = next(i for i, text in enumerate(pages) if "Backlog" in text)
    assert backlog_start >= 1
    assert "Trends" in pages[0]
    assert "Tickets by priority and status" in "".join(pages[backlog_start:])
    assert all("Priority: Urgent; OpenedAfter: 2025-12-01 00:00 UTC" in pages[i] for i in (0, backlog_start))


def test_csv_with_more_than_one_visual_is_a_render_error(tmp_path):
    file = csv_file("orders", "order-lines")
    file["SheetSelections"][0]["VisualIds"].append("top-countries")
    with pytest.raises(RenderError, match="exactly one visual"):
        render(tmp_path, file)


@pytest.mark.parametrize(
    ("low", "high", "axis"),
    [
        (0, 21_189_761.39, (0, 25_000_000, 5_000_000)),
        (0, 288, (0, 300, 100)),
        (0, 0.3, (0, 0.3, 0.1)),
        (-3, 7, (-4, 8, 2)),
        (5, 5, (0, 5, 1)),
        (0, 0, (0, 1, 0.2)),
    ],
)
def test_a_value_axis_is_round_and_reaches_past_the_largest_value(low, high, axis):
    axis_min, axis_max, step = nice_axis(low, high)
    assert (axis_min, axis_max, step) == pytest.approx(axis)
    assert axis_min <= min(0, low) and axis_max >= high


@pytest.mark.parametrize(
    ("dashboard", "visual_id"),
    [
        ("sales-overview", "monthly-revenue"),
        ("sales-overview", "revenue-by-product"),
        ("support-ops", "tickets-per-week"),
    ],
)
def test_pdf_chart_axis_covers_its_largest_value_with_a_tick_above_it(dashboard, visual_id):
    """The top bar or line point used to rise past the last tick and grid line (21.2M over a 20M top tick)."""
    catalog = load_catalog().dashboards[dashboard]
    visual = next(v for sheet in catalog.sheets for v in sheet.visuals if v.visual_id == visual_id)
    with data.visual_query(catalog, visual, tags={"region": "*"}, parameters={}) as result:
        largest = max(float(value or 0) for _, value in result)
    job = RenderJob(catalog, [], {"region": "*"}, {}, GENERATED_AT)

    chart = _chart_flowable(job, visual, 480, _styles()).contents[0]
    chart.draw()

    ticks = chart.valueAxis._tickValues
    assert ticks[-1] >= largest and ticks[-1] == chart.valueAxis._valueMax
    assert chart.valueAxis.scale(largest) <= chart.y + chart.height
