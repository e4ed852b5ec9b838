"""How long the export form takes to answer a change, and the request builder alone, as medians.

    .venv/bin/python -m bench.export_form [--runs 50]

Runs against a throwaway SQLite file (or DATABASE_URL if set: use a scratch database) holding
the test catalog (tests/factories.py). Each htmx change rebuilds the whole request on the server
(rules + botocore validation), so this is the latency a user feels per click, minus the network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid

from bench import Row, runs_note, setup_scratch_django


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(_parser().parse_args(["--runs", "10"] if quick else []))


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        setup_scratch_django(tmp)
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        from exports.management.commands.seed_demo import seed_mappings, seed_users
        from exports.snapshot import build_request, parse_spec
        from tests.factories import make_sales_catalog

        seed_users()
        seed_mappings()  # the RLS tags a request needs (seed_users no longer gives them)
        dashboard_id = make_sales_catalog(dashboard_id=f"bench-{uuid.uuid4().hex[:8]}").dashboard.dashboard_id
        alice = get_user_model().objects.get(username="alice")
        spec = parse_spec(
            {
                "dashboard": dashboard_id,
                "files": [
                    {"format": "PDF", "sheet": "summary"},
                    {"format": "EXCEL", "visuals": ["order-lines", "returns", "revenue-pivot"]},
                    {"format": "CSV", "visual": "top-products"},
                ],
                "parameters": {"Country": ["DE", "FR"], "MinQuantity": ["2"], "From": ["2026-01-01T00:00"]},
                "destination": "Finance bucket",
            }
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(alice)
        data = {
            "dashboard": dashboard_id,
            "files-0-format": "PDF",
            "files-0-sheet": "summary",
            "files-1-format": "EXCEL",
            "files-1-visuals": ["order-lines", "returns", "revenue-pivot"],
            "files-2-format": "CSV",
            "files-2-visual": "top-products",
            "param-Country": ["DE", "FR"],
            "destination": "Finance bucket",
        }
        file_url = reverse("exports:new_file", args=[1])
        files_url = reverse("exports:new_files")

        assert build_request(spec, user=alice, export_id=uuid.uuid4()).ok
        assert client.post(file_url, data, HTTP_HX_REQUEST="true").status_code == 200
        build = _median_ms(lambda: build_request(spec, user=alice, export_id=uuid.uuid4()), args.runs)
        one_file = _median_ms(lambda: client.post(file_url, data, HTTP_HX_REQUEST="true"), args.runs)
        add = _median_ms(
            lambda: client.post(files_url, {**data, "action": "add:CSV"}, HTTP_HX_REQUEST="true"), args.runs
        )
        print(f"runs per figure: {args.runs} (medians)")
        print(f"build_request (3 files, 3 parameters, destination): {build:.1f} ms")
        print(f"htmx change inside one file (file partial + preview): {one_file:.1f} ms")
        print(f"htmx add a file (files section + preview): {add:.1f} ms")
    note = runs_note(args.runs)
    return [
        Row("export form: build_request (3 files, 3 parameters, destination)", build, "ms", note=note),
        Row("export form: htmx change inside one file", one_file, "ms", build, "build_request alone", note),
        Row("export form: htmx add a file", add, "ms", build, "build_request alone", note),
    ]


if __name__ == "__main__":
    main()
