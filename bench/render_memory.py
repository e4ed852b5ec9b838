"""Peak memory and time of quicksight_local's CSV and Excel renderers as rows grow.

    .venv/bin/python -m bench.render_memory [--runs 3] [--sizes 25000,100000,250000]

Each render runs in a fresh subprocess that prints its own peak RSS (ru_maxrss), so one
measurement cannot inherit another's heap. The baseline is the same subprocess importing
everything and rendering nothing. Rows come from the 250k-row order lines; smaller sizes put a
LIMIT on the visual's query (a knob of this bench only, patched into the renderer). QUERY only
streams the rows and drops them: what the engine itself needs (DuckDB sorts the visual's rows for
its ORDER BY), so a format's figure minus QUERY's is what its writer adds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

FORMATS = {"CSV": "csv", "EXCEL": "xlsx"}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()


def child(format_type: str, rows: int) -> dict:
    _setup_django()
    from quicksight_local import data, render

    data.ensure_database()
    started = time.perf_counter()
    size = 0
    if format_type == "QUERY":
        with data.visual_query("sales-overview", "order-lines", tags={"region": "*"}, parameters={}, limit=rows) as r:
            for _ in r.batches():
                pass
    elif format_type != "BASELINE":
        render.visual_query = partial(data.visual_query, limit=rows)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"order-lines.{FORMATS[format_type]}"
            render.render_snapshot_file(
                dashboard="sales-overview",
                file={
                    "FormatType": format_type,
                    "SheetSelections": [
                        {"SheetId": "orders", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["order-lines"]}
                    ],
                },
                tags={"region": "*"},
                parameters={},
                out_path=out,
                generated_at=datetime.now(UTC),
            )
            size = out.stat().st_size
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": size,
    }


def measure(format_type: str, rows: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.render_memory", "--child", format_type, str(rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="25000,100000,250000")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return

    _setup_django()
    from quicksight_local import data

    data.ensure_database()  # built once up front, so no run pays for it
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = [("BASELINE", 0)] + [(f, n) for f in ("QUERY", *FORMATS) for n in sizes]
    print(f"order lines, 9 columns, median of {args.runs} runs, each in its own process")
    print(f"{'format':<9} {'rows':>8} {'seconds':>8} {'peak RSS MiB':>13} {'over baseline':>14} {'file MiB':>9}")
    baseline = None
    for format_type, rows in cases:
        runs = [measure(format_type, rows) for _ in range(args.runs)]
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = statistics.median(r["peak_rss_mib"] for r in runs)
        baseline = rss if baseline is None else baseline
        size = statistics.median(r["bytes"] for r in runs) / 2**20
        print(f"{format_type:<9} {rows:>8} {seconds:>8.2f} {rss:>13.1f} {rss - baseline:>+14.1f} {size:>9.1f}")


if __name__ == "__main__":
    main()
