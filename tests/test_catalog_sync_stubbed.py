"""Catalog sync against botocore's Stubber: the exact requests, every page, and per-dashboard errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError

from exports import aws
from exports.models import Dashboard, DashboardParameter, Visual
from exports.rls import RlsIdentity, export_blocker
from exports.sync import sync_dashboards

ACCOUNT, REGION = "111122223333", "eu-west-1"


@pytest.fixture
def stub(settings, db):
    settings.QUICKSIGHT_ENDPOINT_URL = "aws"
    settings.AWS_LOCAL_CREDENTIALS = ("AKIATESTTESTTESTTEST", "secret")
    aws.reset_clients()
    client = aws.quicksight_client(REGION)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.reset_clients()


def summary(dashboard_id: str, version: int = 1) -> dict:
    return {
        "Arn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dashboard/{dashboard_id}",
        "DashboardId": dashboard_id,
        "Name": dashboard_id.title(),
        "PublishedVersionNumber": version,
    }


def definition(dashboard_id: str, *, data_sets=(), sheets=None, parameters=()) -> dict:
    return {
        "DashboardId": dashboard_id,
        "Name": dashboard_id.title(),
        "Status": 200,
        "Definition": {
            "DataSetIdentifierDeclarations": [
                {"Identifier": d, "DataSetArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dataset/{d}"} for d in data_sets
            ],
            "Sheets": sheets
            if sheets is not None
            else [{"SheetId": "main", "Name": "Main", "Visuals": [table("t1", "Table one")]}],
            "ParameterDeclarations": list(parameters),
        },
    }


def table(visual_id: str, title: str, kind: str = "TableVisual") -> dict:
    return {kind: {"VisualId": visual_id, "Title": {"FormatText": {"PlainText": title}}}}


def expect_list(stub, *pages):
    for index, page in enumerate(pages):
        params = {"AwsAccountId": ACCOUNT}
        if index:
            params["NextToken"] = f"page-{index}"
        response = {"DashboardSummaryList": page, "Status": 200}
        if index + 1 < len(pages):
            response["NextToken"] = f"page-{index + 1}"
        stub.add_response("list_dashboards", response, params)


def expect_definition(stub, dashboard_id: str, version: int = 1, **kwargs):
    stub.add_response(
        "describe_dashboard_definition",
        definition(dashboard_id, **kwargs),
        {"AwsAccountId": ACCOUNT, "DashboardId": dashboard_id, "VersionNumber": version},
    )


def expect_data_set(stub, data_set_id: str, tag_rules=(), status="ENABLED"):
    data_set = {"DataSetId": data_set_id, "Name": data_set_id}
    if tag_rules:
        data_set["RowLevelPermissionTagConfiguration"] = {
            "Status": status,
            "TagRules": [{"TagKey": key, "ColumnName": key} for key in tag_rules],
        }
    stub.add_response(
        "describe_data_set", {"DataSet": data_set, "Status": 200}, {"AwsAccountId": ACCOUNT, "DataSetId": data_set_id}
    )


def sync(**kwargs):
    return sync_dashboards(account_id=ACCOUNT, region=REGION, **kwargs)


def test_every_page_of_list_dashboards_is_read(stub):
    expect_list(stub, [summary("a")], [summary("b")], [summary("c")])
    for dashboard_id in "abc":
        expect_definition(stub, dashboard_id)

    report = sync()

    assert [d.dashboard_id for d in report.dashboards] == ["a", "b", "c"]
    assert set(Dashboard.objects.values_list("dashboard_id", flat=True)) == {"a", "b", "c"}


def test_definition_is_asked_for_the_published_version(stub):
    expect_list(stub, [summary("a", version=7)])
    expect_definition(stub, "a", version=7)

    sync()

    assert Dashboard.objects.get(dashboard_id="a").version_number == 7


def test_rls_tag_keys_come_from_enabled_tag_rules_of_every_data_set(stub):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders", "people", "legacy"])
    expect_data_set(stub, "orders", ["region"])
    expect_data_set(stub, "people", ["region", "department"])
    expect_data_set(stub, "legacy", ["cost_center"], status="DISABLED")

    sync()

    assert Dashboard.objects.get(dashboard_id="a").rls_tag_keys == ["department", "region"]


def test_parameters_keep_their_type_multiplicity_and_static_defaults(stub):
    expect_list(stub, [summary("a")])
    expect_definition(
        stub,
        "a",
        parameters=[
            {"StringParameterDeclaration": {"Name": "Country", "ParameterValueType": "MULTI_VALUED"}},
            {
                "IntegerParameterDeclaration": {
                    "Name": "Top",
                    "ParameterValueType": "SINGLE_VALUED",
                    "DefaultValues": {"StaticValues": [10]},
                }
            },
            {"DecimalParameterDeclaration": {"Name": "Margin", "ParameterValueType": "SINGLE_VALUED"}},
            {
                "DateTimeParameterDeclaration": {
                    "Name": "From",
                    "DefaultValues": {"StaticValues": [datetime(2026, 1, 1, tzinfo=UTC)]},
                }
            },
        ],
    )

    sync()

    assert {p.name: (p.param_type, p.multi_valued, p.default_values) for p in DashboardParameter.objects.all()} == {
        "Country": ("STRING", True, []),
        "Top": ("INTEGER", False, [10]),
        "Margin": ("DECIMAL", False, []),
        "From": ("DATETIME", False, ["2026-01-01T00:00:00+00:00"]),
    }


def test_charts_are_kept_but_only_tables_and_pivots_are_tabular(stub):
    expect_list(stub, [summary("a")])
    sheet = {
        "SheetId": "s",
        "Name": "S",
        "Visuals": [
            table("t", "Rows"),
            table("p", "Pivot", "PivotTableVisual"),
            table("b", "Bars", "BarChartVisual"),
            {"KPIVisual": {"VisualId": "k", "Title": {"FormatText": {"RichText": "<visual-title>Big <b>KPI</b>"}}}},
        ],
    }
    expect_definition(stub, "a", sheets=[sheet])

    sync()

    visuals = {v.visual_id: (v.title, v.is_tabular) for v in Visual.objects.all()}
    assert visuals == {"t": ("Rows", True), "p": ("Pivot", True), "b": ("Bars", False), "k": ("Big KPI", False)}


def test_access_denied_on_one_dashboard_does_not_stop_the_others(stub):
    expect_list(stub, [summary("secret"), summary("open")])
    stub.add_client_error(
        "describe_dashboard_definition", "AccessDeniedException", "not authorized", http_status_code=401
    )
    expect_definition(stub, "open")

    report = sync()

    failed, done = report.dashboards
    assert (failed.dashboard_id, failed.error_code, failed.error) == (
        "secret",
        "AccessDeniedException",
        "not authorized",
    )
    assert done.ok and done.added == 3
    assert not report.ok
    assert list(Dashboard.objects.values_list("dashboard_id", flat=True)) == ["open"]
    assert "secret: FAILED AccessDeniedException: not authorized" in report.lines()


def test_throttling_is_reported_as_temporary(stub, settings):
    expect_list(stub, [summary("a")])
    stub.add_client_error("describe_dashboard_definition", "ThrottlingException", "Rate exceeded", http_status_code=429)

    report = sync()

    assert report.dashboards[0].error_code == "ThrottlingException"
    assert "temporary: run the sync again later" in report.dashboards[0].error


PLANS_RLS = {
    "Status": "ENABLED",
    "TagRules": [
        {"TagKey": "region", "ColumnName": "region", "MatchAllValue": "*", "TagMultiValueDelimiter": ","},
        {"TagKey": "segment", "ColumnName": "segment"},
        {"TagKey": "manager", "ColumnName": "account_manager"},
    ],
    "TagRuleConfigurations": [["region", "segment"], ["manager"]],
}


def expect_raw_data_set(stub, data_set_id: str, rls: dict | None):
    data_set = {"DataSetId": data_set_id, "Name": data_set_id.title()}
    if rls is not None:
        data_set["RowLevelPermissionTagConfiguration"] = rls
    stub.add_response(
        "describe_data_set", {"DataSet": data_set, "Status": 200}, {"AwsAccountId": ACCOUNT, "DataSetId": data_set_id}
    )


def blocker_for(user_tags: dict[str, str], dashboard_id: str = "a") -> str | None:
    return export_blocker(RlsIdentity(tags=user_tags), Dashboard.objects.get(dashboard_id=dashboard_id))


def test_each_data_set_keeps_its_whole_rls_configuration(stub):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders", "plans", "legacy"])
    expect_data_set(stub, "orders", ["region"])
    expect_raw_data_set(stub, "plans", PLANS_RLS)
    expect_raw_data_set(stub, "legacy", {"Status": "DISABLED", "TagRules": [{"TagKey": "cost", "ColumnName": "c"}]})

    sync()

    dashboard = Dashboard.objects.get(dashboard_id="a")
    assert [(d["data_set_id"], d["rls"], d["error_code"]) for d in dashboard.data_sets] == [
        ("orders", {"Status": "ENABLED", "TagRules": [{"TagKey": "region", "ColumnName": "region"}]}, ""),
        ("plans", PLANS_RLS, ""),
        ("legacy", {"Status": "DISABLED", "TagRules": [{"TagKey": "cost", "ColumnName": "c"}]}, ""),
    ]
    assert dashboard.rls_tag_keys == ["manager", "region", "segment"]


def test_every_data_set_must_let_the_user_see_rows(stub):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders", "plans"])
    expect_data_set(stub, "orders", ["region"])
    expect_raw_data_set(stub, "plans", PLANS_RLS)
    sync()

    # region alone used to pass (one key shared with the dashboard); the plans' visuals came back empty.
    assert blocker_for({"region": "EMEA"}) == (
        "A shows only the rows your row-level security tags allow (manager, region, segment). "
        "Its data set “Plans” needs the tags region and segment, or manager; you have no value for segment, manager. "
        "Ask an administrator to map your tags."
    )
    assert blocker_for({"region": "EMEA", "segment": "SMB"}) is None
    # manager meets the plans' second group, but the orders need region.
    assert "Its data set “orders” needs the tags region; you have no value for region." in blocker_for(
        {"manager": "Chen Wei"}
    )
    assert blocker_for({"region": "*", "manager": "Chen Wei"}) is None


def test_disabled_rules_are_not_applied(stub):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["plans"])
    expect_raw_data_set(stub, "plans", {**PLANS_RLS, "Status": "DISABLED"})

    sync()

    assert Dashboard.objects.get(dashboard_id="a").rls_tag_keys == []
    assert blocker_for({}) is None


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("AccessDeniedException", "User is not authorized to describe this data set", 401),
        ("InvalidParameterValueException", "The data set type is not supported through API yet", 400),
    ],
)
def test_a_data_set_quicksight_will_not_describe_blocks_exports_but_the_dashboard_syncs(stub, code, message, status):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders", "uploaded"])
    expect_data_set(stub, "orders", ["region"])
    stub.add_client_error("describe_data_set", code, message, http_status_code=status)

    report = sync()

    [result] = report.dashboards
    assert result.ok and result.added == 3  # dashboard, sheet, visual
    assert result.problems == [f"data set uploaded: {code}: {message}"]
    assert not report.ok and f"; exports blocked: data set uploaded: {code}: {message}" in result.line()
    assert Visual.objects.get(visual_id="t1").sheet.dashboard.dashboard_id == "a"
    # Every user is blocked, whatever their tags: the data set's rules are unknown.
    assert blocker_for({"region": "EMEA"}) == (
        f"A cannot be exported for now: QuickSight did not let the portal read the row-level security rules of "
        f"its data set “uploaded” ({code}). An administrator must fix that and sync again."
    )

    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders", "uploaded"])
    expect_data_set(stub, "orders", ["region"])
    expect_data_set(stub, "uploaded")

    assert sync().ok
    assert blocker_for({"region": "EMEA"}) is None


def test_a_throttled_data_set_fails_its_dashboard_and_keeps_the_last_rules(stub):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["orders"])
    expect_data_set(stub, "orders", ["region"])
    sync()
    expect_list(stub, [summary("a", version=2)])
    expect_definition(stub, "a", version=2, data_sets=["orders"], sheets=[])
    stub.add_client_error("describe_data_set", "ThrottlingException", "Rate exceeded", http_status_code=429)

    report = sync()

    assert report.dashboards[0].error_code == "ThrottlingException"
    dashboard = Dashboard.objects.get(dashboard_id="a")
    # A temporary refusal says nothing about the rules: the last ones read stay, nothing new is written.
    assert (dashboard.version_number, dashboard.rls_tag_keys) == (1, ["region"])
    assert not Visual.objects.get(visual_id="t1").is_stale


@pytest.mark.parametrize(
    ("status", "errors", "expected"),
    [
        (
            "CREATION_FAILED",
            [{"Type": "DATA_SET_NOT_FOUND", "Message": "Data set orders was deleted"}],
            "QuickSight reports this version as CREATION_FAILED: DATA_SET_NOT_FOUND: Data set orders was deleted",
        ),
        ("UPDATE_FAILED", [], "QuickSight reports this version as UPDATE_FAILED"),
        (
            "CREATION_SUCCESSFUL",
            [{"Type": "PARAMETER_NOT_FOUND", "Message": "Parameter Top is not declared"}],
            "QuickSight reports this version as CREATION_SUCCESSFUL: "
            "PARAMETER_NOT_FOUND: Parameter Top is not declared",
        ),
    ],
)
def test_a_definition_with_errors_is_reported_not_read_as_every_sheet_gone(stub, status, errors, expected):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a")
    sync()
    expect_list(stub, [summary("a", version=2)])
    answer = {**definition("a", sheets=[]), "ResourceStatus": status}
    if errors:
        answer["Errors"] = errors  # the model wants at least one when the list is there
    answer["Definition"].pop("Sheets")
    stub.add_response(
        "describe_dashboard_definition", answer, {"AwsAccountId": ACCOUNT, "DashboardId": "a", "VersionNumber": 2}
    )

    report = sync()

    [result] = report.dashboards
    assert (result.error_code, result.error) == ("DashboardVersionFailed", expected)
    assert f"a: FAILED DashboardVersionFailed: {expected}" in report.lines()
    assert not Visual.objects.get(visual_id="t1").is_stale
    assert Dashboard.objects.get(dashboard_id="a").version_number == 1


def test_a_version_still_being_built_is_temporary(stub):
    expect_list(stub, [summary("a")])
    stub.add_response(
        "describe_dashboard_definition",
        {"DashboardId": "a", "ResourceStatus": "CREATION_IN_PROGRESS", "Status": 200},
        {"AwsAccountId": ACCOUNT, "DashboardId": "a", "VersionNumber": 1},
    )

    report = sync()

    assert report.dashboards[0].error_code == "DashboardVersionNotReady"
    assert "temporary: run the sync again later" in report.dashboards[0].error
    assert not Dashboard.objects.exists()


def test_list_dashboards_refused_is_one_failure(stub):
    stub.add_client_error("list_dashboards", "AccessDeniedException", "no", http_status_code=401)

    report = sync()

    assert [(d.dashboard_id, d.error_code) for d in report.dashboards] == [("ListDashboards", "AccessDeniedException")]


def test_an_unknown_dashboard_id_is_reported(stub):
    expect_list(stub, [summary("a")])

    report = sync(dashboard_id="nope")

    assert report.dashboards[0].error_code == "ResourceNotFoundException"
    assert not Dashboard.objects.exists()


def test_the_command_exits_non_zero_when_a_data_set_could_not_be_read(stub, capsys):
    expect_list(stub, [summary("a")])
    expect_definition(stub, "a", data_sets=["uploaded"])
    stub.add_client_error("describe_data_set", "AccessDeniedException", "not authorized", http_status_code=401)

    with pytest.raises(
        CommandError, match="1 dashboard\\(s\\) synced with data sets whose RLS rules could not be read"
    ):
        call_command("sync_dashboards", "--account", ACCOUNT, "--region", REGION)

    out = capsys.readouterr().out
    assert (
        "a: 3 added, 0 changed, 0 unchanged, 0 stale; exports blocked: data set uploaded: AccessDeniedException" in out
    )
    assert "1 dashboard(s) in 111122223333/eu-west-1: 3 added, 0 changed, 0 unchanged, 0 stale, 0 failed, 1 with" in out
