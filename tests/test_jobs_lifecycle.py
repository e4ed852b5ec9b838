"""The job lifecycle's services against botocore's Stubber: request shapes and the state machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from exports import aws, enqueue, jobs
from exports.models import Export, ExportFile, Grant, RlsTagMapping
from tests.jobs_support import ACCOUNT, actions, make_export

S = Export.Status
ARN = "arn:aws:quicksight:us-east-1:111122223333:dashboard/sales-overview/snapshot-job/x"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stub(quicksight_stubber):
    return quicksight_stubber


def key(export: Export) -> dict:
    return {"AwsAccountId": ACCOUNT, "DashboardId": "sales-overview", "SnapshotJobId": export.snapshot_job_id}


def expect_start(stub, export: Export, expected: dict | None = None) -> None:
    stub.add_response(
        "start_dashboard_snapshot_job",
        {"Arn": ARN, "SnapshotJobId": export.snapshot_job_id, "RequestId": "req-start", "Status": 200},
        expected or export.request,
    )


def expect_describe(stub, export: Export, status: str) -> None:
    stub.add_response(
        "describe_dashboard_snapshot_job",
        {"Arn": ARN, "JobStatus": status, "RequestId": f"req-{status.lower()}", "Status": 200},
        key(export),
    )


def file_result(uri: str | None = None, error: dict | None = None) -> dict:
    s3 = {"S3Uri": uri} if uri else {"ErrorInfo": [error]}
    return {"S3Results": [s3]}


def requested_file(export: Export, index: int) -> dict:
    return export.request["SnapshotConfiguration"]["FileGroups"][index]["Files"][0]


def expect_result(stub, export: Export, groups: list[dict] | None = None, error: dict | None = None) -> None:
    """A COMPLETED (or FAILED) result; a group without `Files` echoes the requested file at its position."""
    response = {"Arn": ARN, "JobStatus": "FAILED" if error else "COMPLETED", "RequestId": "req-result", "Status": 200}
    if error:
        response["ErrorInfo"] = error
    else:
        groups = [{"Files": [requested_file(export, i)], **g} if "Files" not in g else g for i, g in enumerate(groups)]
        response["Result"] = {"AnonymousUsers": [{"FileGroups": groups}]}
    stub.add_response("describe_dashboard_snapshot_job_result", response, key(export))


def make_due(export: Export) -> None:
    Export.objects.filter(pk=export.pk).update(next_action_at=timezone.now())


def started(stub, export: Export) -> Export:
    expect_start(stub, export)
    jobs.export_submit(export_id=export.pk)
    make_due(export)
    return Export.objects.get(pk=export.pk)


# --- Start ---


@pytest.mark.django_db
def test_submit_sends_the_stored_request_and_records_the_job(stub, alice):
    export = make_export(
        alice,
        ["PDF", "CSV"],
        request_extra={
            "Parameters": {"DateTimeParameters": [{"Name": "OrdersFrom", "Values": ["2026-01-31T09:00:00"]}]}
        },
    )
    sent = json.loads(json.dumps(export.request))
    sent["SnapshotConfiguration"]["Parameters"]["DateTimeParameters"][0]["Values"] = [datetime(2026, 1, 31, 9)]
    expect_start(stub, export, sent)

    nxt = jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.QUEUED
    assert (export.job_arn, export.start_request_id) == (ARN, "req-start")
    assert export.submitted_at is not None and export.deadline_at > export.submitted_at
    assert 1.5 <= nxt.poll_in <= 2.0
    assert actions(export) == ["export.submitting", "export.started"]


@pytest.mark.django_db
def test_start_answering_resource_exists_counts_as_started(stub, alice):
    export = make_export(alice)
    stub.add_client_error(
        "start_dashboard_snapshot_job",
        "ResourceExistsException",
        "Job already exists",
        409,
        response_meta={"RequestId": "r2"},
    )

    nxt = jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.QUEUED and export.error_code == ""
    assert nxt.poll_in is not None and nxt.retry_in is None
    assert export.events.get(action="export.started").data["retried"] is True


@pytest.mark.django_db
def test_throttled_start_waits_for_a_celery_retry_and_keeps_its_slot(stub, alice):
    export = make_export(alice)
    stub.add_client_error("start_dashboard_snapshot_job", "ThrottlingException", "Rate exceeded", 429)

    nxt = jobs.export_submit(export_id=export.pk, retries=3)

    export.refresh_from_db()
    assert export.status == S.SUBMITTING
    assert isinstance(nxt.error, aws.RetryableAwsError) and nxt.error.code == "ThrottlingException"
    assert 8 <= nxt.retry_in <= 16  # 2 s doubled three times, jittered down by at most half
    due_in = (export.next_action_at - timezone.now()).total_seconds()
    assert nxt.retry_in - 1 <= due_in <= nxt.retry_in
    assert actions(export) == ["export.submitting"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AccessDeniedException", "not allowed"),
        ("InvalidParameterValueException", "invalid"),
        ("ResourceNotFoundException", "no longer exists"),
        ("UnsupportedUserEditionException", "edition"),
        ("UnsupportedPricingPlanException", "pricing plan"),
    ],
)
def test_permanent_start_error_fails_at_once_with_words_for_the_user_and_the_raw_error_kept(stub, alice, code, words):
    export = make_export(alice)
    stub.add_client_error(
        "start_dashboard_snapshot_job",
        code,
        "User: arn:aws:iam::1:role/x is not authorized",
        403,
        response_meta={"RequestId": "req-denied"},
    )

    nxt = jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.FAILED and export.finished_at is not None
    assert words in export.error_message and "arn:aws" not in export.error_message
    detail = json.loads(export.error_detail)
    assert detail["code"] == code and detail["request_id"] == "req-denied" and "not authorized" in detail["message"]
    assert export.error_request_id == "req-denied"  # the reference the requester quotes to support
    assert nxt.retry_in is None
    assert actions(export) == ["export.submitting", "export.failed"]


@pytest.mark.django_db
def test_revoked_grant_cancels_without_calling_quicksight(stub, alice):
    export = make_export(alice)
    Grant.objects.filter(dashboard=export.dashboard).delete()

    jobs.export_submit(export_id=export.pk)  # the stub has no response: any call would raise

    export.refresh_from_db()
    assert export.status == S.CANCELLED
    assert export.error_message == "Your access to Sales overview was withdrawn before the export started."
    assert actions(export) == ["export.submitting", "export.cancelled"]


@pytest.mark.django_db
def test_a_dashboard_gone_from_quicksight_cancels_without_calling_it(stub, alice):
    export = make_export(alice)
    type(export.dashboard).objects.filter(pk=export.dashboard_id).update(is_stale=True)

    jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.CANCELLED
    assert export.error_message == "Sales overview is no longer in QuickSight, so the export was not started."


@pytest.mark.django_db
def test_changed_rls_tags_cancel_without_calling_quicksight(stub, alice):
    export = make_export(alice)
    RlsTagMapping.objects.filter(user=alice, tag_key="region").update(tag_value="APAC")

    jobs.export_submit(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.CANCELLED
    assert "row-level security tags changed" in export.error_message
    assert "APAC" not in json.dumps(list(export.events.values_list("data", flat=True)))


# --- polls and results ---


@pytest.mark.django_db
def test_polls_follow_quicksight_and_completion_stores_one_file_per_group(
    stub, alice, django_capture_on_commit_callbacks
):
    export = started(stub, make_export(alice, ["PDF", "EXCEL", "CSV"]))
    expect_describe(stub, export, "RUNNING")
    assert jobs.export_poll(export_id=export.pk).poll_in is not None
    assert Export.objects.get(pk=export.pk).status == S.RUNNING

    make_due(export)
    expect_describe(stub, export, "COMPLETED")
    expect_result(stub, export, [file_result(f"https://files.example/{i}?sig=1") for i in range(3)])
    with django_capture_on_commit_callbacks(execute=True):
        nxt = jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED and export.error_code == "" and nxt.poll_in is None
    files = list(ExportFile.objects.filter(export=export).order_by("index"))
    assert [(f.format, f.sheet_ids, f.visual_ids) for f in files] == [
        ("PDF", ["summary"], []),
        ("EXCEL", ["summary", "orders"], ["revenue-by-region", "top-countries"]),
        ("CSV", ["orders"], ["top-countries"]),
    ]
    assert [f.s3_uri for f in files] == [f"https://files.example/{i}?sig=1" for i in range(3)]
    assert actions(export) == ["export.submitting", "export.started", "export.running", "export.completed"]
    assert mail.outbox[-1].to == [alice.email] and "is ready" in mail.outbox[-1].subject
    assert "files.example" not in mail.outbox[-1].body


@pytest.mark.django_db
def test_one_failed_file_is_a_partial_success_with_the_reason_next_to_the_file(stub, alice):
    export = started(stub, make_export(alice, ["PDF", "CSV"]))
    expect_describe(stub, export, "COMPLETED")
    failure = {"ErrorType": "VisualTooLarge", "ErrorMessage": "The visual has more rows than CSV export allows."}
    expect_result(stub, export, [file_result("https://files.example/0"), file_result(error=failure)])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED_WITH_ERRORS and export.error_code == jobs.PARTIAL_SUCCESS
    assert export.error_message == "1 of 2 files could not be produced; the others are ready."
    # What the requester quotes to support: the request id of the answer that carried the failures.
    assert export.error_request_id == "req-result"
    ok, bad = ExportFile.objects.filter(export=export).order_by("index")
    assert ok.is_ready and not bad.is_ready and bad.s3_uri == ""
    assert bad.error_code == "VisualTooLarge"
    assert (
        bad.error_message
        == "QuickSight could not produce this CSV file: The visual has more rows than CSV export allows."
    )


def echoing(export: Export, index: int, *s3_results: dict) -> dict:
    """An answered file group that echoes the requested file group `index`."""
    return {"Files": [requested_file(export, index)], "S3Results": list(s3_results)}


@pytest.mark.django_db
def test_result_groups_in_another_order_are_matched_by_the_files_they_echo(stub, alice):
    export = started(stub, make_export(alice, ["PDF", "CSV", "CSV_SMALL", "EXCEL"]))
    expect_describe(stub, export, "COMPLETED")
    links = {i: f"https://files.example/job/{name}?X-Amz-Signature=1" for i, name in enumerate(["pdf", "a", "b", "xl"])}
    expect_result(stub, export, [echoing(export, i, {"S3Uri": links[i]}) for i in (3, 2, 0, 1)])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED and export.error_code == ""
    files = list(ExportFile.objects.filter(export=export).order_by("index", "part"))
    assert [(f.index, f.format, f.visual_ids, f.s3_uri) for f in files] == [
        (0, "PDF", [], links[0]),
        (1, "CSV", ["top-countries"], links[1]),
        (2, "CSV", ["product-list"], links[2]),
        (3, "EXCEL", ["revenue-by-region", "top-countries"], links[3]),
    ]


@pytest.mark.django_db
def test_per_file_error_info_stays_with_its_file_when_groups_come_back_reordered(stub, alice):
    export = started(stub, make_export(alice, ["PDF", "CSV"]))
    expect_describe(stub, export, "COMPLETED")
    failure = {"ErrorType": "DATASET_DELETED", "ErrorMessage": "The dataset has been deleted."}
    expect_result(
        stub,
        export,
        [echoing(export, 1, {"ErrorInfo": [failure]}), echoing(export, 0, {"S3Uri": "https://files.example/pdf"})],
    )

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    pdf, csv = ExportFile.objects.filter(export=export).order_by("index")
    assert export.status == S.COMPLETED_WITH_ERRORS and export.error_code == jobs.PARTIAL_SUCCESS
    assert pdf.is_ready and pdf.s3_uri == "https://files.example/pdf"
    assert not csv.is_ready and csv.error_code == "DATASET_DELETED"
    assert csv.error_message == "QuickSight could not produce this CSV file: The dataset has been deleted."
    completed = export.events.get(action="export.completed_with_errors")
    assert completed.data["failed_files"] == [{"file": 1, "part": 0, "error_code": "DATASET_DELETED"}]


@pytest.mark.django_db
def test_a_group_with_several_s3_uris_keeps_each_one_as_a_part(stub, alice):
    export = started(stub, make_export(alice, ["PDF", "CSV"]))
    expect_describe(stub, export, "COMPLETED")
    pieces = [f"s3://bucket/exports/job/2_orders_top-countries_{n}.csv" for n in range(3)]
    expect_result(
        stub,
        export,
        [echoing(export, 1, *({"S3Uri": uri} for uri in pieces)), echoing(export, 0, {"S3Uri": "s3://bucket/p.pdf"})],
    )

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    files = list(ExportFile.objects.filter(export=export).order_by("index", "part"))
    assert export.status == S.COMPLETED and export.error_code == ""
    assert [(f.index, f.part, f.parts, f.s3_uri) for f in files] == [
        (0, 0, 1, "s3://bucket/p.pdf"),
        (1, 0, 3, pieces[0]),
        (1, 1, 3, pieces[1]),
        (1, 2, 3, pieces[2]),
    ]
    assert all(f.is_ready for f in files)
    assert [str(f) for f in files][1:] == ["CSV #2, part 1 of 3", "CSV #2, part 2 of 3", "CSV #2, part 3 of 3"]


@pytest.mark.django_db
def test_one_failed_part_of_a_group_leaves_the_other_parts_ready(stub, alice):
    export = started(stub, make_export(alice, ["CSV"]))
    expect_describe(stub, export, "COMPLETED")
    failure = {"ErrorType": "S3_UPLOAD_FAILED", "ErrorMessage": "AccessDenied: Access Denied"}
    expect_result(stub, export, [echoing(export, 0, {"S3Uri": "s3://bucket/a.csv"}, {"ErrorInfo": [failure]})])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    ok, bad = ExportFile.objects.filter(export=export).order_by("part")
    assert export.status == S.COMPLETED_WITH_ERRORS and export.error_code == jobs.PARTIAL_SUCCESS
    assert export.error_message == "1 of 2 files could not be produced; the others are ready."
    assert ok.is_ready and (bad.error_code, bad.part, bad.parts) == ("S3_UPLOAD_FAILED", 1, 2)


@pytest.mark.django_db
def test_a_group_echoing_a_file_nobody_asked_for_is_not_taken_for_a_requested_one(stub, alice):
    export = started(stub, make_export(alice, ["CSV"]))
    expect_describe(stub, export, "COMPLETED")
    stranger = {
        "FormatType": "CSV",
        "SheetSelections": [{"SheetId": "orders", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["order-lines"]}],
    }
    expect_result(stub, export, [{"Files": [stranger], "S3Results": [{"S3Uri": "https://files.example/other"}]}])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    (only,) = ExportFile.objects.filter(export=export)
    assert export.status == S.FAILED and export.error_code == jobs.ALL_FILES_FAILED
    assert only.s3_uri == "" and only.error_code == "NoFileReturned"
    assert export.events.get(action="export.failed").data["unmatched_file_groups"] == 1


@pytest.mark.django_db
def test_an_echo_that_lists_the_visuals_of_a_whole_sheet_still_matches(stub, alice):
    export = started(stub, make_export(alice, ["PDF", "EXCEL"]))
    expect_describe(stub, export, "COMPLETED")
    pdf_echo = {
        "FormatType": "PDF",
        "SheetSelections": [
            {"SheetId": "summary", "SelectionScope": "ALL_VISUALS", "VisualIds": ["revenue-by-region", "kpi"]}
        ],
    }
    expect_result(
        stub,
        export,
        [
            echoing(export, 1, {"S3Uri": "https://files.example/book.xlsx"}),
            {"Files": [pdf_echo], "S3Results": [{"S3Uri": "https://files.example/sheet.pdf"}]},
        ],
    )

    jobs.export_poll(export_id=export.pk)

    pdf, excel = ExportFile.objects.filter(export=export).order_by("index")
    assert (pdf.format, pdf.s3_uri) == ("PDF", "https://files.example/sheet.pdf")
    assert (excel.format, excel.s3_uri) == ("EXCEL", "https://files.example/book.xlsx")


@pytest.mark.django_db
def test_with_archiving_on_a_completed_export_is_queued_for_archiving(
    stub, settings, alice, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ARCHIVE_EXPORTS = True
    sent = []
    monkeypatch.setattr(enqueue, "send", lambda step, export_id, countdown=None: sent.append((step, export_id)))
    export = started(stub, make_export(alice))
    expect_describe(stub, export, "COMPLETED")
    expect_result(stub, export, [file_result("https://files.example/0")])

    with django_capture_on_commit_callbacks(execute=True):
        jobs.export_poll(export_id=export.pk)

    assert sent == [("exports.tasks.archive_export_files", export.pk)]


@pytest.mark.django_db
def test_failed_job_tells_the_user_why(stub, alice):
    export = started(stub, make_export(alice))
    expect_describe(stub, export, "FAILED")
    expect_result(stub, export, error={"ErrorType": "DatasetTimeout", "ErrorMessage": "The dataset query timed out."})

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.FAILED and export.error_code == "DatasetTimeout"
    assert export.error_message == "QuickSight could not produce this export: The dataset query timed out."
    assert json.loads(export.error_detail)["request_id"] == "req-result"
    assert not export.files.exists()


@pytest.mark.django_db
def test_result_throttled_after_completion_asks_only_for_the_result_next_time(stub, alice):
    export = started(stub, make_export(alice))
    expect_describe(stub, export, "COMPLETED")
    stub.add_client_error("describe_dashboard_snapshot_job_result", "ThrottlingException", "slow down", 429)
    assert jobs.export_poll(export_id=export.pk).retry_in is not None

    make_due(export)
    expect_result(stub, export, [file_result("https://files.example/0")])
    jobs.export_poll(export_id=export.pk)

    assert Export.objects.get(pk=export.pk).status == S.COMPLETED


def expect_not_found(stub, export: Export) -> None:
    stub.add_client_error(
        "describe_dashboard_snapshot_job",
        "ResourceNotFoundException",
        f"Dashboard Snapshot Job with id {export.snapshot_job_id} does not exist.",
        404,
        response_meta={"RequestId": "req-not-found"},
        expected_params=key(export),
    )


@pytest.mark.django_db
def test_a_job_not_found_just_after_start_is_polled_again_and_completes(stub, settings, alice):
    settings.EXPORT_NOT_FOUND_RETRIES = 3
    export = started(stub, make_export(alice))
    waits = []
    for _ in range(3):
        expect_not_found(stub, export)
        waits.append(jobs.export_poll(export_id=export.pk).poll_in)
        assert Export.objects.get(pk=export.pk).status == S.QUEUED
        make_due(export)
    expect_describe(stub, export, "COMPLETED")
    expect_result(stub, export, [file_result("https://files.example/0")])

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED and export.error_code == ""
    assert export.not_found_polls == 3
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4 and 4 <= waits[2] <= 8  # the poll backoff, no sleep
    assert actions(export) == ["export.submitting", "export.started", "export.completed"]


@pytest.mark.django_db
def test_a_job_still_not_found_after_the_allowed_polls_fails_with_a_clear_message(stub, settings, alice):
    settings.EXPORT_NOT_FOUND_RETRIES = 2
    export = started(stub, make_export(alice))
    for _ in range(2):
        expect_not_found(stub, export)
        assert jobs.export_poll(export_id=export.pk).poll_in is not None
        make_due(export)
    expect_not_found(stub, export)

    nxt = jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.FAILED and nxt.poll_in is None and nxt.retry_in is None
    assert export.error_code == "ResourceNotFoundException"
    assert export.error_message == jobs.JOB_NOT_FOUND_MESSAGE
    detail = json.loads(export.error_detail)
    assert detail["operation"] == "DescribeDashboardSnapshotJob" and detail["request_id"] == "req-not-found"


@pytest.mark.django_db
def test_a_job_not_found_long_after_start_fails_at_once(stub, settings, alice):
    settings.EXPORT_NOT_FOUND_WINDOW_SECONDS = 30
    export = started(stub, make_export(alice))
    Export.objects.filter(pk=export.pk).update(submitted_at=timezone.now() - timedelta(seconds=31))
    expect_not_found(stub, export)

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.FAILED and export.not_found_polls == 0
    assert export.error_message == jobs.JOB_NOT_FOUND_MESSAGE


@pytest.mark.django_db
def test_a_poll_arriving_early_or_twice_does_nothing(stub, alice):
    export = started(stub, make_export(alice))
    Export.objects.filter(pk=export.pk).update(next_action_at=timezone.now() + timedelta(seconds=20))

    assert jobs.export_poll(export_id=export.pk) == jobs.Next()  # no call: the stub would complain

    make_due(export)
    expect_describe(stub, export, "COMPLETED")
    expect_result(stub, export, [file_result("https://files.example/0")])
    jobs.export_poll(export_id=export.pk)
    assert jobs.export_poll(export_id=export.pk) == jobs.Next()
    assert actions(export).count("export.completed") == 1 and export.files.count() == 1


@pytest.mark.django_db
def test_past_the_deadline_the_export_times_out_without_calling_quicksight(stub, alice):
    export = started(stub, make_export(alice))
    Export.objects.filter(pk=export.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.TIMED_OUT
    assert export.error_message.startswith("QuickSight did not finish this export within 2 hours.")
    assert actions(export)[-1] == "export.timed_out"


# --- the portal's queue ---


@pytest.mark.django_db
def test_queue_starts_at_most_the_quota_first_come_first_served(stub, settings, alice, bob):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 2
    exports = [make_export(user) for user in (alice, bob, alice, bob)]

    started_ids = jobs.queue_advance(ACCOUNT)

    assert started_ids == [str(exports[0].pk), str(exports[1].pk)]
    assert jobs.queue_advance(ACCOUNT) == []
    waiting = [Export.objects.get(pk=e.pk) for e in exports[2:]]
    assert [jobs.queue_position(e) for e in waiting] == [1, 2]
    assert jobs.queue_position(Export.objects.get(pk=exports[0].pk)) is None


@pytest.mark.django_db
def test_a_submit_message_for_an_export_not_yet_due_leaves_it_waiting(stub, settings, alice):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 1
    first, second = make_export(alice), make_export(alice)
    expect_start(stub, first)

    nxt = jobs.export_submit(export_id=second.pk)  # the older export takes the only slot

    assert nxt.start == [str(first.pk)]
    assert Export.objects.get(pk=second.pk).status == S.PENDING
    jobs.export_submit(export_id=first.pk)
    assert Export.objects.get(pk=first.pk).status == S.QUEUED


@pytest.mark.django_db
def test_reconcile_resends_overdue_steps_times_out_and_fills_free_slots(stub, settings, alice):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 2
    late_poll = started(stub, make_export(alice))
    expired = started(stub, make_export(alice))
    waiting = make_export(alice)
    long_ago = timezone.now() - timedelta(minutes=5)
    Export.objects.filter(pk=late_poll.pk).update(next_action_at=long_ago)
    Export.objects.filter(pk=expired.pk).update(deadline_at=long_ago)

    wake = jobs.reconcile()

    assert wake.timed_out == 1 and Export.objects.get(pk=expired.pk).status == S.TIMED_OUT
    assert wake.submit == [str(waiting.pk)]
    assert wake.poll == [str(late_poll.pk)]


@pytest.mark.django_db
def test_requester_can_cancel_only_while_waiting(stub, alice):
    running = started(stub, make_export(alice))
    waiting = make_export(alice)

    assert jobs.export_cancel(export=Export.objects.get(pk=waiting.pk), actor=alice)
    assert not jobs.export_cancel(export=running, actor=alice)

    assert Export.objects.get(pk=waiting.pk).status == S.CANCELLED
    assert running.status == S.QUEUED
    event = waiting.events.get(action="export.cancelled")
    assert event.actor_username == "alice"


@pytest.mark.django_db
def test_the_requester_cannot_cancel_an_export_that_is_submitting(alice):
    submitting = make_export(alice, status=S.SUBMITTING)

    assert not jobs.export_cancel(export=Export.objects.get(pk=submitting.pk), actor=alice)

    assert Export.objects.get(pk=submitting.pk).status == S.SUBMITTING
    assert actions(submitting) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("seen", "to"),
    [
        (S.PENDING, S.COMPLETED),  # never started: cannot have finished
        (S.PENDING, S.QUEUED),  # Start needs the running slot SUBMITTING holds
        (S.COMPLETED, S.FAILED),  # an ended export stays ended
        (S.CANCELLED, S.SUBMITTING),
        (S.RUNNING, S.CANCELLED),  # QuickSight has no cancel
    ],
)
def test_a_transition_not_in_the_table_is_refused_and_writes_nothing(alice, seen, to):
    export = make_export(alice, status=seen)

    assert jobs._transition(Export.objects.get(pk=export.pk), to, error_message="should not land") is False

    export.refresh_from_db()
    assert (export.status, export.error_message) == (seen, "")
    assert actions(export) == []


def test_the_table_leaves_from_no_ended_state_and_reaches_every_other_one():
    sources = set().union(*jobs.ALLOWED.values(), *jobs.ALLOWED_TO_PEOPLE.values())
    assert not sources & Export.TERMINAL
    assert set(jobs.ALLOWED) | set(jobs.ALLOWED_TO_PEOPLE) == set(S) - {S.PENDING}


@pytest.mark.django_db
def test_enqueue_waits_for_commit_and_a_rollback_sends_nothing(alice, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(enqueue, "send", lambda step, export_id, countdown=None: sent.append((step, export_id)))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        jobs.export_enqueue(make_export(alice))
        raise RuntimeError("the form failed after creating the row")
    assert sent == [] and not Export.objects.exists()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        export = make_export(alice)
        jobs.export_enqueue(export)
        assert sent == []
    assert sent == [("exports.tasks.submit_export", export.pk)]


def test_poll_countdown_doubles_from_two_seconds_to_a_thirty_second_cap(settings):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    export = Export(submitted_at=start)
    waits = []
    now = start
    for _ in range(8):
        wait = jobs.poll_countdown(export, now)
        waits.append(wait)
        now += timedelta(seconds=wait)
    assert 1.6 <= waits[0] <= 2.0 and 24 <= waits[-1] <= 30
    assert all(later >= earlier * 0.8 for earlier, later in zip(waits, waits[1:], strict=False))
    assert [min(30, 2 * 2**n) / 2 <= jobs.backoff(n) <= min(30, 2 * 2**n) for n in range(8)] == [True] * 8


@pytest.mark.django_db
def test_export_create_wakes_the_worker_only_once_committed(alice, monkeypatch, django_capture_on_commit_callbacks):
    from exports.services import export_create
    from tests.factories import make_sales_catalog

    make_sales_catalog()
    sent = []
    monkeypatch.setattr(enqueue, "send", lambda step, export_id, countdown=None: sent.append((step, export_id)))
    spec = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "top-products"}]}

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        export = export_create(user=alice, spec=spec)
        assert sent == []

    assert sent == [("exports.tasks.submit_export", export.pk)]
