from __future__ import annotations

from bench import MIGRATED_SQLITE, Row, scratch_sqlite
from bench.__main__ import MODULES, QUICK_LANES, _migrated_sqlite, manage_sqlite, table


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


def test_modules_copy_one_migrated_database_that_needs_no_migration(tmp_path, monkeypatch):
    (tmp_path / "runner").mkdir()
    (tmp_path / "module").mkdir()
    monkeypatch.setenv(MIGRATED_SQLITE, _migrated_sqlite(str(tmp_path / "runner")))
    copy = scratch_sqlite(str(tmp_path / "module"))
    check = manage_sqlite(copy, str(tmp_path / "module"), "migrate", "--check", "--noinput")
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_quick_lanes_run_every_module_once():
    assert sorted(sum(QUICK_LANES, [])) == sorted(MODULES)
