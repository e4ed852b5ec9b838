"""Each rule of StartDashboardSnapshotJob, once satisfied and once broken."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exports import snapshot_rules
from exports.snapshot_rules import DashboardCatalog, ParameterDeclaration, check

CATALOG = DashboardCatalog(
    region="us-east-1",
    sheets={
        "summary": {"pivot": "PivotTableVisual", "chart": "BarChartVisual", "table": "TableVisual"},
        "detail": {"lines": "TableVisual", "returns": "TableVisual", "more": "TableVisual"},
        "extra": {"t1": "TableVisual"},
    },
    parameters={
        "Country": ParameterDeclaration("STRING", multi_valued=True),
        "Qty": ParameterDeclaration("INTEGER"),
        "Price": ParameterDeclaration("DECIMAL"),
        "From": ParameterDeclaration("DATETIME"),
    },
)


def pdf(sheet="summary"):
    return {"Files": [{"FormatType": "PDF", "SheetSelections": [{"SheetId": sheet, "SelectionScope": "ALL_VISUALS"}]}]}


def csv(visual="table", sheet="summary"):
    selection = {"SheetId": sheet, "SelectionScope": "SELECTED_VISUALS", "VisualIds": [visual]}
    return {"Files": [{"FormatType": "CSV", "SheetSelections": [selection]}]}


def excel(*selections):
    selections = selections or (("detail", ["lines", "returns"]),)
    return {
        "Files": [
            {
                "FormatType": "EXCEL",
                "SheetSelections": [
                    {"SheetId": s, "SelectionScope": "SELECTED_VISUALS", "VisualIds": list(v)} for s, v in selections
                ],
            }
        ]
    }


def valid_request():
    return {
        "AwsAccountId": "111122223333",
        "DashboardId": "sales",
        "SnapshotJobId": "export-1",
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}]}]},
        "SnapshotConfiguration": {
            "FileGroups": [pdf(), excel(), csv()],
            "Parameters": {
                "StringParameters": [{"Name": "Country", "Values": ["DE", "FR"]}],
                "IntegerParameters": [{"Name": "Qty", "Values": [3]}],
                "DecimalParameters": [{"Name": "Price", "Values": [9.5]}],
                "DateTimeParameters": [{"Name": "From", "Values": [datetime(2026, 1, 1, tzinfo=UTC)]}],
            },
            "DestinationConfiguration": {
                "S3Destinations": [
                    {"BucketConfiguration": {"BucketName": "b", "BucketPrefix": "p/", "BucketRegion": "us-east-1"}}
                ]
            },
        },
    }


def rules_broken(change) -> set[str]:
    request = valid_request()
    change(request)
    return {violation.rule for violation in check(request, CATALOG)}


def groups(request):
    return request["SnapshotConfiguration"]["FileGroups"]


def tags(request):
    return request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]


def params(request, name):
    return request["SnapshotConfiguration"]["Parameters"][name]


def bucket(request):
    return request["SnapshotConfiguration"]["DestinationConfiguration"]["S3Destinations"][0]["BucketConfiguration"]


def test_the_valid_request_breaks_no_rule():
    assert check(valid_request(), CATALOG) == []


def test_minimal_request_without_tags_parameters_or_destination_is_valid():
    request = valid_request()
    request["UserConfiguration"] = {"AnonymousUsers": [{}]}
    del request["SnapshotConfiguration"]["Parameters"]
    del request["SnapshotConfiguration"]["DestinationConfiguration"]
    assert check(request, CATALOG) == []


# (rule, a change that keeps it satisfied, a change that breaks it)
CASES = [
    ("account-id-format", lambda r: r.update(AwsAccountId="000000000001"), lambda r: r.update(AwsAccountId="12345")),
    ("id-format", lambda r: r.update(SnapshotJobId="a_b-1"), lambda r: r.update(SnapshotJobId="has space")),
    ("id-format", lambda r: r.update(DashboardId="x" * 512), lambda r: r.update(DashboardId="")),
    ("user-configuration-required", lambda r: None, lambda r: r.pop("UserConfiguration")),
    (
        "one-anonymous-user",
        lambda r: None,
        lambda r: r["UserConfiguration"]["AnonymousUsers"].append({}),
    ),
    (
        "rls-tag-count",
        lambda r: tags(r).extend({"Key": f"k{i}", "Value": "v"} for i in range(49)),
        lambda r: tags(r).extend({"Key": f"k{i}", "Value": "v"} for i in range(50)),
    ),
    ("rls-tag-count", lambda r: None, lambda r: tags(r).clear()),
    ("rls-tag-key-length", lambda r: tags(r)[0].update(Key="k" * 128), lambda r: tags(r)[0].update(Key="k" * 129)),
    ("rls-tag-value-length", lambda r: tags(r)[0].update(Value="v" * 256), lambda r: tags(r)[0].update(Value="")),
    (
        "rls-tag-key-unique",
        lambda r: tags(r).append({"Key": "team", "Value": "x"}),
        lambda r: tags(r).append({"Key": "region", "Value": "AMER"}),
    ),
    (
        "file-group-count",
        lambda r: groups(r).extend([csv("pivot"), csv("lines", "detail"), csv("returns", "detail")]),
        lambda r: groups(r).extend(
            [csv("pivot"), csv("lines", "detail"), csv("returns", "detail"), csv("more", "detail")]
        ),
    ),
    ("file-group-count", lambda r: groups(r)[1:].clear(), lambda r: groups(r).clear()),
    (
        "one-file-per-group",
        lambda r: None,
        lambda r: groups(r)[0]["Files"].append(pdf("detail")["Files"][0]),
    ),
    ("format-type", lambda r: None, lambda r: groups(r)[0]["Files"][0].update(FormatType="PNG")),
    ("pdf-cap", lambda r: None, lambda r: groups(r).append(pdf("detail"))),
    ("excel-cap", lambda r: None, lambda r: groups(r).append(excel(("summary", ["table"])))),
    (
        "csv-cap",
        lambda r: groups(r).extend([csv("pivot"), csv("lines", "detail"), csv("returns", "detail")]),
        lambda r: r["SnapshotConfiguration"].update(FileGroups=[csv("table")] * 6),
    ),
    (
        "pdf-one-sheet",
        lambda r: None,
        lambda r: groups(r)[0]["Files"][0]["SheetSelections"].append(
            {"SheetId": "detail", "SelectionScope": "ALL_VISUALS"}
        ),
    ),
    (
        "pdf-all-visuals",
        lambda r: None,
        lambda r: groups(r)[0]["Files"][0]["SheetSelections"][0].update(SelectionScope="SELECTED_VISUALS"),
    ),
    (
        "pdf-no-visual-ids",
        lambda r: groups(r)[0]["Files"][0]["SheetSelections"][0].update(VisualIds=[]),
        lambda r: groups(r)[0]["Files"][0]["SheetSelections"][0].update(VisualIds=["table"]),
    ),
    (
        "csv-one-sheet",
        lambda r: None,
        lambda r: groups(r)[2]["Files"][0]["SheetSelections"].append(
            {"SheetId": "detail", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["lines"]}
        ),
    ),
    (
        "csv-selected-visuals",
        lambda r: None,
        lambda r: groups(r)[2]["Files"][0]["SheetSelections"][0].update(SelectionScope="ALL_VISUALS"),
    ),
    (
        "csv-one-visual",
        lambda r: None,
        lambda r: groups(r)[2]["Files"][0]["SheetSelections"][0].update(VisualIds=["table", "pivot"]),
    ),
    (
        "excel-sheet-count",
        lambda r: groups(r).__setitem__(1, excel(("summary", ["table"]), ("detail", ["lines"]), ("extra", ["t1"]))),
        lambda r: groups(r)[1]["Files"][0].update(SheetSelections=[]),
    ),
    (
        "excel-selected-visuals",
        lambda r: None,
        lambda r: groups(r)[1]["Files"][0]["SheetSelections"][0].update(SelectionScope="ALL_VISUALS"),
    ),
    (
        "excel-visual-ids",
        lambda r: None,
        lambda r: groups(r).__setitem__(1, excel(("summary", ["table"]), ("detail", []))),
    ),
    (
        "excel-visual-cap",
        lambda r: groups(r).__setitem__(
            1, excel(("summary", ["table", "pivot"]), ("detail", ["lines", "returns", "more"]))
        ),
        lambda r: groups(r).__setitem__(
            1, excel(("summary", ["table", "pivot"]), ("detail", ["lines", "returns", "more"]), ("extra", ["t1"]))
        ),
    ),
    (
        "excel-sheet-once",
        lambda r: None,
        lambda r: groups(r).__setitem__(1, excel(("detail", ["lines"]), ("detail", ["returns"]))),
    ),
    (
        "excel-visual-once",
        lambda r: None,
        lambda r: groups(r).__setitem__(1, excel(("detail", ["lines", "lines"]))),
    ),
    ("sheet-exists", lambda r: None, lambda r: groups(r).__setitem__(0, pdf("nope"))),
    ("visual-exists", lambda r: None, lambda r: groups(r).__setitem__(2, csv("lines", "summary"))),
    (
        "visual-tabular",
        lambda r: groups(r).__setitem__(2, csv("pivot")),
        lambda r: groups(r).__setitem__(2, csv("chart")),
    ),
    (
        "parameter-count",
        lambda r: None,
        lambda r: params(r, "StringParameters").extend({"Name": "Country", "Values": ["x"]} for _ in range(100)),
    ),
    (
        "parameter-declared",
        lambda r: None,
        lambda r: params(r, "StringParameters").append({"Name": "Colour", "Values": ["red"]}),
    ),
    (
        "parameter-type",
        lambda r: None,
        lambda r: params(r, "StringParameters").append({"Name": "Qty", "Values": ["3"]}),
    ),
    ("parameter-values", lambda r: None, lambda r: params(r, "IntegerParameters")[0].update(Values=[])),
    (
        "parameter-single-value",
        lambda r: params(r, "StringParameters")[0].update(Values=["DE", "FR", "IT"]),
        lambda r: params(r, "IntegerParameters")[0].update(Values=[1, 2]),
    ),
    (
        "parameter-value-type",
        lambda r: params(r, "DecimalParameters")[0].update(Values=[3]),
        lambda r: params(r, "IntegerParameters")[0].update(Values=[True]),
    ),
    (
        "parameter-value-type",
        lambda r: None,
        lambda r: params(r, "DateTimeParameters")[0].update(Values=["2026-01-01"]),
    ),
    (
        "parameter-once",
        lambda r: None,
        lambda r: params(r, "StringParameters").append({"Name": "Country", "Values": ["IT"]}),
    ),
    (
        "one-destination",
        lambda r: None,
        lambda r: r["SnapshotConfiguration"]["DestinationConfiguration"]["S3Destinations"].append(
            copy.deepcopy(r["SnapshotConfiguration"]["DestinationConfiguration"]["S3Destinations"][0])
        ),
    ),
    ("bucket-field-required", lambda r: None, lambda r: bucket(r).pop("BucketName")),
    (
        "bucket-field-required",
        lambda r: bucket(r).update(BucketPrefix="x"),
        lambda r: bucket(r).update(BucketPrefix=" "),
    ),
    ("bucket-region", lambda r: None, lambda r: bucket(r).update(BucketRegion="eu-west-1")),
]


@pytest.mark.parametrize(("rule", "keep", "_break"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_holds_for_a_valid_request(rule, keep, _break):
    assert rule not in rules_broken(keep)


@pytest.mark.parametrize(("rule", "_keep", "breaks"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_reports_a_broken_request(rule, _keep, breaks):
    assert rule in rules_broken(breaks)


def test_every_rule_has_a_case():
    source = Path(snapshot_rules.__file__).read_text()
    declared = set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', source)) | {"pdf-cap", "excel-cap", "csv-cap"}
    assert declared - {case[0] for case in CASES} == set()


def test_violation_names_field_rule_and_reason():
    request = valid_request()
    groups(request)[2] = csv("chart")
    [violation] = check(request, CATALOG)
    assert str(violation) == (
        "SnapshotConfiguration.FileGroups[2].Files[0].SheetSelections[0].VisualIds[0]: visual 'chart' is a "
        "BarChartVisual; CSV and Excel take only tables and pivot tables [visual-tabular]"
    )


def test_violation_carries_the_values_that_break_the_rule():
    request = valid_request()
    groups(request)[2] = csv("chart")
    [violation] = check(request, CATALOG)
    assert violation.values == {"visual_id": "chart", "visual_type": "BarChartVisual"}


@pytest.mark.parametrize(("rule", "_keep", "breaks"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_broken_rule_is_worded_from_its_own_values(rule, _keep, breaks):
    request = valid_request()
    breaks(request)
    for violation in check(request, CATALOG):
        # Every placeholder of the rule's message is filled from the violation's values (no KeyError).
        assert violation.message and "{" not in violation.message


def test_unknown_visual_is_flagged_not_found():
    request = valid_request()
    groups(request)[2] = csv("ghost")
    [violation] = check(request, CATALOG)
    assert violation.not_found


def test_malformed_input_is_reported_not_raised():
    for junk in (
        {},
        {"SnapshotConfiguration": "x"},
        {"SnapshotConfiguration": {"FileGroups": [1, None, {"Files": "x"}]}},
    ):
        assert check(junk, CATALOG)
