"""Export.formats for exports stored before it existed: filled from each stored request."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("exports", "0009_api_tokens")
AFTER = ("exports", "0010_export_formats")


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))
    return executor.loader.project_state(list(targets)).apps


@pytest.fixture
def back_to_latest():
    """Whatever the test migrates to, the tests after it find the whole schema again."""
    yield
    executor = MigrationExecutor(connection)
    migrate(*executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_exports_stored_before_the_field_are_found_by_their_formats(back_to_latest):
    old = migrate(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="olga")
    dashboard = old.get_model("exports", "Dashboard").objects.create(
        aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="D"
    )
    groups = [{"Files": [{"FormatType": fmt, "SheetSelections": []}]} for fmt in ("PDF", "CSV", "CSV")]
    Export = old.get_model("exports", "Export")
    for job_id, request in (("with-files", {"SnapshotConfiguration": {"FileGroups": groups}}), ("empty", {})):
        Export.objects.create(
            id=uuid.uuid4(),
            user=user,
            dashboard=dashboard,
            spec={},
            request=request,
            aws_account_id="111122223333",
            region="us-east-1",
            snapshot_job_id=job_id,
        )

    new = migrate(AFTER)

    formats = dict(new.get_model("exports", "Export").objects.values_list("snapshot_job_id", "formats"))
    assert formats == {"with-files": "PDF CSV CSV", "empty": ""}
