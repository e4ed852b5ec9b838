"""QuickSight's REST-JSON operations, as botocore's service model routes and shapes them.

Every operation goes through `operation()`: injected latency, SigV4 authentication, the account
check, the per-account rate, the call log, and AWS-shaped errors. Timestamps are epoch seconds, as
botocore's rest-json parser expects them.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from exports import file_names
from exports.snapshot_rules import account_id_is_12_digits, check
from quicksight_local import storage
from quicksight_local.auth import authenticate
from quicksight_local.catalog import Dashboard, Parameter
from quicksight_local.errors import ServiceError, error_response, invalid, not_found
from quicksight_local.jobs import TERMINAL, Call, Job, ServiceState, get_state

logger = logging.getLogger(__name__)

# The demo catalog does not change while the service runs: one fixed creation time.
CATALOG_TIME = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MAX_PAGE_SIZE = 100
DECLARATIONS = {
    "STRING": "StringParameterDeclaration",
    "INTEGER": "IntegerParameterDeclaration",
    "DECIMAL": "DecimalParameterDeclaration",
    "DATETIME": "DateTimeParameterDeclaration",
}

View = Callable[..., dict[str, Any]]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, default=_json_default), status=status, content_type="application/json")


def operation(name: str, *, method: str = "GET", status: int = 200) -> Callable[[View], Callable[..., HttpResponse]]:
    """Wrap an operation: it returns the response body's members or raises ServiceError."""

    def decorator(view: View) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, account_id: str, **kwargs: Any) -> HttpResponse:
            if request.method != method:
                return unknown_operation(request)
            state = get_state()
            request_id = str(uuid.uuid4())
            if state.faults.latency > 0:
                time.sleep(state.faults.latency)  # the network's: the call arrives after it
            # Logged at its arrival, as QuickSight's quota counts calls: stamped once its answer was
            # ready, a slow answer made calls that arrived spread out look bunched.
            arrived = time.time(), time.monotonic()
            try:
                authenticate(request, region=state.region)
                # Every operation names the account in its path: the shared rule checks it.
                for violation in account_id_is_12_digits({"AwsAccountId": account_id}, None):
                    raise invalid(str(violation))
                if account_id != state.account_id:
                    raise ServiceError(
                        "AccessDeniedException", f"The caller is not authorized to access account {account_id}."
                    )
                if name == "StartDashboardSnapshotJob":
                    _injected_start_faults(state)
                state.admit(account_id)
                body = view(request, state, account_id=account_id, **kwargs)
                response = _json_response({**body, "RequestId": request_id, "Status": status}, status)
                response["x-amzn-RequestId"] = request_id
                outcome = "ok"
            except ServiceError as error:
                response, outcome = error_response(error, request_id), error.code
            except Exception:  # a bug here must still look like AWS to the caller (and be retried)
                logger.exception("quicksight_local %s failed", name)
                error = ServiceError("InternalFailureException", "An internal failure occurred.")
                response, outcome = error_response(error, request_id), error.code
            state.calls.append(Call(name, *arrived, account_id, outcome, response.status_code))
            return response

        return wrapper

    return decorator


def _injected_start_faults(state: ServiceState) -> None:
    if state.faults.take("throttle_next_starts"):
        raise ServiceError("ThrottlingException", "Rate exceeded (injected fault).")
    if state.faults.take("limit_exceeded_next_starts"):
        raise ServiceError("LimitExceededException", "Too many snapshot jobs are running (injected fault).")


def _dashboard(state: ServiceState, dashboard_id: str) -> Dashboard:
    dashboard = state.catalog.dashboards.get(dashboard_id)
    if dashboard is None:
        raise not_found(f"Dashboard {dashboard_id} does not exist in account {state.account_id}.")
    return dashboard


def _version(request: HttpRequest, dashboard: Dashboard) -> None:
    raw = request.GET.get("version-number")
    if raw is None:
        return
    if not raw.isdigit():
        raise invalid("VersionNumber: must be a positive integer")
    if int(raw) != dashboard.version_number:
        raise not_found(f"Dashboard {dashboard.dashboard_id} has no version {raw}.")


# --- catalog operations ---


def _summary(state: ServiceState, dashboard: Dashboard) -> dict[str, Any]:
    return {
        "Arn": state.arn(f"dashboard/{dashboard.dashboard_id}"),
        "DashboardId": dashboard.dashboard_id,
        "Name": dashboard.name,
        "CreatedTime": CATALOG_TIME,
        "LastUpdatedTime": CATALOG_TIME,
        "PublishedVersionNumber": dashboard.version_number,
        "LastPublishedTime": CATALOG_TIME,
    }


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page_offset(token: str) -> int:
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ServiceError("InvalidNextTokenException", "The NextToken is not valid.")


@operation("ListDashboards")
def list_dashboards(request: HttpRequest, state: ServiceState, *, account_id: str) -> dict[str, Any]:
    raw_size = request.GET.get("max-results", str(MAX_PAGE_SIZE))
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise invalid(f"MaxResults: must be 1 to {MAX_PAGE_SIZE}")
    size = int(raw_size)
    token = request.GET.get("next-token")
    offset = _page_offset(token) if token else 0
    dashboards = list(state.catalog.dashboards.values())
    body: dict[str, Any] = {"DashboardSummaryList": [_summary(state, d) for d in dashboards[offset : offset + size]]}
    if offset + size < len(dashboards):
        body["NextToken"] = _page_token(offset + size)
    return body


@operation("DescribeDashboard")
def describe_dashboard(
    request: HttpRequest, state: ServiceState, *, account_id: str, dashboard_id: str
) -> dict[str, Any]:
    dashboard = _dashboard(state, dashboard_id)
    _version(request, dashboard)
    summary = _summary(state, dashboard)
    return {
        "Dashboard": {
            "DashboardId": dashboard.dashboard_id,
            "Arn": summary["Arn"],
            "Name": dashboard.name,
            "Version": {
                "CreatedTime": CATALOG_TIME,
                "Errors": [],
                "VersionNumber": dashboard.version_number,
                "Status": "CREATION_SUCCESSFUL",
                "Arn": f"{summary['Arn']}/version/{dashboard.version_number}",
                "DataSetArns": [state.arn(f"dataset/{d}") for d in dashboard.dataset_ids],
                "Sheets": [{"SheetId": s.sheet_id, "Name": s.name} for s in dashboard.sheets],
            },
            "CreatedTime": CATALOG_TIME,
            "LastPublishedTime": CATALOG_TIME,
            "LastUpdatedTime": CATALOG_TIME,
        }
    }


def _static_value(parameter: Parameter, value: Any) -> Any:
    if parameter.type == "DATETIME" and isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    return value


def _parameter_declaration(parameter: Parameter) -> dict[str, Any]:
    declaration: dict[str, Any] = {"Name": parameter.name}
    if parameter.type == "DATETIME":
        # The model gives DateTimeParameterDeclaration no ParameterValueType: it is single-valued.
        declaration["TimeGranularity"] = "DAY"
    else:
        declaration["ParameterValueType"] = "MULTI_VALUED" if parameter.multi_valued else "SINGLE_VALUED"
    if parameter.default_values:
        declaration["DefaultValues"] = {"StaticValues": [_static_value(parameter, v) for v in parameter.default_values]}
    return {DECLARATIONS[parameter.type]: declaration}


@operation("DescribeDashboardDefinition")
def describe_dashboard_definition(
    request: HttpRequest, state: ServiceState, *, account_id: str, dashboard_id: str
) -> dict[str, Any]:
    dashboard = _dashboard(state, dashboard_id)
    _version(request, dashboard)
    sheets = [
        {
            "SheetId": sheet.sheet_id,
            "Name": sheet.name,
            "Title": sheet.name,
            "ContentType": "INTERACTIVE",
            "Visuals": [
                {
                    visual.type: {
                        "VisualId": visual.visual_id,
                        "Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": visual.title}},
                    }
                }
                for visual in sheet.visuals
            ],
        }
        for sheet in dashboard.sheets
    ]
    return {
        "DashboardId": dashboard.dashboard_id,
        "Name": dashboard.name,
        "ResourceStatus": "CREATION_SUCCESSFUL",
        "Errors": [],
        "Definition": {
            "DataSetIdentifierDeclarations": [
                {"Identifier": d, "DataSetArn": state.arn(f"dataset/{d}")} for d in dashboard.dataset_ids
            ],
            "Sheets": sheets,
            "ParameterDeclarations": [_parameter_declaration(p) for p in dashboard.parameters],
        },
    }


@operation("DescribeDataSet")
def describe_data_set(request: HttpRequest, state: ServiceState, *, account_id: str, dataset_id: str) -> dict[str, Any]:
    dataset = state.catalog.datasets.get(dataset_id)
    if dataset is None:
        raise not_found(f"Data set {dataset_id} does not exist in account {account_id}.", "DATA_SET")
    body: dict[str, Any] = {
        "Arn": state.arn(f"dataset/{dataset.dataset_id}"),
        "DataSetId": dataset.dataset_id,
        "Name": dataset.name,
        "CreatedTime": CATALOG_TIME,
        "LastUpdatedTime": CATALOG_TIME,
        "ImportMode": "SPICE",
        "OutputColumns": [{"Name": name, "Type": type_} for name, type_ in dataset.columns.items()],
    }
    if dataset.rls is not None:
        body["RowLevelPermissionTagConfiguration"] = dataset.rls.to_api()
    return {"DataSet": body}


# --- snapshot jobs ---


def _datetime(value: Any) -> Any:
    """Epoch seconds -> an aware datetime; anything else unchanged, for the rules to refuse."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return value
    return value


def _parse_start_request(request: HttpRequest, account_id: str, dashboard_id: str) -> tuple[dict, dict]:
    """(request for the rules, with datetimes; the SnapshotConfiguration as received)."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    raw_configuration = copy.deepcopy(body.get("SnapshotConfiguration"))
    configuration = body.get("SnapshotConfiguration")
    parameters = configuration.get("Parameters") if isinstance(configuration, dict) else None
    if isinstance(parameters, dict):
        for entry in parameters.get("DateTimeParameters") or []:
            if isinstance(entry, dict) and isinstance(entry.get("Values"), list):
                # botocore sends timestamps as epoch seconds; the rules and the renderer take datetimes.
                entry["Values"] = [_datetime(v) for v in entry["Values"]]
    return {**body, "AwsAccountId": account_id, "DashboardId": dashboard_id}, raw_configuration


@operation("StartDashboardSnapshotJob", method="POST")
def start_dashboard_snapshot_job(
    request: HttpRequest, state: ServiceState, *, account_id: str, dashboard_id: str
) -> dict[str, Any]:
    dashboard = _dashboard(state, dashboard_id)
    parsed, raw_configuration = _parse_start_request(request, account_id, dashboard_id)
    violations = check(parsed, dashboard.to_rules_catalog(state.region))
    invalid_ones = [v for v in violations if not v.not_found]
    if invalid_ones:
        raise invalid("; ".join(str(v) for v in invalid_ones))
    if violations:
        raise not_found("; ".join(str(v) for v in violations))
    job = state.start_job(dashboard=dashboard, request=parsed, raw_snapshot_configuration=raw_configuration)
    return {"Arn": job.arn, "SnapshotJobId": job.job_id}


def _job_times(job: Job) -> dict[str, Any]:
    return {"Arn": job.arn, "JobStatus": job.status, "CreatedTime": job.created_at, "LastUpdatedTime": job.updated_at}


@operation("DescribeDashboardSnapshotJob")
def describe_dashboard_snapshot_job(
    request: HttpRequest, state: ServiceState, *, account_id: str, dashboard_id: str, job_id: str
) -> dict[str, Any]:
    job = state.get_job(account_id, dashboard_id, job_id)
    if state.faults.take("not_found_next_describes"):
        raise not_found(f"Dashboard Snapshot Job with id {job_id} does not exist for dashboard {dashboard_id}.")
    return {
        **_job_times(job),
        "AwsAccountId": job.account_id,
        "DashboardId": job.dashboard_id,
        "SnapshotJobId": job.job_id,
        # Tag values are never echoed: the model's redacted shape carries only the keys.
        "UserConfiguration": {"AnonymousUsers": [{"RowLevelPermissionTagKeys": list(job.tags)}]},
        "SnapshotConfiguration": job.raw_snapshot_configuration,
    }


def _base_url(request: HttpRequest) -> str:
    """The service's own URL for download links: QUICKSIGHT_LOCAL_PUBLIC_URL, else as the caller reached it."""
    if settings.QUICKSIGHT_LOCAL_PUBLIC_URL:
        return settings.QUICKSIGHT_LOCAL_PUBLIC_URL.rstrip("/")
    prefix = request.path[: request.path.index("/accounts/")]
    return f"{request.scheme}://{request.META.get('HTTP_HOST', 'localhost')}{prefix}"


@operation("DescribeDashboardSnapshotJobResult")
def describe_dashboard_snapshot_job_result(
    request: HttpRequest, state: ServiceState, *, account_id: str, dashboard_id: str, job_id: str
) -> dict[str, Any]:
    job = state.get_job(account_id, dashboard_id, job_id)
    body = _job_times(job)
    # Before a terminal state: AWS's documented error, or the status without Result (see README).
    if job.status not in TERMINAL:
        if state.faults.result_before_end == "error":
            raise ServiceError(
                "PreconditionNotMetException",
                f"Dashboard Snapshot Job with id {job_id} has not reached a terminal state.",
            )
        return body
    if job.status == "FAILED":
        return {**body, "ErrorInfo": job.error}
    base_url, destination = _base_url(request), job.destination
    groups = []
    for result in job.results:
        s3_result: dict[str, Any] = {}
        if destination is not None:
            s3_result["S3DestinationConfiguration"] = {"BucketConfiguration": destination}
        if result.error:
            s3_result["ErrorInfo"] = [result.error]
        elif result.local:
            s3_result["S3Uri"] = storage.signed_link(base_url, job.key, result.filename)
        else:
            s3_result["S3Uri"] = result.s3_uri
        groups.append({"Files": [result.file], "S3Results": [s3_result]})
    if state.faults.reverse_result_groups:
        groups.reverse()
    return {**body, "Result": {"AnonymousUsers": [{"FileGroups": groups}]}}


@csrf_exempt
def snapshot_jobs(request: HttpRequest, account_id: str, dashboard_id: str) -> HttpResponse:
    if request.method == "POST":
        return start_dashboard_snapshot_job(request, account_id, dashboard_id=dashboard_id)
    return unknown_operation(request)


# --- files, health, anything else ---


def _s3_style_error(code: str, message: str, status: int) -> HttpResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return HttpResponse(body, status=status, content_type="application/xml")


def download(request: HttpRequest, job_key: str, filename: str) -> HttpResponse:
    refusal = storage.verify_link(
        job_key, filename, request.GET.get("X-Expires", ""), request.GET.get("X-Signature", "")
    )
    if refusal:
        return _s3_style_error("AccessDenied", refusal, 403)
    path = storage.local_file(job_key, filename)
    if path is None:
        return _s3_style_error("NoSuchKey", "The specified key does not exist.", 404)
    if request.method == "HEAD":  # the size before download, as S3 answers it
        response = HttpResponse(content_type="application/octet-stream")
        response["Content-Length"] = path.stat().st_size
    else:
        response = FileResponse(path.open("rb"))
    response["Content-Disposition"] = file_names.content_disposition(filename)
    response["Cache-Control"] = "no-store"
    return response


def health(request: HttpRequest) -> HttpResponse:
    return _json_response({"status": "ok", "activeJobs": get_state().active_jobs()})


@csrf_exempt
def unknown_operation(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    error = ServiceError("UnknownOperationException", f"No operation matches {request.method} {request.path}.")
    return error_response(error, str(uuid.uuid4()))
