"""Time and peak Python memory of the auditor's streamed history (CSV, JSON Lines) as rows grow.

    .venv/bin/python -m bench.history_export [--runs 3] [--sizes 10000,100000]

Runs against a throwaway SQLite file (or DATABASE_URL if set: use a scratch database, rows are
added). Time is the median of untraced runs; peak memory is tracemalloc's peak over one more run, so a flat figure
across sizes means the stream never holds the history in memory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc

from bench import Row, runs_note, setup_scratch_django


def _fill(total: int, events_per_export: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from exports.events import FILE_DOWNLOADED as DOWNLOAD_ACTION
    from exports.models import AuditEvent, Export
    from tests.history_factory import build_export, make_dashboard

    user, _ = get_user_model().objects.get_or_create(username="bench-user")
    dashboard = make_dashboard()
    missing = total - Export.objects.count()
    seq = AuditEvent.objects.count()
    for start in range(0, max(missing, 0), 5000):
        batch = [build_export(user, dashboard, tags={"region": "EMEA"}) for _ in range(min(5000, missing - start))]
        Export.objects.bulk_create(batch)
        # Lifecycle events and one download per export; the hash chain does not matter to this bench.
        events = []
        for export in batch:
            for n in range(events_per_export):
                seq += 1
                action = DOWNLOAD_ACTION if n == events_per_export - 1 else f"export.step_{n}"
                events.append(
                    AuditEvent(
                        seq=seq,
                        created_at=timezone.now(),
                        actor_username="bench-user",
                        action=action,
                        export=export,
                        data={"request_id": f"req-{seq}", "file": 0},
                        ip_address="192.0.2.1",
                        prev_hash="0" * 64,
                        hash="0" * 64,
                    )
                )
        AuditEvent.objects.bulk_create(events, batch_size=5000)


def _consume(fmt: str, *, trace: bool) -> tuple[float, float, int]:
    from exports.history import history_csv_lines, history_jsonl_lines

    lines = history_csv_lines if fmt == "csv" else history_jsonl_lines
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in lines({}))
    elapsed = time.perf_counter() - started
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return elapsed, peak, size


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--events-per-export", type=int, default=5, help="audit events per export (last: a download)")
    return parser


def run(quick: bool = False) -> list[Row]:
    # Filling 100,000 exports alone takes minutes on a busy 2-core machine: make bench stops at 20,000,
    # with 2 timed runs a size (3 took make bench past its 15 minutes: 212 s of 910 on 2026-12-03; with
    # 30,000 this module took 165 s of a 913 s run on the slower machine of 2026-12-05). Twice the rows
    # at the same peak heap still shows the stream flat.
    return _measure(
        _parser().parse_args(
            ["--runs", "1", "--sizes", "1000,2000"] if quick else ["--runs", "2", "--sizes", "10000,20000"]
        )
    )


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    smallest: dict[str, float] = {}  # peak memory at the smallest size: the rest should match it (flat)
    with tempfile.TemporaryDirectory() as tmp:
        setup_scratch_django(tmp)
        for total in sorted(int(s) for s in args.sizes.split(",")):
            _fill(total, args.events_per_export)
            for fmt in ("csv", "jsonl"):
                # Time without tracemalloc (it slows allocation-heavy code); memory from one traced run.
                runs = [_consume(fmt, trace=False) for _ in range(args.runs)]
                seconds = statistics.median(r[0] for r in runs)
                peak = _consume(fmt, trace=True)[1]
                print(
                    f"{fmt:5} rows={total:>7} events/row={args.events_per_export} median {seconds:6.2f} s"
                    f"  peak python memory {peak:6.1f} MiB  output {runs[0][2] / 2**20:6.1f} MiB"
                )
                name = f"audit history {fmt}, {total:,} exports"
                rows.append(
                    Row(f"{name}: time", seconds, "s", note=f"{total / seconds:,.0f} exports/s; {runs_note(args.runs)}")
                )
                first = smallest.setdefault(fmt, peak)
                rows.append(
                    Row(f"{name}: peak Python heap", peak, "MiB", first, "same at the smallest size", "tracemalloc")
                )
    return rows


if __name__ == "__main__":
    main()
