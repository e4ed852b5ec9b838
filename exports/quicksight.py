"""The QuickSight gateway: the portal's only caller of boto3's QuickSight operations.

Each named operation takes a token of the shared quota first (exports/quota.py: the lifecycle's
calls draw on the account's bucket; a call made for a person, `who`, also on the interactive share
and that person's own budget), turns AWS's errors into ours (exports/aws.py: retryable or
permanent, and the named outcomes below), and answers small typed values, never AWS's dicts.
Modules outside this one read an export's own fields and these values, not QuickSight's answers
(tests/test_quicksight_gateway.py refuses a QuickSight call anywhere else).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from botocore.paginate import TokenEncoder

from exports import aws, quota, results
from exports.snapshot import request_from_json, sent_request

if TYPE_CHECKING:
    from exports.models import Export

ENDED = frozenset({"COMPLETED", "FAILED"})
# A requested file group no answered group echoed, or an S3 result with neither URI nor error.
NO_FILE_RETURNED = "NoFileReturned"
FILE_FAILED = "FileFailed"
DEFINITION_FAILED = frozenset({"CREATION_FAILED", "UPDATE_FAILED"})
DEFINITION_UNFINISHED = frozenset({"CREATION_IN_PROGRESS", "UPDATE_IN_PROGRESS"})


# How AWS documents DescribeDashboardSnapshotJobResult before the job ends: "a message that says
# Dashboard Snapshot Job with id <SnapshotjobId> has not reached a terminal state"; botocore's model
# lists PreconditionNotMetException for this operation only.
NOT_ENDED_CODE = "PreconditionNotMetException"
NOT_ENDED_MESSAGE = "has not reached a terminal state"


# The lifecycle's calls wait this long in the worker for a quota token (about two tokens' spacing)
# before raising QuotaWait for a Celery retry: a retry's round trip (a message with a countdown, a new
# claim) is slower than the wait, and at a wave's turn it left the quota idle while Starts queued.
TASK_QUOTA_WAIT_SECONDS = 0.25


class JobNotFound(aws.PermanentAwsError):
    """DescribeDashboardSnapshotJob does not know the job (yet: AWS is eventually consistent)."""


# --- what the operations answer ---


@dataclass(frozen=True)
class JobStarted:
    arn: str
    request_id: str
    # A retried Start on our own job id (derived from the export's UUID): an earlier try got through.
    already_started: bool = False


@dataclass(frozen=True)
class JobStatus:
    status: str  # QUEUED, RUNNING, COMPLETED or FAILED
    arn: str
    request_id: str
    # QuickSight's run time by its own clock (LastUpdatedTime - CreatedTime), once the job has ended.
    run_seconds: float | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass(frozen=True)
class FileOutcome:
    """One object of a requested file group (`part` of `parts`): its URI, or why there is none."""

    index: int  # the file group's position in the request
    format: str
    sheet_ids: tuple[str, ...]
    visual_ids: tuple[str, ...]
    uri: str = ""
    error_code: str = ""  # QuickSight's ErrorType, FILE_FAILED, or NO_FILE_RETURNED
    error_message: str = ""  # QuickSight's own reasons, "; "-joined; empty when it gave none
    part: int = 0
    parts: int = 1

    @property
    def ok(self) -> bool:
        return bool(self.uri) and not self.error_code


@dataclass(frozen=True)
class JobOutcome:
    """DescribeDashboardSnapshotJobResult, paired with the request by the Files each group echoes."""

    status: str
    request_id: str
    files: tuple[FileOutcome, ...]
    unmatched: int = 0  # answered groups that echo no requested file (counted, never guessed at)
    error_info: Mapping[str, str] | None = None  # the job's own ErrorInfo when it FAILED
    run_seconds: float | None = None  # as JobStatus.run_seconds

    @property
    def error_type(self) -> str:
        return (self.error_info or {}).get("ErrorType", "")

    @property
    def error_message(self) -> str:
        return (self.error_info or {}).get("ErrorMessage", "")

    def fresh_uri(self, index: int, part: int, stored_uri: str) -> str:
        """The current URI of a stored file part: the one naming the same object, else the one at
        its position; "" when QuickSight no longer gives one."""
        uris = [f.uri if not f.error_code else "" for f in self.files if f.index == index]
        return results.pick_part(uris, stored_uri=stored_uri, part=part)


@dataclass(frozen=True)
class JobNotEnded:
    """DescribeDashboardSnapshotJobResult asked before the job ended: AWS's error, or a 200 with
    a JobStatus and no Result (quicksight_local's other shape). `status` is "" when not told."""

    status: str
    request_id: str


@dataclass(frozen=True)
class DashboardSummary:
    dashboard_id: str
    name: str
    arn: str
    published_version: int | None


@dataclass(frozen=True)
class DataSet:
    name: str
    rls: Mapping[str, Any] | None  # its RowLevelPermissionTagConfiguration, read by rls_rules


# --- the one wrapper: client, quota, errors ---


def _run(region: str, call: Callable[[Any], Any], *, who: str | None, max_wait: float) -> Any:
    """call(client) with the quota installed; `who` makes it a person's call (interactive share and
    their own budget); max_wait > 0 waits that long for tokens (people and commands, never a task)."""
    client = aws.quicksight_client(region)
    quota.install(client)
    person = quota.interactive(who) if who is not None else contextlib.nullcontext()
    try:
        with person:
            if max_wait > 0:
                return quota.call_waiting(call, client, max_wait=max_wait)
            return call(client)
    except ParamValidationError as exc:
        # A malformed call never succeeds later: permanent, never "QuickSight is busy".
        raise aws.PermanentAwsError("InvalidParameterValueException", str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        raise aws.translate(exc) from exc


def _job_key(export: Export) -> dict[str, str]:
    return {
        "AwsAccountId": export.aws_account_id,
        "DashboardId": export.dashboard.dashboard_id,
        "SnapshotJobId": export.snapshot_job_id,
    }


# --- the export lifecycle ---


def start_snapshot(export: Export) -> JobStarted:
    """StartDashboardSnapshotJob with the request exactly as stored (the audit record of what was sent)."""
    kwargs = request_from_json(export.request)
    try:
        answer = _run(
            export.region,
            lambda c: c.start_dashboard_snapshot_job(**kwargs),
            who=None,
            max_wait=TASK_QUOTA_WAIT_SECONDS,
        )
    except aws.PermanentAwsError as exc:
        if exc.code != "ResourceExistsException":
            raise
        return JobStarted(arn="", request_id=exc.request_id, already_started=True)
    return JobStarted(arn=answer.get("Arn", ""), request_id=answer.get("RequestId", ""))


def job_status(export: Export) -> JobStatus:
    """DescribeDashboardSnapshotJob; JobNotFound when QuickSight does not know the job."""
    key = _job_key(export)
    try:
        answer = _run(
            export.region,
            lambda c: c.describe_dashboard_snapshot_job(**key),
            who=None,
            max_wait=TASK_QUOTA_WAIT_SECONDS,
        )
    except aws.PermanentAwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise JobNotFound(exc.code, exc.message, exc.request_id, exc.http_status) from exc
        raise
    status = answer["JobStatus"]
    return JobStatus(status, answer.get("Arn", ""), answer.get("RequestId", ""), _run_seconds(answer))


def _run_seconds(answer: Mapping[str, Any]) -> float | None:
    created, updated = answer.get("CreatedTime"), answer.get("LastUpdatedTime")
    if answer.get("JobStatus") in ENDED and created and updated:
        return max(0.0, (updated - created).total_seconds())
    return None


def job_result(export: Export) -> JobOutcome | JobNotEnded:
    """DescribeDashboardSnapshotJobResult as the poll of a job that should have ended: its outcome, or
    JobNotEnded in either shape; JobNotFound when QuickSight does not know the job."""
    try:
        outcome = job_outcome(export, max_wait=TASK_QUOTA_WAIT_SECONDS)
    except aws.PermanentAwsError as exc:
        if exc.code == NOT_ENDED_CODE or NOT_ENDED_MESSAGE in exc.message:
            return JobNotEnded(status="", request_id=exc.request_id)
        if exc.code == "ResourceNotFoundException":
            raise JobNotFound(exc.code, exc.message, exc.request_id, exc.http_status) from exc
        raise
    if outcome.status not in ENDED:
        return JobNotEnded(status=outcome.status, request_id=outcome.request_id)
    return outcome


def job_outcome(export: Export, *, who: str | None = None, max_wait: float = 0.0) -> JobOutcome:
    """DescribeDashboardSnapshotJobResult as one FileOutcome per object of each requested file group.

    Also the fresh links of a finished job: QuickSight's https links lapse, each ask gives new ones.
    """
    key = _job_key(export)
    answer = _run(export.region, lambda c: c.describe_dashboard_snapshot_job_result(**key), who=who, max_wait=max_wait)
    matched = results.match_file_groups(sent_request(export.request).files, answer)
    files = [outcome for group in matched.groups for outcome in _outcomes(group)]
    info = answer.get("ErrorInfo")
    return JobOutcome(
        status=answer.get("JobStatus", ""),
        request_id=answer.get("RequestId", ""),
        files=tuple(files),
        unmatched=matched.unmatched,
        error_info=dict(info) if info else None,
        run_seconds=_run_seconds(answer),
    )


def _outcomes(group: results.GroupResult) -> Iterator[FileOutcome]:
    requested = group.file
    parts = group.parts or [results.S3Result()]
    for part, s3_result in enumerate(parts):
        outcome = FileOutcome(
            index=group.index,
            format=requested.format,
            sheet_ids=requested.sheet_ids,
            visual_ids=requested.visual_ids,
            part=part,
            parts=len(parts),
        )
        errors = s3_result.errors
        if errors:
            reasons = dict.fromkeys(e.get("ErrorMessage") or "" for e in errors if e.get("ErrorMessage"))
            code = errors[0].get("ErrorType") or FILE_FAILED
            yield replace(outcome, error_code=code, error_message="; ".join(reasons))
        elif not s3_result.uri:
            yield replace(outcome, error_code=NO_FILE_RETURNED)
        else:
            yield replace(outcome, uri=s3_result.uri)


# --- the catalog ---


def list_dashboards(account_id: str, region: str, *, who: str, max_wait: float) -> list[DashboardSummary]:
    """Every page of ListDashboards; after a wait for the quota, reading resumes at the unread page."""
    summaries: list[DashboardSummary] = []
    next_token: list[str | None] = [None]

    def read_pages(client) -> None:
        config = {"StartingToken": TokenEncoder().encode({"NextToken": next_token[0]})} if next_token[0] else {}
        for page in client.get_paginator("list_dashboards").paginate(AwsAccountId=account_id, PaginationConfig=config):
            summaries.extend(
                DashboardSummary(
                    dashboard_id=s["DashboardId"],
                    name=s.get("Name", ""),
                    arn=s.get("Arn", ""),
                    published_version=s.get("PublishedVersionNumber"),
                )
                for s in page.get("DashboardSummaryList", [])
            )
            next_token[0] = page.get("NextToken")

    _run(region, read_pages, who=who, max_wait=max_wait)
    return summaries


def describe_definition(
    account_id: str, region: str, summary: DashboardSummary, *, who: str, max_wait: float
) -> dict[str, Any]:
    """The Definition (sheets, visuals, parameter declarations, data sets) of the published version.

    A version QuickSight itself reports as failed is a permanent error, one still being built a
    retryable one: reading either would mark every sheet stale.
    """
    kwargs: dict[str, Any] = {"AwsAccountId": account_id, "DashboardId": summary.dashboard_id}
    if summary.published_version:
        # Snapshot jobs export the published version, so that is the catalog we keep.
        kwargs["VersionNumber"] = summary.published_version
    answer = _run(region, lambda c: c.describe_dashboard_definition(**kwargs), who=who, max_wait=max_wait)
    status = answer.get("ResourceStatus") or ""
    errors = "; ".join(f"{e.get('Type', 'ERROR')}: {e.get('Message', '')}" for e in answer.get("Errors") or [])
    if status in DEFINITION_FAILED or errors:
        what = f"QuickSight reports this version as {status or 'having errors'}"
        raise aws.PermanentAwsError("DashboardVersionFailed", f"{what}{': ' + errors if errors else ''}")
    if status in DEFINITION_UNFINISHED:
        raise aws.RetryableAwsError("DashboardVersionNotReady", f"QuickSight is still building this version ({status})")
    if "Definition" not in answer:
        raise aws.PermanentAwsError("UnexpectedResponse", "QuickSight's answer has no Definition")
    return answer["Definition"] or {}


def describe_data_set(account_id: str, region: str, data_set_id: str, *, who: str, max_wait: float) -> DataSet:
    answer = _run(
        region,
        lambda c: c.describe_data_set(AwsAccountId=account_id, DataSetId=data_set_id),
        who=who,
        max_wait=max_wait,
    )
    data_set = answer.get("DataSet") or {}
    return DataSet(name=data_set.get("Name") or "", rls=data_set.get("RowLevelPermissionTagConfiguration") or None)
