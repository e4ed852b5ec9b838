"""Issue #14's polling with DescribeDashboardSnapshotJobResult: the gateway's answer before a job ends
in both shapes (AWS's documented error, quicksight_local's 200 with a status), the poll at the expected
end asking only for the Result, and a freed slot's Start going before the ended export's files and mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from exports import enqueue, jobs, quicksight
from exports.models import Export
from tests.jobs_support import make_export
from tests.test_jobs_lifecycle import (
    ARN,
    expect_describe,
    expect_result,
    expect_start,
    file_result,
    key,
    make_due,
    requested_file,
)

S = Export.Status


@pytest.fixture
def stub(quicksight_stubber):
    return quicksight_stubber


def expect_not_terminal_error(stub, export: Export, code: str = "PreconditionNotMetException") -> None:
    """What AWS documents: "Dashboard Snapshot Job with id <id> has not reached a terminal state"."""
    stub.add_client_error(
        "describe_dashboard_snapshot_job_result",
        code,
        f"Dashboard Snapshot Job with id {export.snapshot_job_id} has not reached a terminal state.",
        400,
        response_meta={"RequestId": "req-not-ended"},
        expected_params=key(export),
    )


def expect_result_status(stub, export: Export, status: str) -> None:
    stub.add_response(
        "describe_dashboard_snapshot_job_result",
        {"Arn": ARN, "JobStatus": status, "RequestId": f"req-{status.lower()}", "Status": 200},
        key(export),
    )


def learned(user, seconds: float = 20.0) -> None:
    """One completed export of the same dashboard and formats: the estimate is `seconds`."""
    history = make_export(user)
    Export.objects.filter(pk=history.pk).update(status=S.COMPLETED, run_seconds=seconds, finished_at=timezone.now())


def at_expected_end(stub, export: Export, seconds: float = 20.3) -> Export:
    expect_start(stub, export)
    jobs.export_submit(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(submitted_at=timezone.now() - timedelta(seconds=seconds))
    make_due(export)
    return Export.objects.get(pk=export.pk)


# --- the gateway ---


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["PreconditionNotMetException", "InvalidParameterValueException"])
def test_the_result_of_a_job_not_ended_is_not_ended_in_awss_error_shape(stub, alice, code):
    export = make_export(alice)
    expect_not_terminal_error(stub, export, code)  # the code AWS uses is not documented: the message is

    answer = quicksight.job_result(export)

    assert answer == quicksight.JobNotEnded(status="", request_id="req-not-ended")


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["QUEUED", "RUNNING"])
def test_the_result_of_a_job_not_ended_is_not_ended_in_the_status_shape(stub, alice, status):
    export = make_export(alice)
    expect_result_status(stub, export, status)

    answer = quicksight.job_result(export)

    assert answer == quicksight.JobNotEnded(status=status, request_id=f"req-{status.lower()}")


@pytest.mark.django_db
def test_the_result_of_an_ended_job_is_its_outcome_with_quicksights_run_time(stub, alice):
    export, uri = make_export(alice), "https://files.example/0"
    group = {"Files": [requested_file(export, 0)], **file_result(uri)}
    began = timezone.now() - timedelta(seconds=30)
    stub.add_response(
        "describe_dashboard_snapshot_job_result",
        {
            "Arn": ARN,
            "JobStatus": "COMPLETED",
            "CreatedTime": began,
            "LastUpdatedTime": began + timedelta(seconds=19.5),
            "RequestId": "req-result",
            "Status": 200,
            "Result": {"AnonymousUsers": [{"FileGroups": [group]}]},
        },
        key(export),
    )

    answer = quicksight.job_result(export)

    assert isinstance(answer, quicksight.JobOutcome)
    assert (answer.status, answer.run_seconds, answer.files[0].uri) == ("COMPLETED", 19.5, "https://files.example/0")


@pytest.mark.django_db
def test_another_permanent_error_of_the_result_is_not_taken_for_not_ended(stub, alice):
    export = make_export(alice)
    stub.add_client_error("describe_dashboard_snapshot_job_result", "AccessDeniedException", "no", 401)

    with pytest.raises(quicksight.aws.PermanentAwsError) as raised:
        quicksight.job_result(export)

    assert raised.value.code == "AccessDeniedException"


# --- the poll at the expected end ---


@pytest.mark.django_db
def test_at_the_expected_end_one_result_call_completes_the_export(stub, alice):
    learned(alice)
    export = at_expected_end(stub, make_export(alice))
    expect_result(stub, export, [file_result("https://files.example/0")])  # no Describe: the stub would refuse it

    nxt = jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.COMPLETED and nxt.poll_in is None
    assert export.files.get().s3_uri == "https://files.example/0"


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["error", "status"])
def test_a_job_still_running_at_its_expected_end_is_asked_for_its_result_again_soon(stub, alice, shape):
    learned(alice)
    export = at_expected_end(stub, make_export(alice))
    if shape == "error":
        expect_not_terminal_error(stub, export)
    else:
        expect_result_status(stub, export, "RUNNING")

    nxt = jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == (S.QUEUED if shape == "error" else S.RUNNING)  # AWS's error does not say which
    assert export.error_code == "" and 0.8 <= nxt.poll_in <= 1.0
    make_due(export)
    expect_result(stub, export, [file_result("https://files.example/0")])
    jobs.export_poll(export_id=export.pk)
    assert Export.objects.get(pk=export.pk).status == S.COMPLETED


@pytest.mark.django_db
def test_a_failed_job_seen_by_its_result_keeps_quicksights_reason(stub, alice):
    learned(alice)
    export = at_expected_end(stub, make_export(alice))
    expect_result(stub, export, error={"ErrorType": "DatasetTimeout", "ErrorMessage": "The dataset query timed out."})

    jobs.export_poll(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == S.FAILED and export.error_code == "DatasetTimeout"
    assert export.error_message == "QuickSight could not produce this export: The dataset query timed out."


@pytest.mark.django_db
def test_before_the_expected_end_and_before_anything_is_learned_the_poll_describes(stub, alice):
    export = at_expected_end(stub, make_export(alice), seconds=2)  # nothing learned: the doubling schedule
    expect_describe(stub, export, "RUNNING")

    jobs.export_poll(export_id=export.pk)

    assert Export.objects.get(pk=export.pk).status == S.RUNNING


# --- a freed slot ---


@pytest.mark.django_db(transaction=True)  # as in a worker: no transaction around the poll
def test_a_seen_end_starts_the_next_waiting_export_before_the_files_audit_and_mail(stub, settings, alice, monkeypatch):
    settings.SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = 1
    learned(alice)
    running = at_expected_end(stub, make_export(alice))
    waiting = make_export(alice)
    sent = []

    def send(step, export_id, countdown=None):
        ended = Export.objects.get(pk=running.pk)
        sent.append((step, str(export_id), ended.status, ended.events.count(), len(mail.outbox)))

    monkeypatch.setattr(enqueue, "send", send)
    expect_result(stub, running, [file_result("https://files.example/0")])
    events_before = running.events.count()

    nxt = jobs.export_poll(export_id=running.pk)

    # Sent while the ended export was still RUNNING in the portal: no files, no event, no mail yet.
    assert sent == [(enqueue.SUBMIT, str(waiting.pk), S.QUEUED, events_before, 0)]
    assert Export.objects.get(pk=waiting.pk).status == S.SUBMITTING and nxt.start == []
    assert Export.objects.get(pk=running.pk).status == S.COMPLETED and len(mail.outbox) == 1
