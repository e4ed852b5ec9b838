from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from quicksight_local import data
from quicksight_local.render import RenderError, render_snapshot_file

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


def test_full_order_lines_csv_renders_every_row_quickly(tmp_path):
    started = time.monotonic()
    out = render(tmp_path, csv_file("orders", "order-lines"))
    elapsed = time.monotonic() - started
    with open(out, "rb") as handle:
        lines = sum(1 for _ in handle)
    assert lines == 1 + 250_000
    assert elapsed < 10
