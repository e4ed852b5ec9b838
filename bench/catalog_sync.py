"""Catalog sync over real HTTP against quicksight_local: first sync and re-sync times, as medians.

    .venv/bin/python -m bench.catalog_sync [--runs 3] [--sizes 2,50]

Serves quicksight_local in this process (serve_in_thread) with its demo catalog copied to N
dashboards, syncs into a throwaway SQLite file (or DATABASE_URL if set: use a scratch database),
and prints the median time of a first sync (empty catalog) and of a re-sync (nothing changed),
with the portal's shared QuickSight quota lifted, then one first sync under the default quota of
10 calls per second, which is what bounds a sync in practice.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time

from bench import Row, runs_note, setup_scratch_django


def _catalog_of(size: int, base):
    """The demo dashboards copied (with new ids) until there are `size` of them."""
    originals = list(base.dashboards.values())
    dashboards = {}
    for n in range(size):
        original = originals[n % len(originals)]
        dashboard_id = original.dashboard_id if n < len(originals) else f"{original.dashboard_id}-{n}"
        dashboards[dashboard_id] = dataclasses.replace(original, dashboard_id=dashboard_id)
    return dataclasses.replace(base, dashboards=dashboards)


def _clear() -> None:
    from exports.models import Dashboard

    Dashboard.objects.all().delete()


def _timed_sync(account: str, region: str) -> tuple[float, dict]:
    from exports.sync import sync_dashboards

    began = time.perf_counter()
    report = sync_dashboards(account_id=account, region=region)
    assert report.ok, report.lines()
    return time.perf_counter() - began, report.totals()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="2,50")
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(_parser().parse_args(["--runs", "1", "--sizes", "2"] if quick else ["--runs", "1"]))


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []

    with tempfile.TemporaryDirectory() as tmp:
        setup_scratch_django(tmp)
        from django.conf import settings

        from exports import aws
        from quicksight_local.server import serve_in_thread

        account, region = settings.QUICKSIGHT_LOCAL_ACCOUNT_ID, settings.QUICKSIGHT_LOCAL_REGION
        default_rate = settings.QUICKSIGHT_MAX_CALLS_PER_SECOND
        with serve_in_thread() as (url, state):
            settings.QUICKSIGHT_ENDPOINT_URL = url
            aws.reset_clients()
            base = state.catalog
            state.limits.max_calls_per_second = 100_000
            for size in (int(s) for s in args.sizes.split(",")):
                state.catalog = _catalog_of(size, base)
                settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 100_000
                firsts, resyncs = [], []
                for _ in range(args.runs):
                    _clear()
                    seconds, totals = _timed_sync(account, region)
                    firsts.append(seconds)
                    seconds, again = _timed_sync(account, region)
                    assert again["added"] == again["changed"] == again["stale"] == 0
                    resyncs.append(seconds)
                print(
                    f"{size:>4} dashboards ({totals['added']} rows): first sync median "
                    f"{statistics.median(firsts):.2f} s, re-sync (unchanged) median {statistics.median(resyncs):.2f} s"
                )
                first = statistics.median(firsts)
                rows.append(Row(f"catalog first sync, {size} dashboards", first, "s", note=runs_note(args.runs)))
                rows.append(
                    Row(
                        f"catalog re-sync (unchanged), {size} dashboards",
                        statistics.median(resyncs),
                        "s",
                        first,
                        "first sync",
                        runs_note(args.runs),
                    )
                )
                settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = default_rate
                _clear()
                seconds, _ = _timed_sync(account, region)
                used = {d for dashboard in state.catalog.dashboards.values() for d in dashboard.dataset_ids}
                calls = 1 + size + len(used)  # ListDashboards, one definition each, each data set once per sync
                quota = f"the {default_rate} calls/s quota"
                print(f"{size:>4} dashboards under {quota}: first sync {seconds:.2f} s ({calls} calls)")
                rows.append(
                    Row(
                        f"catalog first sync under {quota}, {size} dashboards",
                        seconds,
                        "s",
                        calls / default_rate,
                        f"{calls} calls at {default_rate}/s",
                        "1 run",
                    )
                )
            state.catalog = base
    return rows


if __name__ == "__main__":
    main()
