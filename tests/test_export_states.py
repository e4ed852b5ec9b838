"""States people can read: completed with errors (its label, filter and "Retry failed files"), what to
do after a failure and the reference for support, what Cancel can still do, and the notice of an export
that ended while its requester was elsewhere."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exports import jobs
from exports.models import AuditEvent, Export, ExportFile
from exports.services import export_create
from tests.factories import make_sales_catalog
from tests.history_factory import make_dashboard, make_export

S = Export.Status
SPEC = {
    "dashboard": "sales",
    "files": [
        {"format": "PDF", "sheet": "summary"},
        {"format": "CSV", "visual": "order-lines"},
        {"format": "CSV", "visual": "top-products"},
    ],
    "parameters": {"Country": ["France", "Spain"]},
}


@pytest.fixture
def partly_done(alice):
    """alice's export of three files of which the second could not be produced."""
    make_sales_catalog()
    export = export_create(user=alice, spec=SPEC)
    Export.objects.filter(pk=export.pk).update(
        status=S.COMPLETED_WITH_ERRORS,
        error_code=jobs.PARTIAL_SUCCESS,
        error_message="1 of 3 files could not be produced; the others are ready.",
        error_request_id="req-result-1",
        finished_at=timezone.now(),
    )
    for index, fmt in enumerate(["PDF", "CSV", "CSV"]):
        failed = index == 1
        ExportFile.objects.create(
            export=export,
            index=index,
            format=fmt,
            s3_uri="" if failed else f"https://files.example/{index}",
            error_code="RENDER_FAILED" if failed else "",
            error_message="QuickSight could not produce this CSV file: boom" if failed else "",
        )
    export.refresh_from_db()
    return export


def retry(client, export, token):
    return client.post(reverse("exports:retry_failed", args=[export.pk]), {"submit_token": str(token)})


def test_completed_with_errors_reads_as_its_own_state_not_green_and_has_its_own_filter(client, alice, partly_done):
    complete = make_export(alice, make_dashboard("costs", "Costs"), status=S.COMPLETED)
    client.force_login(alice)

    page = client.get(reverse("exports:list")).content.decode()
    assert 'class="badge status-completed_with_errors">Completed with errors</span>' in page

    filtered = client.get(reverse("exports:list"), {"status": S.COMPLETED_WITH_ERRORS}).content.decode()
    assert f"export-{partly_done.pk}" in filtered and f"export-{complete.pk}" not in filtered
    detail = client.get(reverse("exports:detail", args=[partly_done.pk])).content.decode()
    assert 'id="export-status">Completed with errors</span>' in detail
    assert "Reference for support: export <code>" in detail and "req-result-1" in detail


def test_retry_failed_files_makes_one_export_of_just_those_files_same_parameters_audited(client, alice, partly_done):
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[partly_done.pk])).content.decode()
    assert "Retry failed files" in page
    token = uuid.uuid4()

    response = retry(client, partly_done, token)
    again = retry(client, partly_done, token)  # a double click

    retried = Export.objects.exclude(pk=partly_done.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("exports:detail", args=[retried.pk])
    assert again["Location"] == response["Location"]
    assert retried.spec == {**SPEC, "files": [SPEC["files"][1]]}
    assert retried.formats == "CSV" and retried.status == S.PENDING and retried.dashboard == partly_done.dashboard
    # RLS from the server as for any export, and the auditor sees which export it retries.
    assert retried.request["UserConfiguration"] == partly_done.request["UserConfiguration"]
    requested = AuditEvent.objects.get(export=retried, action="export.requested")
    assert requested.data["retry_of"] == str(partly_done.pk) and requested.actor == alice


def test_only_the_requester_may_retry_and_only_what_failed(client, alice, bob, audra, partly_done):
    for other in (bob, audra):
        client.force_login(other)
        assert retry(client, partly_done, uuid.uuid4()).status_code == 404
        assert "Retry failed files" not in client.get(reverse("exports:detail", args=[partly_done.pk])).content.decode()
    ok = make_export(alice, make_dashboard(), status=S.COMPLETED)
    client.force_login(alice)
    response = retry(client, ok, uuid.uuid4())
    assert response.status_code == 302
    assert Export.objects.count() == 2  # nothing created for an export without failed files


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("AccessDeniedException", "Send the reference below to your QuickSight administrator."),
        ("ThrottlingException", "too busy"),
        ("ResourceNotFoundException", "ask an administrator to sync the catalog"),
        ("InvalidParameterValueException", "Check the parameter values"),
        ("InternalFailureException", "if it fails again, send the reference below to support"),
        ("RENDER_FAILED", "if it fails again, send the reference below to support"),
    ],
)
def test_a_failed_export_says_what_to_do_next_and_what_to_quote(client, alice, code, advice):
    export = make_export(alice, make_dashboard(), status=S.FAILED)
    Export.objects.filter(pk=export.pk).update(
        error_code=code, error_message="QuickSight could not produce this export: boom", error_request_id="req-9f2"
    )
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "What to do next:</strong>" in page and advice in page
    assert f"export <code>{export.pk}</code>, AWS request <code>req-9f2</code>" in page


def test_a_timed_out_export_quotes_the_export_and_the_last_request(client, alice):
    export = make_export(alice, make_dashboard(), status=S.TIMED_OUT)
    Export.objects.filter(pk=export.pk).update(error_code="DeadlineExceeded")
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "fewer files or a narrower parameter range" in page
    assert f"AWS request <code>{export.start_request_id}</code>" in page


def test_cancel_says_while_it_can_and_why_once_it_cannot(client, alice):
    waiting = make_export(alice, make_dashboard(), status=S.PENDING)
    running = make_export(alice, make_dashboard(), status=S.RUNNING)
    client.force_login(alice)
    page = client.get(reverse("exports:detail", args=[waiting.pk])).content.decode()
    assert "You can cancel this export while it waits in the portal&#x27;s queue." in page
    page = client.get(reverse("exports:detail", args=[running.pk])).content.decode()
    assert "can no longer be cancelled: QuickSight is producing the files" in page
    assert 'action="/exports/' + str(running.pk) + '/cancel/"' not in page

    # It moved on between the page and the click: the refusal says where it is now.
    Export.objects.filter(pk=waiting.pk).update(status=S.COMPLETED)
    page = client.post(reverse("exports:cancel", args=[waiting.pk]), follow=True).content.decode()
    assert "It can no longer be cancelled: QuickSight has finished the files." in page


def test_a_cancelled_export_reads_neutral_not_as_an_error(client, alice):
    export = make_export(alice, make_dashboard(), status=S.PENDING)
    client.force_login(alice)
    client.post(reverse("exports:cancel", args=[export.pk]))
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert '<p class="note" id="export-message">Cancelled by alice.</p>' in page
    row = client.get(reverse("exports:list")).content.decode()
    assert '<div class="note">Cancelled by alice.</div>' in row


def test_auditors_get_no_rerun_button_on_someone_elses_export(client, alice, audra):
    export = make_export(alice, make_dashboard(), status=S.COMPLETED)
    client.force_login(audra)
    assert 'id="rerun"' not in client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    client.force_login(alice)
    assert 'id="rerun"' in client.get(reverse("exports:detail", args=[export.pk])).content.decode()


def ends_by_itself(export: Export) -> None:
    """The lifecycle ends the export (its deadline passes) while nobody looks."""
    Export.objects.filter(pk=export.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert jobs.reconcile().timed_out == 1


def test_an_export_that_ended_elsewhere_is_counted_in_the_navigation_and_announced_once(client, alice):
    export = make_export(alice, make_dashboard(), status=S.RUNNING)
    ends_by_itself(export)
    client.force_login(alice)

    first = client.get(reverse("exports:dashboards")).content.decode()
    assert '<span class="nav-count">1<span class="visually-hidden"> ended since you last looked</span></span>' in first
    link = reverse("exports:detail", args=[export.pk])
    assert f'Your export of <a href="{link}">Sales overview</a> timed out.' in first

    second = client.get(reverse("exports:schedules")).content.decode()
    assert 'id="end-notices"' not in second  # shown once
    assert 'class="nav-count">1<' in second  # counted until alice looks at it

    client.get(reverse("exports:list"))
    assert 'class="nav-count"' not in client.get(reverse("exports:dashboards")).content.decode()


def test_watching_an_export_end_or_cancelling_it_leaves_nothing_to_announce(client, alice):
    watched = make_export(alice, make_dashboard(), status=S.RUNNING)
    ends_by_itself(watched)
    cancelled = make_export(alice, make_dashboard(), status=S.PENDING)
    client.force_login(alice)
    client.get(reverse("exports:row", args=[watched.pk]))  # the row polled as it ended
    client.post(reverse("exports:cancel", args=[cancelled.pk]))
    page = client.get(reverse("exports:dashboards")).content.decode()
    assert 'class="nav-count"' not in page and 'id="end-notices"' not in page


@pytest.mark.parametrize(("token", "status"), [("not-a-uuid", 302), ("", 302), ("\x00", 400), ("9" * 5000, 400)])
def test_hostile_retry_tokens_get_words_not_a_server_error(client, alice, partly_done, token, status):
    client.force_login(alice)
    response = client.post(reverse("exports:retry_failed", args=[partly_done.pk]), {"submit_token": token})
    assert response.status_code == status
    assert Export.objects.count() == (2 if status == 302 else 1)
