"""quicksight_local's TagRuleConfigurations over real HTTP: DescribeDataSet's shape and the rows a job renders."""

from __future__ import annotations

import csv
import io
import urllib.request

import pytest

from exports import aws
from quicksight_local.data import connect

ACCOUNT, DASHBOARD = "111122223333", "account-plans"


@pytest.fixture
def client(qs_local, settings):
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    return aws.quicksight_client()


def plan_rows(client, qs_local, job_id: str, tags: dict[str, str]) -> list[list[str]]:
    """The account-plans table as a CSV rendered for these tags (header first)."""
    client.start_dashboard_snapshot_job(
        AwsAccountId=ACCOUNT,
        DashboardId=DASHBOARD,
        SnapshotJobId=job_id,
        UserConfiguration={
            "AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        },
        SnapshotConfiguration={
            "FileGroups": [
                {
                    "Files": [
                        {
                            "FormatType": "CSV",
                            "SheetSelections": [
                                {"SheetId": "plans", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["plan-list"]}
                            ],
                        }
                    ]
                }
            ]
        },
    )
    assert qs_local.wait(DASHBOARD, job_id) == "COMPLETED"
    result = client.describe_dashboard_snapshot_job_result(
        AwsAccountId=ACCOUNT, DashboardId=DASHBOARD, SnapshotJobId=job_id
    )
    url = result["Result"]["AnonymousUsers"][0]["FileGroups"][0]["S3Results"][0]["S3Uri"]
    with urllib.request.urlopen(url) as response:
        return list(csv.reader(io.StringIO(response.read().decode("utf-8"))))


def sql_count(where: str, *params) -> int:
    with connect() as conn:
        return conn.execute(f"SELECT count(*) FROM account_plans WHERE {where}", list(params)).fetchone()[0]


def test_describe_data_set_gives_the_rule_groups(client):
    dataset = client.describe_data_set(AwsAccountId=ACCOUNT, DataSetId="account_plans")["DataSet"]

    assert dataset["RowLevelPermissionTagConfiguration"] == {
        "Status": "ENABLED",
        "TagRules": [
            {"TagKey": "region", "ColumnName": "region", "MatchAllValue": "*", "TagMultiValueDelimiter": ","},
            {"TagKey": "customer_segment", "ColumnName": "segment", "TagMultiValueDelimiter": ","},
            {"TagKey": "account_manager", "ColumnName": "account_manager"},
        ],
        "TagRuleConfigurations": [["region", "customer_segment"], ["account_manager"]],
    }


def test_a_user_meeting_one_group_gets_that_groups_rows(client, qs_local):
    rows = plan_rows(client, qs_local, "dave", {"region": "APAC", "customer_segment": "Enterprise"})

    header, body = rows[0], rows[1:]
    assert header == ["Account", "Region", "Segment", "Account manager", "Year", "Target"]
    assert len(body) == sql_count("region = ? AND segment = ?", "APAC", "Enterprise") > 0
    assert {(row[1], row[2]) for row in body} == {("APAC", "Enterprise")}


def test_groups_are_ored(client, qs_local):
    tags = {"region": "EMEA", "customer_segment": "SMB", "account_manager": "Chen Wei"}

    body = plan_rows(client, qs_local, "both", tags)[1:]

    expected = sql_count("(region = 'EMEA' AND segment = 'SMB') OR account_manager = 'Chen Wei'")
    assert len(body) == expected > sql_count("region = 'EMEA' AND segment = 'SMB'")
    assert all((row[1], row[2]) == ("EMEA", "SMB") or row[3] == "Chen Wei" for row in body)


def test_a_user_meeting_no_group_gets_no_rows(client, qs_local):
    # region alone is a key of the first group, not the whole group.
    assert plan_rows(client, qs_local, "erin", {"region": "AMER"})[1:] == []
