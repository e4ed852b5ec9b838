from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from quicksight_local import data

# A one-month window keeps streamed slices small (about 10k of the 250k order lines).
MARCH = {"OrdersFrom": [datetime(2025, 3, 1)], "OrdersTo": [datetime(2025, 3, 31, 23, 59, 59)]}


def sql_count(where: str = "TRUE", params: list | None = None, table: str = "sales_orders") -> int:
    """Truth written by hand, independent of the filter builder under test."""
    with data.connect() as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params or []).fetchone()[0]


def streamed_rows(visual_id: str, tags: dict, parameters: dict, dashboard: str = "sales-overview") -> list[tuple]:
    with data.visual_query(dashboard, visual_id, tags=tags, parameters=parameters) as result:
        return list(result)


def test_sales_orders_has_the_catalog_size_and_three_regions():
    assert sql_count() == 250_000
    with data.connect() as conn:
        regions = conn.execute("SELECT region, count(DISTINCT country) FROM sales_orders GROUP BY 1 ORDER BY 1")
        assert [(r, n >= 5) for r, n in regions.fetchall()] == [("AMER", True), ("APAC", True), ("EMEA", True)]
        span = conn.execute("SELECT min(order_date), max(order_date) FROM sales_orders").fetchone()
    assert span[0].date().isoformat() == "2024-01-01"
    assert span[1].date().isoformat() == "2025-12-31"


@pytest.mark.parametrize(
    ("tag", "where", "params"),
    [
        ("EMEA", "region = ?", ["EMEA"]),
        ("AMER", "region = ?", ["AMER"]),
        ("EMEA,APAC", "region IN (?, ?)", ["EMEA", "APAC"]),
        ("*", "TRUE", []),
    ],
)
def test_rls_tag_filters_rows_to_the_tagged_regions(tag, where, params):
    expected = sql_count(where, params)
    assert expected > 0
    assert data.count_rows("sales_orders", {"region": tag}) == expected
    rows = streamed_rows("order-lines", {"region": tag}, MARCH)
    march = "order_date BETWEEN '2025-03-01' AND '2025-03-31 23:59:59'"
    assert len(rows) == sql_count(f"{where} AND {march}", params)
    assert {row[2] for row in rows} == ({"EMEA", "AMER", "APAC"} if tag == "*" else set(params))


def test_rls_dataset_without_a_matching_tag_gives_no_rows():
    assert data.count_rows("sales_orders", {}) == 0
    assert data.count_rows("sales_orders", {"department": "EMEA"}) == 0
    assert data.count_rows("support_tickets", {"region": ""}) == 0
    assert streamed_rows("order-lines", {}, {}) == []


def test_dataset_without_rules_is_not_filtered():
    assert data.count_rows("products", {}) == len(data.PRODUCTS)
    assert len(streamed_rows("product-list", {}, {})) == len(data.PRODUCTS)


def test_multi_value_delimiter_ignores_spaces_and_empty_parts():
    assert data.count_rows("sales_orders", {"region": " EMEA , ,APAC"}) == sql_count("region <> 'AMER'")


def test_string_parameter_filters_with_in():
    parameters = {"Country": ["France", "Türkiye"], **MARCH}
    rows = streamed_rows("order-lines", {"region": "*"}, parameters)
    assert {row[3] for row in rows} == {"France", "Türkiye"}
    assert data.count_rows("sales_orders", {"region": "*"}, {"Country": ["France", "Türkiye"]}) == sql_count(
        "country IN ('France', 'Türkiye')"
    )


def test_string_parameter_values_are_bound_not_interpolated():
    assert data.count_rows("sales_orders", {"region": "*"}, {"Country": ["x' OR '1'='1"]}) == 0
    assert data.count_rows("sales_orders", {"region": "EMEA' OR '1'='1"}) == 0


def test_integer_parameter_filters_with_at_least():
    rows = streamed_rows("order-lines", {"region": "AMER"}, {"MinQuantity": [12], **MARCH})
    assert rows
    assert min(row[6] for row in rows) == 12
    assert data.count_rows("sales_orders", {"region": "AMER"}, {"MinQuantity": [12]}) == sql_count(
        "region = 'AMER' AND quantity >= 12"
    )


def test_decimal_parameter_filters_with_at_least():
    rows = streamed_rows("order-lines", {"region": "APAC"}, {"MinRevenue": [5000.5], **MARCH})
    assert rows
    assert min(row[8] for row in rows) >= Decimal("5000.50")
    assert data.count_rows("sales_orders", {"region": "APAC"}, {"MinRevenue": [5000.5]}) == sql_count(
        "region = 'APAC' AND revenue >= 5000.5"
    )


def test_datetime_parameters_filter_a_window_and_accept_aware_utc_values():
    parameters = {"OrdersFrom": [datetime(2025, 3, 1, tzinfo=UTC)], "OrdersTo": [datetime(2025, 3, 2, tzinfo=UTC)]}
    rows = streamed_rows("order-lines", {"region": "*"}, parameters)
    assert rows
    assert all(datetime(2025, 3, 1) <= row[1] <= datetime(2025, 3, 2) for row in rows)
    assert len(rows) == sql_count("order_date BETWEEN '2025-03-01' AND '2025-03-02'")


def test_missing_parameter_takes_its_default_and_an_empty_one_does_not_filter():
    everything = data.count_rows("sales_orders", {"region": "*"}, {})
    assert everything == data.count_rows("sales_orders", {"region": "*"}, {"Country": []}) == 250_000


def test_badly_typed_parameter_value_names_the_type():
    with pytest.raises(data.QueryError, match="INTEGER"):
        data.count_rows("sales_orders", {"region": "*"}, {"MinQuantity": ["many"]})


def test_pivot_has_one_column_per_distinct_value_in_order_and_matches_the_total():
    with data.visual_query("sales-overview", "revenue-by-region", tags={"region": "EMEA,AMER"}, parameters={}) as r:
        rows = list(r)
        assert r.headers == ["Region", "Direct sales", "Online", "Partner", "Retail"]
        assert r.column_types == ["STRING", "DECIMAL", "DECIMAL", "DECIMAL", "DECIMAL"]
    assert [row[0] for row in rows] == ["AMER", "EMEA"]
    with data.connect() as conn:
        total = conn.execute("SELECT sum(revenue) FROM sales_orders WHERE region IN ('EMEA', 'AMER')").fetchone()[0]
    assert sum(sum(row[1:]) for row in rows) == total


def test_chart_gives_category_value_pairs():
    rows = streamed_rows("monthly-revenue", {"region": "*"}, {})
    assert len(rows) == 24
    assert rows[0][0] == "2024-01"
    assert rows[-1][0] == "2025-12"
    assert all(isinstance(value, Decimal) for _, value in rows)


def test_grouped_table_orders_and_counts():
    rows = streamed_rows("top-countries", {"region": "EMEA"}, {})
    assert sum(row[1] for row in rows) == sql_count("region = 'EMEA'")
    assert [row[2] for row in rows] == sorted((row[2] for row in rows), reverse=True)


def test_rows_stream_in_batches_of_the_requested_size():
    with data.visual_query(
        "sales-overview", "order-lines", tags={"region": "*"}, parameters=MARCH, batch_rows=1000
    ) as result:
        sizes = [len(batch) for batch in result.batches()]
    assert len(sizes) > 5
    assert max(sizes) == 1000
    assert sum(sizes) == sql_count("order_date BETWEEN '2025-03-01' AND '2025-03-31 23:59:59'")


def test_visual_row_count_matches_the_streamed_rows():
    tags = {"region": "APAC"}
    assert data.visual_row_count("sales-overview", "order-lines", tags=tags, parameters=MARCH) == len(
        streamed_rows("order-lines", tags, MARCH)
    )


def fingerprint(path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(
            "SELECT count(*), sum(revenue), sum(hash(order_id, order_date, country, product, channel))"
            " FROM sales_orders"
        ).fetchone()


def test_build_is_deterministic(tmp_path):
    fresh = data.ensure_database(tmp_path / "demo.duckdb")
    assert fingerprint(fresh) == fingerprint(data.ensure_database())


def test_stale_version_is_rebuilt(tmp_path):
    path = tmp_path / "demo.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE _meta (version VARCHAR); INSERT INTO _meta VALUES ('old')")
    data.ensure_database(path)
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT version FROM _meta").fetchone()[0] == data.DATA_VERSION
        assert conn.execute("SELECT count(*) FROM sales_orders").fetchone()[0] == 250_000


def test_concurrent_processes_and_threads_build_once_and_read_the_same_data(tmp_path):
    path = tmp_path / "demo.duckdb"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        processes = [pool.submit(data.ensure_database, path) for _ in range(3)]
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(data.ensure_database(path))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [f.result() for f in processes] == [path] * 3
    assert results == [path] * 3
    assert fingerprint(path) == fingerprint(data.ensure_database())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_threads_query_at_the_same_time_with_their_own_connections():
    tags = [{"region": "EMEA"}, {"region": "AMER"}, {"region": "APAC"}, {"region": "*"}] * 3

    def top_countries(tag: dict) -> int:
        return sum(row[1] for row in streamed_rows("top-countries", tag, {}))

    with ThreadPoolExecutor(max_workers=6) as pool:
        totals = list(pool.map(top_countries, tags))
    assert totals == [data.count_rows("sales_orders", tag) for tag in tags]


def test_datetime_parameter_accepts_epoch_seconds_and_iso_text():
    expected = datetime(2025, 3, 1)
    assert data.coerce_value("DATETIME", 1740787200) == expected
    assert data.coerce_value("DATETIME", 1740787200.0) == expected
    assert data.coerce_value("DATETIME", "2025-03-01T01:00:00+01:00") == expected
    assert data.coerce_value("DATETIME", "2025-03-01T00:00:00Z") == expected
    with pytest.raises(data.QueryError, match="DATETIME"):
        data.coerce_value("DATETIME", True)


def test_every_catalog_dataset_has_its_declared_rows_columns_and_types():
    from quicksight_local.catalog import load_catalog

    with data.connect() as conn:
        for dataset in load_catalog().datasets.values():
            cursor = conn.execute(f'SELECT * FROM "{dataset.dataset_id}" LIMIT 0')
            actual = {d[0]: data._column_type(d[1]) for d in cursor.description}
            assert actual == dataset.columns, dataset.dataset_id
            assert sql_count(table=dataset.dataset_id) == dataset.rows
