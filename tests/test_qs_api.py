"""quicksight_local's catalog operations, authentication and request rules, over real HTTP with boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from exports import aws
from quicksight_local.auth import access_keys
from tests.services import ROOT, free_port, port_open

ACCOUNT = "111122223333"


@pytest.fixture
def client(qs_local, settings):
    """The portal's own QuickSight client, without retries so every error surfaces."""
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    return aws.quicksight_client()


def _client_with(settings, key_id: str, secret: str):
    settings.AWS_LOCAL_CREDENTIALS = (key_id, secret)
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    return aws.quicksight_client()


def csv_file(sheet: str = "catalog", visual: str = "product-list") -> dict:
    """One CSV file group; by default the 24-row product list, so that jobs finish fast."""
    return {
        "FormatType": "CSV",
        "SheetSelections": [{"SheetId": sheet, "SelectionScope": "SELECTED_VISUALS", "VisualIds": [visual]}],
    }


def start_kwargs(job_id: str = "job-1", files: list[dict] | None = None, **configuration) -> dict:
    return {
        "AwsAccountId": ACCOUNT,
        "DashboardId": "sales-overview",
        "SnapshotJobId": job_id,
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}]}]},
        "SnapshotConfiguration": {"FileGroups": [{"Files": [f]} for f in files or [csv_file()]], **configuration},
    }


# --- catalog ---


def test_list_dashboards_pages_through_the_catalog(client):
    first = client.list_dashboards(AwsAccountId=ACCOUNT, MaxResults=1)
    second = client.list_dashboards(AwsAccountId=ACCOUNT, MaxResults=1, NextToken=first["NextToken"])

    assert [d["DashboardId"] for d in first["DashboardSummaryList"]] == ["sales-overview"]
    assert [d["DashboardId"] for d in second["DashboardSummaryList"]] == ["support-ops"]
    assert second["NextToken"]
    assert first["DashboardSummaryList"][0]["Arn"] == f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/sales-overview"
    assert first["Status"] == 200 and first["RequestId"]


def test_boto3_paginator_lists_every_dashboard(client):
    pages = client.get_paginator("list_dashboards").paginate(AwsAccountId=ACCOUNT, PaginationConfig={"PageSize": 1})
    names = [d["Name"] for page in pages for d in page["DashboardSummaryList"]]
    assert names == ["Sales overview", "Support operations", "Account plans"]


def test_a_forged_next_token_is_refused(client):
    with pytest.raises(client.exceptions.InvalidNextTokenException):
        client.list_dashboards(AwsAccountId=ACCOUNT, NextToken="not-a-token")


def test_an_account_id_that_is_not_12_digits_names_the_rule(client):
    with pytest.raises(client.exceptions.InvalidParameterValueException) as raised:
        client.list_dashboards(AwsAccountId="11112222333x")
    assert "[account-id-format]" in raised.value.response["Error"]["Message"]


def test_describe_dashboard_gives_version_and_sheets(client):
    dashboard = client.describe_dashboard(AwsAccountId=ACCOUNT, DashboardId="sales-overview")["Dashboard"]

    assert dashboard["Name"] == "Sales overview"
    assert dashboard["Version"]["VersionNumber"] == 3
    assert dashboard["Version"]["Status"] == "CREATION_SUCCESSFUL"
    assert [s["SheetId"] for s in dashboard["Version"]["Sheets"]] == ["summary", "orders", "catalog"]
    assert dashboard["CreatedTime"].year == 2026


def test_describe_dashboard_definition_gives_visual_types_titles_and_parameters(client):
    response = client.describe_dashboard_definition(AwsAccountId=ACCOUNT, DashboardId="sales-overview")
    definition = response["Definition"]

    summary = definition["Sheets"][0]
    assert summary["SheetId"] == "summary" and summary["Name"] == "Summary"
    visuals = [
        (kind, body["VisualId"], body["Title"]["FormatText"]["PlainText"])
        for v in summary["Visuals"]
        for kind, body in v.items()
    ]
    assert visuals == [
        ("PivotTableVisual", "revenue-by-region", "Revenue by region and channel"),
        ("LineChartVisual", "monthly-revenue", "Monthly revenue"),
        ("BarChartVisual", "revenue-by-product", "Revenue by product"),
    ]
    declarations = {
        body["Name"]: (kind, body.get("ParameterValueType"), body.get("DefaultValues", {}).get("StaticValues"))
        for declaration in definition["ParameterDeclarations"]
        for kind, body in declaration.items()
    }
    assert declarations == {
        "Country": ("StringParameterDeclaration", "MULTI_VALUED", None),
        "MinQuantity": ("IntegerParameterDeclaration", "SINGLE_VALUED", [1]),
        "MinRevenue": ("DecimalParameterDeclaration", "SINGLE_VALUED", None),
        "OrdersFrom": ("DateTimeParameterDeclaration", None, None),
        "OrdersTo": ("DateTimeParameterDeclaration", None, None),
    }
    assert definition["DataSetIdentifierDeclarations"] == [
        {"Identifier": "sales_orders", "DataSetArn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/sales_orders"},
        {"Identifier": "products", "DataSetArn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/products"},
    ]


def test_describe_data_set_gives_the_rls_tag_rules(client):
    dataset = client.describe_data_set(AwsAccountId=ACCOUNT, DataSetId="sales_orders")["DataSet"]

    assert dataset["RowLevelPermissionTagConfiguration"] == {
        "Status": "ENABLED",
        "TagRules": [{"TagKey": "region", "ColumnName": "region", "MatchAllValue": "*", "TagMultiValueDelimiter": ","}],
    }
    assert {"Name": "revenue", "Type": "DECIMAL"} in dataset["OutputColumns"]


def test_a_data_set_without_rls_has_no_tag_configuration(client):
    dataset = client.describe_data_set(AwsAccountId=ACCOUNT, DataSetId="products")["DataSet"]
    assert "RowLevelPermissionTagConfiguration" not in dataset


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("describe_dashboard", {"DashboardId": "no-such-dashboard"}),
        ("describe_dashboard_definition", {"DashboardId": "no-such-dashboard"}),
        ("describe_dashboard", {"DashboardId": "sales-overview", "VersionNumber": 99}),
        ("describe_data_set", {"DataSetId": "no-such-data-set"}),
        ("describe_dashboard_snapshot_job", {"DashboardId": "sales-overview", "SnapshotJobId": "never-started"}),
        ("describe_dashboard_snapshot_job_result", {"DashboardId": "sales-overview", "SnapshotJobId": "never-started"}),
    ],
)
def test_unknown_resources_are_resource_not_found(client, call, kwargs):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        getattr(client, call)(AwsAccountId=ACCOUNT, **kwargs)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert raised.value.response["Error"]["Message"]


def test_another_account_is_access_denied(client):
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.list_dashboards(AwsAccountId="999999999999")


# --- authentication ---


def test_a_request_without_signature_gets_403_missing_authentication_token(qs_local):
    request = urllib.request.Request(f"{qs_local.url}/accounts/{ACCOUNT}/dashboards")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)

    assert raised.value.code == 403
    assert raised.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException:"
    assert json.loads(raised.value.read())["Message"] == "Missing Authentication Token"
    assert qs_local.calls.count(outcome="MissingAuthenticationTokenException") == 1


def test_an_unknown_access_key_is_unrecognized_client(qs_local, settings):
    client = _client_with(settings, "AKIAUNKNOWN000000000", "whatever")
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.list_dashboards(AwsAccountId=ACCOUNT)
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_wrong_secret_is_an_invalid_signature(qs_local, settings):
    key_id = settings.QUICKSIGHT_LOCAL_ACCESS_KEYS.split(":")[0]
    client = _client_with(settings, key_id, "not-the-secret")
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.describe_dashboard(AwsAccountId=ACCOUNT, DashboardId="sales-overview")
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert qs_local.calls.count(outcome="ok") == 0


def test_a_signature_for_another_region_is_refused(qs_local, settings):
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    client = aws.quicksight_client("eu-west-1")
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.list_dashboards(AwsAccountId=ACCOUNT)
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "region" in raised.value.response["Error"]["Message"]


def test_a_second_configured_key_pair_is_accepted(qs_local, settings):
    settings.QUICKSIGHT_LOCAL_ACCESS_KEYS = "AKIAFIRST00000000000:first-secret,AKIASECOND0000000000:second-secret"
    client = _client_with(settings, "AKIASECOND0000000000", "second-secret")
    assert client.list_dashboards(AwsAccountId=ACCOUNT)["DashboardSummaryList"]


# --- StartDashboardSnapshotJob: every rule answers InvalidParameterValueException naming it ---


def _pdf(scope: str = "ALL_VISUALS", **selection) -> dict:
    return {"FormatType": "PDF", "SheetSelections": [{"SheetId": "summary", "SelectionScope": scope, **selection}]}


def _with_users(kwargs: dict, users: list) -> dict:
    kwargs["UserConfiguration"] = {"AnonymousUsers": users}
    return kwargs


INVALID_REQUESTS = {
    "csv-one-visual": start_kwargs(
        files=[
            {
                "FormatType": "CSV",
                "SheetSelections": [
                    {
                        "SheetId": "orders",
                        "SelectionScope": "SELECTED_VISUALS",
                        "VisualIds": ["order-lines", "top-countries"],
                    }
                ],
            }
        ]
    ),
    "pdf-all-visuals": start_kwargs(files=[_pdf("SELECTED_VISUALS", VisualIds=["revenue-by-region"])]),
    "visual-tabular": start_kwargs(files=[csv_file("summary", "monthly-revenue")]),
    "file-group-count": start_kwargs(files=[csv_file()] * 7),
    "csv-cap": start_kwargs(files=[csv_file()] * 6),
    "pdf-cap": start_kwargs(files=[_pdf(), _pdf()]),
    "one-anonymous-user": _with_users(start_kwargs(), [{}, {}]),
    "rls-tag-key-unique": _with_users(
        start_kwargs(),
        [{"RowLevelPermissionTags": [{"Key": "region", "Value": "EMEA"}, {"Key": "region", "Value": "x"}]}],
    ),
    "parameter-declared": start_kwargs(Parameters={"StringParameters": [{"Name": "Nope", "Values": ["x"]}]}),
    "parameter-type": start_kwargs(Parameters={"DecimalParameters": [{"Name": "MinQuantity", "Values": [2.0]}]}),
    "parameter-single-value": start_kwargs(
        Parameters={"IntegerParameters": [{"Name": "MinQuantity", "Values": [1, 2]}]}
    ),
    "bucket-region": start_kwargs(
        DestinationConfiguration={
            "S3Destinations": [
                {"BucketConfiguration": {"BucketName": "b", "BucketPrefix": "p", "BucketRegion": "eu-west-1"}}
            ]
        }
    ),
}


@pytest.mark.parametrize("rule", INVALID_REQUESTS)
def test_each_rule_answers_invalid_parameter_value_naming_it(client, qs_local, rule):
    with pytest.raises(client.exceptions.InvalidParameterValueException) as raised:
        client.start_dashboard_snapshot_job(**INVALID_REQUESTS[rule])

    assert f"[{rule}]" in raised.value.response["Error"]["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert qs_local.state.jobs == {}


START_PATH = f"/accounts/{ACCOUNT}/dashboards/sales-overview/snapshot-jobs"


def signed_post(url: str, body: bytes, *, send: bytes | None = None) -> tuple[int, dict, dict]:
    """POST `send` (default: `body`) with a SigV4 signature over `body`, as any SDK would sign it."""
    signed = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(*next(iter(access_keys().items()))), "quicksight", "us-east-1").add_auth(signed)
    request = urllib.request.Request(url, data=body if send is None else send, headers=dict(signed.headers))
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_a_parameter_value_of_the_wrong_type_names_the_rule(qs_local):
    """A value botocore would refuse to send, posted as raw JSON, as another SDK might."""
    kwargs = start_kwargs(Parameters={"IntegerParameters": [{"Name": "MinQuantity", "Values": ["three"]}]})
    body = json.dumps({k: kwargs[k] for k in ("SnapshotJobId", "UserConfiguration", "SnapshotConfiguration")})

    status, headers, error = signed_post(qs_local.url + START_PATH, body.encode())

    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidParameterValueException:"
    assert "[parameter-value-type]" in error["Message"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"SnapshotJobId": "j", "SnapshotConfiguration": "pdf please"}', b'{"SnapshotJobId": 7}'],
)
def test_a_malformed_body_is_an_invalid_parameter_value(qs_local, body):
    status, headers, error = signed_post(qs_local.url + START_PATH, body)

    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidParameterValueException:"
    assert error["Message"] and error["RequestId"]
    assert qs_local.state.jobs == {}


def test_a_body_altered_after_signing_is_an_invalid_signature(qs_local):
    signed_body = json.dumps({"SnapshotJobId": "job-1"}).encode()
    altered = json.dumps({"SnapshotJobId": "job-2"}).encode()

    status, headers, _ = signed_post(qs_local.url + START_PATH, signed_body, send=altered)

    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException:"
    assert qs_local.state.jobs == {}


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        ([csv_file("no-such-sheet", "order-lines")], "sheet-exists"),
        ([csv_file("orders", "no-such-visual")], "visual-exists"),
    ],
)
def test_an_unknown_sheet_or_visual_is_resource_not_found(client, files, rule):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.start_dashboard_snapshot_job(**start_kwargs(files=files))
    assert f"[{rule}]" in raised.value.response["Error"]["Message"]


def test_a_snapshot_of_an_unknown_dashboard_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.start_dashboard_snapshot_job(**{**start_kwargs(), "DashboardId": "no-such-dashboard"})


# --- routes ---


def test_an_unknown_route_is_an_unknown_operation(qs_local):
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{qs_local.url}/accounts/{ACCOUNT}/nothing-here")
    assert raised.value.code == 404
    assert raised.value.headers["x-amzn-ErrorType"] == "UnknownOperationException:"


def test_health_answers_without_credentials(qs_local):
    with urllib.request.urlopen(f"{qs_local.url}/health") as response:
        assert json.loads(response.read()) == {"status": "ok", "activeJobs": 0}


@pytest.mark.django_db(transaction=True)
def test_the_portal_serves_the_same_api_under_quicksight_local(live_server, qs_local, settings):
    settings.QUICKSIGHT_ENDPOINT_URL = f"{live_server.url}/quicksight-local"
    settings.AWS_MAX_ATTEMPTS = 1  # one attempt in all: see errors directly
    aws.reset_clients()
    client = aws.quicksight_client()

    listed = client.list_dashboards(AwsAccountId=ACCOUNT)["DashboardSummaryList"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_dashboard(AwsAccountId=ACCOUNT, DashboardId="no-such-dashboard")

    assert [d["DashboardId"] for d in listed] == ["sales-overview", "support-ops", "account-plans"]


def test_run_quicksight_local_serves_the_api_on_its_own_port(settings, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")} | {
        "DEBUG": "true",
        "QUICKSIGHT_LOCAL_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "manage.py", "run_quicksight_local", "--host", "127.0.0.1", "--port", str(port)]
    with open(tmp_path / "server.log", "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", port):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        settings.QUICKSIGHT_ENDPOINT_URL = f"http://127.0.0.1:{port}"
        settings.AWS_MAX_ATTEMPTS = 1
        aws.reset_clients()

        listed = aws.quicksight_client().list_dashboards(AwsAccountId=ACCOUNT)["DashboardSummaryList"]

        assert [d["DashboardId"] for d in listed] == ["sales-overview", "support-ops", "account-plans"]
        assert f"at http://127.0.0.1:{port}" in (tmp_path / "server.log").read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
        aws.reset_clients()
