"""quicksight_local over real HTTP: per-call latency and job turnaround, as medians.

    DEBUG=true .venv/bin/python -m bench.qs_api [--calls 50] [--jobs 5]

Serves quicksight_local in this process (serve_in_thread) with no minimum QUEUED/RUNNING time,
calls it through the portal's own boto3 client (exports.aws), and prints medians: a signed
DescribeDashboard round trip, and Start -> COMPLETED for a 24-row CSV and for the EMEA order lines;
then --burst jobs (24-row CSVs) started at once with the default pacing (1 s QUEUED, 1 s RUNNING):
the wall time until all completed and the most seen RUNNING at once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.conf import settings  # noqa: E402

from bench import Row  # noqa: E402
from exports import aws  # noqa: E402
from quicksight_local.server import serve_in_thread  # noqa: E402

ACCOUNT = "111122223333"
FILES = {
    "csv-24-rows": {"SheetId": "catalog", "VisualId": "product-list"},
    "csv-order-lines-EMEA": {"SheetId": "orders", "VisualId": "order-lines"},
}


def _start_kwargs(job_id: str, sheet_id: str, visual_id: str) -> dict:
    selection = {"SheetId": sheet_id, "SelectionScope": "SELECTED_VISUALS", "VisualIds": [visual_id]}
    return {
        "AwsAccountId": ACCOUNT,
        "DashboardId": "sales-overview",
        "SnapshotJobId": job_id,
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}]}]},
        "SnapshotConfiguration": {"FileGroups": [{"Files": [{"FormatType": "CSV", "SheetSelections": [selection]}]}]},
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--burst", type=int, default=12)
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(_parser().parse_args(["--calls", "20", "--jobs", "2"] if quick else []))


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []

    with serve_in_thread() as (url, state):
        state.faults.min_queued_seconds = state.faults.min_running_seconds = 0
        state.limits.max_calls_per_second = 10_000
        settings.QUICKSIGHT_ENDPOINT_URL = url
        aws.reset_clients()
        client = aws.quicksight_client()
        client.list_dashboards(AwsAccountId=ACCOUNT)  # connection and client warm-up

        latencies = []
        for _ in range(args.calls):
            began = time.perf_counter()
            client.describe_dashboard(AwsAccountId=ACCOUNT, DashboardId="sales-overview")
            latencies.append(time.perf_counter() - began)
        print(f"DescribeDashboard round trip: median {statistics.median(latencies) * 1000:.1f} ms ({args.calls} calls)")
        rows.append(
            Row(
                "quicksight_local DescribeDashboard round trip",
                statistics.median(latencies) * 1000,
                "ms",
                note=f"median of {args.calls} calls",
            )
        )

        for name, target in FILES.items():
            durations = []
            for n in range(args.jobs):
                job_id = f"bench-{name}-{n}"
                began = time.perf_counter()
                client.start_dashboard_snapshot_job(**_start_kwargs(job_id, target["SheetId"], target["VisualId"]))
                state.wait_for(state.get_job(ACCOUNT, "sales-overview", job_id), timeout=120)
                durations.append(time.perf_counter() - began)
            print(f"Start -> COMPLETED, {name}: median {statistics.median(durations):.2f} s ({args.jobs} jobs)")
            rows.append(
                Row(
                    f"quicksight_local Start -> COMPLETED, {name}",
                    statistics.median(durations),
                    "s",
                    note=f"median of {args.jobs} jobs",
                )
            )
        state.reset()

        state.faults.min_queued_seconds = state.faults.min_running_seconds = 1
        state.limits.max_calls_per_second = 10_000
        began = time.perf_counter()
        burst = []
        for n in range(args.burst):
            client.start_dashboard_snapshot_job(**_start_kwargs(f"burst-{n}", "catalog", "product-list"))
            burst.append(state.get_job(ACCOUNT, "sales-overview", f"burst-{n}"))
        for job in burst:
            state.wait_for(job, timeout=120)
        wall = time.perf_counter() - began
        print(
            f"{args.burst} jobs at once, 1 s QUEUED + 1 s RUNNING each: all COMPLETED in {wall:.2f} s, "
            f"{state.max_running} RUNNING at once at most"
        )
        # 12 run at once (the account's limit): the ideal is one job's 2 s per wave of 12.
        ideal = 2.0 * -(-args.burst // state.limits.max_running_jobs)
        rows.append(
            Row(
                f"quicksight_local {args.burst} jobs at once, all COMPLETED",
                wall,
                "s",
                ideal,
                "1 s QUEUED + 1 s RUNNING per wave",
                f"{state.max_running} RUNNING at once at most",
            )
        )
        state.reset()
    return rows


if __name__ == "__main__":
    main()
