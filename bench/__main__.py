"""Run every benchmark and print one table: each figure, its baseline from the same run, the ratio.

    .venv/bin/python -m bench [--quick] [--only render_memory,qs_api] [--markdown]

Each module runs in a subprocess of its own (`run(quick) -> list[Row]`, rows back as JSON on
stdout; its own lines go to stderr as progress), so no module inherits another's heap, settings
or threads; --quick runs them in two lanes at once (QUICK_LANES). Scratch data: SQLite (one migrated
file, copied by each module) under a temporary directory unless BENCH_DATABASE_URL names a
scratch PostgreSQL database (rows are added to it); Redis from BENCH_REDIS_URL (default db 13,
flushed by the worker benchmarks).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bench import MIGRATED_SQLITE, Row

MODULES = [
    "render_memory",
    "export_form",
    "qs_api",
    "catalog_sync",
    "history_export",
    "audit_verify",
    "jobs_throughput",
    "quota_fairness",
    "list_pages",
    "polling",
]


def _child(module: str, quick: bool) -> None:
    with contextlib.redirect_stdout(sys.stderr):
        rows = importlib.import_module(f"bench.{module}").run(quick)
    print(json.dumps([row.to_json() for row in rows]))


def manage_sqlite(path: str, var_dir: str, *args: str) -> subprocess.CompletedProcess:
    """manage.py with its embedded settings on the SQLite file at path (no DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"DEBUG": "true", "SQLITE_PATH": path, "VAR_DIR": var_dir}
    manage = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "manage.py")
    return subprocess.run([sys.executable, manage, *args], env=env, capture_output=True, text=True)


def _migrated_sqlite(tmp: str) -> str:
    """Migrate one SQLite file for every module to copy (bench.MIGRATED_SQLITE)."""
    path = os.path.join(tmp, "migrated.sqlite3")
    result = manage_sqlite(path, tmp, "migrate", "--noinput", "-v0")
    if result.returncode != 0:
        raise RuntimeError(f"migrating the modules' SQLite file failed:\n{result.stderr}")
    # The last connection's close folded SQLite's write-ahead log into the file, so the file alone is whole.
    if os.path.exists(path + "-wal"):
        raise RuntimeError(f"{path}-wal is still there: the migrated file is not whole")
    return path


# --quick is a smoke run of every module (under 2 minutes on a slow 2-core machine: 116 to 121 s one
# after the other on 2026-12-05's third session). It runs two lanes at once, each module's output
# printed when it ends; the modules that start Celery workers on Redis (and flush its database) share
# one lane. `make bench` runs one module at a time: its figures are the measurement.
QUICK_LANES = (
    ["render_memory", "export_form", "history_export", "audit_verify", "list_pages"],
    ["qs_api", "catalog_sync", "jobs_throughput", "quota_fairness", "polling"],
)


def _run_module(module: str, quick: bool, *, capture: bool = False) -> tuple[list[Row], float, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    env.setdefault("DEBUG", "true")
    command = [sys.executable, "-m", "bench", "--child", module] + (["--quick"] if quick else [])
    header = f"--- bench.{module}{' (quick)' if quick else ''}"
    if not capture:
        print(header, file=sys.stderr, flush=True)
    began = time.monotonic()
    # stderr passes through (the module's own lines are the progress a reader watches), unless another
    # module runs beside it: then it is printed whole when the module ends.
    stderr = subprocess.PIPE if capture else None
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    seconds = time.monotonic() - began
    if capture:
        print(f"{header}\n{result.stderr}", end="", file=sys.stderr, flush=True)
    if result.returncode != 0:
        return [], seconds, f"failed (exit {result.returncode}): see its output above"
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return [Row(**{k: v for k, v in row.items() if k != "ratio"}) for row in rows], seconds, ""


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def table(rows: list[tuple[str, Row]]) -> str:
    lines = [
        "| bench | figure | value | unit | baseline | baseline is | ratio | note |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for module, row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "–"
        lines.append(
            f"| {module} | {row.name} | {_number(row.figure)} | {row.unit} | {_number(row.baseline)} | "
            f"{row.baseline_name or '–'} | {ratio} | {row.note} |"
        )
    return "\n".join(lines)


def _run_lane(modules: list[str]) -> dict[str, tuple[list[Row], float, str]]:
    return {module: _run_module(module, True, capture=True) for module in modules}


def _run_all(modules: list[str], quick: bool) -> dict[str, tuple[list[Row], float, str]]:
    if quick and modules == MODULES:
        with ThreadPoolExecutor(max_workers=len(QUICK_LANES)) as pool:
            results = {}
            for lane in pool.map(_run_lane, QUICK_LANES):
                results |= lane
            return results
    return {module: _run_module(module, quick) for module in modules}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs (under 2 minutes)")
    parser.add_argument("--only", help="comma-separated module names (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.quick)
        return
    modules = args.only.split(",") if args.only else MODULES
    began = time.monotonic()
    rows: list[tuple[str, Row]] = []
    timings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-migrated-") as template:
        os.environ[MIGRATED_SQLITE] = _migrated_sqlite(template)
        timings.append(f"migrate once {time.monotonic() - began:.0f} s")
        results = _run_all(modules, args.quick)
    for module in modules:
        found, seconds, problem = results[module]
        rows.extend((module, row) for row in found)
        if problem:
            rows.append((module, Row("(module)", None, "", note=problem)))
        timings.append(f"{module} {seconds:.0f} s")
    total = time.monotonic() - began
    print(table(rows))
    print()
    print(f"{'make bench-quick' if args.quick else 'make bench'}: {total:.0f} s in all ({', '.join(timings)})")
    if any(problem for _, row in rows if (problem := row.note.startswith("failed"))):
        sys.exit(1)


if __name__ == "__main__":
    main()
