from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from botocore.validate import validate_parameters
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports import snapshot_rules
from exports.models import AuditEvent, Dashboard, Export, Grant, RlsTagMapping
from exports.services import export_create
from exports.snapshot import (
    MASK,
    SnapshotRequestInvalid,
    _input_shape,
    build_request,
    load_catalog,
    parse_spec,
    redact,
    request_from_json,
    request_to_json,
)
from tests.factories import make_sales_catalog

EXPORT_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


def build(user, data, export_id=EXPORT_ID):
    return build_request(parse_spec(data), user=user, export_id=export_id)


def fields(result):
    return {(p.field, p.rule) for p in result.problems}


FULL_SPEC = {
    "dashboard": "sales",
    "files": [
        {"format": "PDF", "sheet": "summary"},
        {"format": "EXCEL", "visuals": ["order-lines", "revenue-pivot", "returns"]},
        {"format": "CSV", "visual": "top-products"},
    ],
    "parameters": {"Country": ["DE", "FR"], "MinQuantity": ["3"], "MinPrice": ["9.5"], "From": ["2026-01-31T09:00"]},
    "destination": "Finance bucket",
}


def test_builder_sends_exactly_what_alice_chose_with_her_server_side_identity(alice, sales):
    result = build(alice, FULL_SPEC)

    assert result.problems == []
    assert result.kwargs == {
        "AwsAccountId": "111122223333",
        "DashboardId": "sales",
        "SnapshotJobId": f"export-{EXPORT_ID}",
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}]}]},
        "SnapshotConfiguration": {
            "FileGroups": [
                {
                    "Files": [
                        {
                            "FormatType": "PDF",
                            "SheetSelections": [{"SheetId": "summary", "SelectionScope": "ALL_VISUALS"}],
                        }
                    ]
                },
                {
                    "Files": [
                        {
                            "FormatType": "EXCEL",
                            "SheetSelections": [
                                {
                                    "SheetId": "detail",
                                    "SelectionScope": "SELECTED_VISUALS",
                                    "VisualIds": ["order-lines", "returns"],
                                },
                                {
                                    "SheetId": "summary",
                                    "SelectionScope": "SELECTED_VISUALS",
                                    "VisualIds": ["revenue-pivot"],
                                },
                            ],
                        }
                    ]
                },
                {
                    "Files": [
                        {
                            "FormatType": "CSV",
                            "SheetSelections": [
                                {
                                    "SheetId": "summary",
                                    "SelectionScope": "SELECTED_VISUALS",
                                    "VisualIds": ["top-products"],
                                }
                            ],
                        }
                    ]
                },
            ],
            "Parameters": {
                "StringParameters": [{"Name": "Country", "Values": ["DE", "FR"]}],
                "IntegerParameters": [{"Name": "MinQuantity", "Values": [3]}],
                "DecimalParameters": [{"Name": "MinPrice", "Values": [9.5]}],
                "DateTimeParameters": [{"Name": "From", "Values": [datetime(2026, 1, 31, 9, 0, tzinfo=UTC)]}],
            },
            "DestinationConfiguration": {
                "S3Destinations": [
                    {
                        "BucketConfiguration": {
                            "BucketName": "finance-exports",
                            "BucketPrefix": "snapshots/",
                            "BucketRegion": "us-east-1",
                        }
                    }
                ]
            },
        },
    }


def test_bob_gets_his_own_tags_for_the_same_spec(bob, sales):
    tags = build(bob, FULL_SPEC).kwargs["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]
    assert tags == [{"Key": "region", "Value": "AMER"}]


def test_tags_key_is_left_out_when_neither_user_nor_dashboard_has_rls(carol, sales):
    sales.dashboard.rls_tag_keys = []
    sales.dashboard.save()
    Grant.objects.create(dashboard=sales.dashboard, user=carol)

    result = build(carol, {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]})

    assert result.problems == []
    assert result.kwargs["UserConfiguration"] == {"AnonymousUsers": [{}]}


def test_user_without_tags_on_an_rls_dashboard_is_told_why_and_gets_no_request(carol, sales):
    Grant.objects.create(dashboard=sales.dashboard, user=carol)

    result = build(carol, {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]})

    assert result.kwargs is None
    assert fields(result) == {("identity", "rls-identity")}
    assert "Ask an administrator" in result.problems[0].message


def test_dashboard_not_granted_is_refused_by_name(carol, sales):
    result = build(carol, {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]})
    assert fields(result) == {("dashboard", "dashboard-granted")}


def test_stale_dashboard_is_not_exportable(alice, sales):
    Dashboard.objects.filter(pk=sales.dashboard.pk).update(is_stale=True)
    result = build(alice, {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]})
    assert fields(result) == {("dashboard", "dashboard-granted")}


def test_stale_sheet_visual_and_parameter_are_refused(alice, sales):
    result = build(
        alice,
        {
            "dashboard": "sales",
            "files": [{"format": "PDF", "sheet": "old-sheet"}, {"format": "CSV", "visual": "gone-table"}],
            "parameters": {"Retired": ["x"]},
        },
    )
    assert fields(result) == {
        ("files[0].sheet", "sheet-exists"),
        ("files[1].visual", "visual-exists"),
        ("parameters.Retired", "parameter-declared"),
    }


def test_chart_in_csv_or_excel_is_refused_with_its_title(alice, sales):
    result = build(
        alice,
        {
            "dashboard": "sales",
            "files": [{"format": "CSV", "visual": "revenue-chart"}, {"format": "EXCEL", "visuals": ["margin-bars"]}],
        },
    )
    assert fields(result) == {("files[0].visual", "visual-tabular"), ("files[1].visuals", "visual-tabular")}
    assert "'Monthly revenue' is a line chart; CSV and Excel export only tables" in result.problems[0].message


def test_caps_are_named_in_business_words(alice, sales):
    files = [{"format": "CSV", "visual": "top-products"}] * 6 + [{"format": "PDF", "sheet": "summary"}] * 2
    result = build(alice, {"dashboard": "sales", "files": files})
    messages = {p.rule: p.message for p in result.problems}
    assert messages["file-group-count"] == "an export holds at most 6 files (this one has 8)"
    assert messages["csv-cap"] == "an export holds at most 5 CSV files (this one has 6)"
    assert messages["pdf-cap"] == "an export holds at most one PDF (this one has 2)"
    assert {p.field for p in result.problems} == {"files"}


def test_no_files_asks_for_one(alice, sales):
    result = build(alice, {"dashboard": "sales", "files": []})
    assert [str(p) for p in result.problems] == [
        "files: add at least one file: a PDF, an Excel workbook or a CSV [file-group-count]"
    ]


def test_excel_takes_at_most_five_tables(alice, sales):
    visuals = ["revenue-pivot", "top-products", "order-lines", "returns", "revenue-pivot", "top-products"]
    result = build(alice, {"dashboard": "sales", "files": [{"format": "EXCEL", "visuals": visuals}]})
    assert ("files[0].visuals", "excel-visual-cap") in fields(result)
    assert ("files[0].visuals", "excel-visual-once") in fields(result)


def test_missing_choices_are_asked_for_once_per_field(alice, sales):
    result = build(
        alice,
        {
            "dashboard": "sales",
            "files": [{"format": "PDF"}, {"format": "CSV"}, {"format": "EXCEL", "visuals": []}],
        },
    )
    assert [str(p) for p in result.problems] == [
        "files[0].sheet: choose the sheet to print as PDF [pdf-one-sheet]",
        "files[1].visual: choose the table or pivot table to save as CSV [csv-one-visual]",
        "files[2].visuals: choose 1 to 5 tables or pivot tables [excel-visual-ids]",
    ]


@pytest.mark.parametrize(
    ("name", "values", "rule"),
    [
        ("MinQuantity", ["3.5"], "parameter-value-type"),
        ("MinQuantity", ["1", "2"], "parameter-single-value"),
        ("MinPrice", ["cheap"], "parameter-value-type"),
        ("MinPrice", ["nan"], "parameter-value-type"),
        ("From", ["yesterday"], "parameter-value-type"),
        ("Country", [], "parameter-values"),
        ("Nope", ["1"], "parameter-declared"),
    ],
)
def test_parameter_values_must_fit_the_declaration(alice, sales, name, values, rule):
    result = build(
        alice, {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}], "parameters": {name: values}}
    )
    assert fields(result) == {(f"parameters.{name}", rule)}


def test_dates_without_a_time_and_with_an_offset_become_utc(alice, sales):
    spec = {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]}
    for text, expected in [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T10:00:00+02:00", datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ]:
        kwargs = build(alice, {**spec, "parameters": {"From": [text]}}).kwargs
        assert kwargs["SnapshotConfiguration"]["Parameters"]["DateTimeParameters"][0]["Values"] == [expected]


def test_destination_must_be_open_to_the_user_and_in_the_dashboards_region(alice, sales):
    spec = {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]}
    for name in ("Dublin bucket", "Somebody else's"):
        assert fields(build(alice, {**spec, "destination": name})) == {("destination", "destination-allowed")}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"dashboard": "sales", "files": [], "tags": {"region": "*"}}, ("tags", "server-side-only")),
        ({"dashboard": "sales", "files": [], "AwsAccountId": "999999999999"}, ("AwsAccountId", "server-side-only")),
        ({"dashboard": "sales", "files": [], "region": "eu-west-1"}, ("region", "server-side-only")),
        ({"dashboard": "sales", "files": [], "snapshot_job_id": "mine"}, ("snapshot_job_id", "server-side-only")),
        ({"dashboard": "sales", "files": [], "colour": "red"}, ("colour", "unknown-key")),
        (
            {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "s", "tags": []}]},
            ("files[0].tags", "server-side-only"),
        ),
        ({"dashboard": "sales", "files": [{"format": "CSV", "visuals": ["a"]}]}, ("files[0].visuals", "unknown-key")),
        ({"dashboard": "sales", "files": [{"format": "PNG"}]}, ("files[0].format", "format-type")),
        ({"files": []}, ("dashboard", "dashboard-required")),
        ({"dashboard": "sales", "parameters": {"Country": "DE"}}, ("parameters.Country", "parameter-values-list")),
    ],
)
def test_spec_shape_problems_are_refused_by_name(data, expected):
    with pytest.raises(SnapshotRequestInvalid) as raised:
        parse_spec(data)
    assert expected in {(p.field, p.rule) for p in raised.value.problems}


def test_a_spec_that_tries_to_set_tags_says_where_tags_come_from():
    with pytest.raises(SnapshotRequestInvalid) as raised:
        parse_spec({"dashboard": "sales", "files": [], "tags": [{"Key": "region", "Value": "*"}]})
    assert raised.value.messages == [
        "tags: 'tags' cannot be set in a spec: RLS tags come only from the administrators' mappings for your user "
        "[server-side-only]"
    ]


def test_request_json_round_trip_keeps_datetimes(alice, sales):
    kwargs = build(alice, FULL_SPEC).kwargs
    data = request_to_json(kwargs)
    assert data["SnapshotConfiguration"]["Parameters"]["DateTimeParameters"][0]["Values"] == [
        "2026-01-31T09:00:00+00:00"
    ]
    assert request_from_json(data) == kwargs


def test_redaction_masks_every_tag_value_and_nothing_else(alice, sales):
    data = request_to_json(build(alice, FULL_SPEC).kwargs)
    shown = redact(data)
    assert shown["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] == [
        {"Key": "region", "Value": MASK}
    ]
    assert "EMEA" not in str(shown)
    assert data["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"][0]["Value"] == "EMEA"
    shown["UserConfiguration"] = data["UserConfiguration"]
    assert shown == data


def test_export_create_records_the_export_and_its_request_event_with_the_identity(alice, sales):
    export = export_create(user=alice, spec=FULL_SPEC, ip_address="10.0.0.7")

    export.refresh_from_db()
    assert export.status == Export.Status.PENDING
    assert export.snapshot_job_id == f"export-{export.id}"
    assert export.request["SnapshotJobId"] == export.snapshot_job_id
    assert (export.aws_account_id, export.region, export.destination) == (
        "111122223333",
        "us-east-1",
        sales.destination,
    )
    assert export.spec == FULL_SPEC
    event = AuditEvent.objects.get(export=export)
    assert event.action == "export.requested"
    assert event.actor_username == "alice"
    assert event.ip_address == "10.0.0.7"
    assert event.data["request"] == export.request
    assert event.data["rls_identity"]["tags"] == {"region": "EMEA"}


def test_export_create_refuses_an_invalid_spec_and_creates_nothing(alice, sales):
    with pytest.raises(SnapshotRequestInvalid) as raised:
        export_create(user=alice, spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "revenue-chart"}]})
    assert [p.rule for p in raised.value.problems] == ["visual-tabular"]
    assert Export.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_tag_mapping_change_is_picked_up_at_build_time(alice, sales):
    RlsTagMapping.objects.create(user=alice, dashboard=sales.dashboard, tag_key="region", tag_value="EMEA,APAC")
    tags = build(alice, FULL_SPEC).kwargs["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]
    assert tags == [{"Key": "region", "Value": "EMEA,APAC"}]


# --- property: whatever the builder accepts, botocore and every rule accept too ---

TABULAR = ["revenue-pivot", "top-products", "order-lines", "returns"]
ALL_VISUALS = [*TABULAR, "revenue-chart", "margin-bars", "gone-table", "nowhere"]

file_specs = st.one_of(
    st.builds(lambda s: {"format": "PDF", "sheet": s}, st.sampled_from(["summary", "detail", "old-sheet", ""])),
    st.builds(lambda v: {"format": "CSV", "visual": v}, st.sampled_from(ALL_VISUALS)),
    st.builds(lambda v: {"format": "EXCEL", "visuals": v}, st.lists(st.sampled_from(ALL_VISUALS), max_size=7)),
)
parameter_values = st.dictionaries(
    st.sampled_from(["Country", "MinQuantity", "MinPrice", "From"]),
    st.lists(
        st.one_of(
            st.text(max_size=8),
            st.integers(-(2**70), 2**70).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(str),
            st.datetimes(min_value=datetime(1900, 1, 1)).map(lambda d: d.isoformat()),
        ),
        max_size=3,
    ),
)
specs = st.fixed_dictionaries(
    {"dashboard": st.just("sales"), "files": st.lists(file_specs, max_size=8)},
    optional={"parameters": parameter_values, "destination": st.sampled_from(["Finance bucket", "Dublin bucket"])},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=specs)
def test_every_request_the_builder_accepts_passes_botocore_and_every_rule(alice, sales, data):
    result = build(alice, data)
    if result.ok:
        validate_parameters(result.kwargs, _input_shape())
        assert snapshot_rules.check(result.kwargs, load_catalog(sales.dashboard).for_rules()) == []
        assert request_from_json(request_to_json(result.kwargs)) == result.kwargs
    else:
        assert result.kwargs is None
        assert all(p.field and p.rule and p.message for p in result.problems)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
spec_like = st.fixed_dictionaries(
    {},
    optional={
        "dashboard": json_values | st.just("sales"),
        "files": st.lists(
            st.fixed_dictionaries(
                {"format": st.sampled_from(["PDF", "EXCEL", "CSV", "png"])},
                optional={"sheet": json_values, "visual": json_values, "visuals": json_values},
            ),
            max_size=3,
        )
        | json_values,
        "parameters": json_values,
        "destination": json_values,
        "tags": json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=spec_like)
def test_any_json_spec_is_either_refused_with_named_problems_or_built(alice, sales, data):
    try:
        spec = parse_spec(data)
    except SnapshotRequestInvalid as invalid:
        assert invalid.problems
        assert all(p.field and p.rule and p.message for p in invalid.problems)
        return
    result = build_request(spec, user=alice, export_id=EXPORT_ID)
    assert result.ok or result.problems


def test_json_numbers_are_accepted_as_parameter_values(alice, sales):
    spec = {"dashboard": "sales", "files": [{"format": "PDF", "sheet": "summary"}]}
    kwargs = build(alice, {**spec, "parameters": {"MinQuantity": [2], "MinPrice": [2]}}).kwargs
    parameters = kwargs["SnapshotConfiguration"]["Parameters"]
    assert parameters["IntegerParameters"] == [{"Name": "MinQuantity", "Values": [2]}]
    assert parameters["DecimalParameters"] == [{"Name": "MinPrice", "Values": [2.0]}]


def test_an_export_made_from_a_spec_is_found_by_each_format_it_asks_for(client, alice, sales):
    export = export_create(user=alice, spec=FULL_SPEC)
    client.force_login(alice)

    def listed(fmt: str) -> bool:
        return f"export-{export.pk}" in client.get(reverse("exports:list"), {"format": fmt}).content.decode()

    assert [listed(fmt) for fmt in ("PDF", "EXCEL", "CSV")] == [True, True, True]
    other = export_create(user=alice, spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "returns"}]})
    assert f"export-{other.pk}" not in client.get(reverse("exports:list"), {"format": "PDF"}).content.decode()
