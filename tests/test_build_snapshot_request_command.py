from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from exports.models import AuditEvent, Export
from tests.factories import make_sales_catalog
from tests.services import ROOT, worker_env

SPEC = {
    "dashboard": "sales",
    "files": [
        {"format": "PDF", "sheet": "summary"},
        {"format": "EXCEL", "visuals": ["returns", "revenue-pivot"]},
        {"format": "CSV", "visual": "order-lines"},
    ],
    "parameters": {"From": ["2026-02-01T00:00"], "MinQuantity": ["2"]},
    "destination": "Finance bucket",
}


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


def run(tmp_path, spec, *args) -> tuple[int, str]:
    path = tmp_path / "spec.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    out = io.StringIO()
    try:
        call_command("build_snapshot_request", str(path), *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_valid_spec_prints_the_exact_kwargs_as_json_and_creates_nothing(tmp_path, sales):
    code, out = run(tmp_path, SPEC, "--user", "alice")

    assert code == 0
    kwargs = json.loads(out)
    assert kwargs["AwsAccountId"] == "111122223333"
    assert kwargs["SnapshotJobId"].startswith("export-")
    assert kwargs["UserConfiguration"] == {
        "AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}]}]
    }
    excel = kwargs["SnapshotConfiguration"]["FileGroups"][1]["Files"][0]["SheetSelections"]
    assert [(s["SheetId"], s["VisualIds"]) for s in excel] == [("detail", ["returns"]), ("summary", ["revenue-pivot"])]
    assert kwargs["SnapshotConfiguration"]["Parameters"]["DateTimeParameters"] == [
        {"Name": "From", "Values": ["2026-02-01T00:00:00+00:00"]}
    ]
    assert (
        kwargs["SnapshotConfiguration"]["DestinationConfiguration"]["S3Destinations"][0]["BucketConfiguration"][
            "BucketName"
        ]
        == "finance-exports"
    )
    assert Export.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_invalid_spec_prints_every_broken_rule_one_a_line_and_exits_2(tmp_path, sales):
    spec = {
        "dashboard": "sales",
        "files": [{"format": "CSV", "visual": "revenue-chart"}, {"format": "PDF", "sheet": "nope"}],
        "parameters": {"MinQuantity": ["many"]},
        "destination": "Dublin bucket",
    }
    code, out = run(tmp_path, spec, "--user", "alice")

    assert code == 2
    assert out.splitlines() == [
        "files[0].visual: 'Monthly revenue' is a line chart; CSV and Excel export only tables and pivot tables "
        "[visual-tabular]",
        "files[1].sheet: this sheet is not on the dashboard (any more) [sheet-exists]",
        "parameters.MinQuantity: 'many' is not a whole number; MinQuantity takes integer values [parameter-value-type]",
        "destination: 'Dublin bucket' is not a destination open to you [destination-allowed]",
    ]


def test_unknown_keys_are_refused_by_name(tmp_path, sales):
    code, out = run(tmp_path, {**SPEC, "format": "PDF", "priority": "high"}, "--user", "alice")
    assert code == 2
    assert out.splitlines() == [
        "format: unknown key 'format'; a spec takes dashboard, files, parameters, destination [unknown-key]",
        "priority: unknown key 'priority'; a spec takes dashboard, files, parameters, destination [unknown-key]",
    ]


def test_a_spec_that_tries_to_set_tags_account_or_job_id_is_refused(tmp_path, sales):
    spec = {
        **SPEC,
        "tags": [{"Key": "region", "Value": "*"}],
        "AwsAccountId": "999999999999",
        "SnapshotJobId": "mine",
    }
    code, out = run(tmp_path, spec, "--user", "alice")
    assert code == 2
    assert out.splitlines() == [
        "tags: 'tags' cannot be set in a spec: RLS tags come only from the administrators' mappings for your user "
        "[server-side-only]",
        "AwsAccountId: 'AwsAccountId' cannot be set in a spec: the AWS account is the dashboard's own "
        "[server-side-only]",
        "SnapshotJobId: 'SnapshotJobId' cannot be set in a spec: the job id is derived from the export's id "
        "[server-side-only]",
    ]
    assert "*" not in out.replace("[", "")


def test_not_json_exits_2(tmp_path, sales):
    code, out = run(tmp_path, "{nope", "--user", "alice")
    assert code == 2
    assert out.startswith("spec: not valid JSON")


def test_outsider_is_told_the_dashboard_is_not_shared(tmp_path, sales):
    code, out = run(tmp_path, SPEC, "--user", "carol")
    assert (code, out) == (2, "dashboard: no dashboard 'sales' is shared with you [dashboard-granted]\n")


def test_submit_creates_the_export_with_its_audit_event_and_prints_its_id(tmp_path, sales):
    code, out = run(tmp_path, SPEC, "--user", "bob", "--submit")

    assert code == 0
    export = Export.objects.get()
    assert out.strip() == str(export.id)
    assert export.user.username == "bob"
    assert export.status == Export.Status.PENDING
    event = AuditEvent.objects.get(export=export)
    assert event.action == "export.requested"
    assert event.data["rls_identity"]["tags"] == {"region": "AMER"}


def test_submit_of_an_invalid_spec_creates_nothing(tmp_path, sales):
    code, _ = run(tmp_path, {**SPEC, "files": []}, "--user", "bob", "--submit")
    assert code == 2
    assert Export.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_real_process_reads_stdin_and_exits_with_the_documented_codes(demo_users):
    make_sales_catalog()
    env = worker_env()
    command = [sys.executable, "manage.py", "build_snapshot_request", "--user", "alice", "-"]
    ok = subprocess.run(command, input=json.dumps(SPEC), capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["DashboardId"] == "sales"

    bad = {**SPEC, "files": [{"format": "CSV", "visual": "margin-bars"}]}
    refused = subprocess.run(
        command, input=json.dumps(bad), capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert refused.returncode == 2
    assert refused.stdout.strip().endswith("[visual-tabular]")
