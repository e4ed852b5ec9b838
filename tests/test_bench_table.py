from __future__ import annotations

from bench import Row
from bench.__main__ import table


def test_bench_table_shows_each_figure_beside_its_baseline_and_their_ratio():
    rows = [("render_memory", Row("render CSV 1,000,000 rows: time", 5.84, "s", 5.29, "bare csv", "1 run"))]
    line = table(rows).splitlines()[-1]
    assert line == "| render_memory | render CSV 1,000,000 rows: time | 5.84 | s | 5.29 | bare csv | 1.10x | 1 run |"


def test_a_module_that_fails_shows_as_a_row_saying_so_not_as_a_number():
    line = table([("polling", Row("(module)", None, "", note="exit status 1"))]).splitlines()[-1]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[2] == cells[4] == cells[6] == "–"
    assert cells[7] == "exit status 1"


def test_a_row_without_a_baseline_has_no_ratio():
    assert Row("verify_audit_log, 100,000 events", 6.1, "s").ratio is None
    assert Row("x", 2.0, "s", 0.0).ratio is None
    assert Row("x", 3.0, "s", 2.0).to_json()["ratio"] == 1.5
