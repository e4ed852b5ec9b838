"""Every mail the portal sends: to the requester when an export ends, to each recipient when their
scheduled export ends, to a schedule's owner when a run skips someone or the schedule pauses itself.
Absolute links to the portal's pages only (PORTAL_BASE_URL): never a signed file link (those are
made fresh on click), never RLS tag values."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.urls import reverse

from exports import aws, downloads, quicksight
from exports.models import Export, Schedule, ScheduleRun
from exports.recurrence import of_schedule

log = logging.getLogger(__name__)
MIMETYPES = {
    "PDF": "application/pdf",
    "EXCEL": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "CSV": "text/csv",
}

DONE_WORDS = {
    Export.Status.COMPLETED: "is ready",
    Export.Status.COMPLETED_WITH_ERRORS: "is partly ready",
    Export.Status.FAILED: "failed",
    Export.Status.TIMED_OUT: "timed out",
    Export.Status.CANCELLED: "was cancelled",
}


def portal_url(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def run_time_words(run: ScheduleRun) -> str:
    """'Monday 30 November 2026, 07:00 (Europe/Paris)': the occurrence in the schedule's zone."""
    from zoneinfo import ZoneInfo

    local: datetime = run.scheduled_for.astimezone(ZoneInfo(run.schedule.timezone))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({run.schedule.timezone})"


def _name(user) -> str:
    return user.get_short_name() or user.username


def _send(message: EmailMessage, what: str) -> None:
    try:
        message.send()
    except OSError as exc:  # SMTP trouble must not undo a run or an export
        log.warning("could not send %s: %s", what, exc)


def export_ended_mail(export: Export, *, attachments: list[tuple[str, bytes, str]] | None = None) -> None:
    """Tell the recipient that their scheduled export ended: dashboard, run time, files, the export page,
    and how to stop receiving it."""
    run = export.schedule_run
    user = export.user
    if run is None or not user.email:
        return
    schedule = run.schedule
    when = run_time_words(run)
    done = DONE_WORDS.get(export.status, "ended")
    subject = f"{export.dashboard.name}: your scheduled export of {when} {done}"
    lines = [f"Hello {_name(user)},", ""]
    owner = "your" if schedule.owner_id == user.pk else f"{schedule.owner.username}'s"
    lines.append(
        f"The export of {export.dashboard.name} that {owner} schedule made for you, under your own access, {done}."
    )
    lines.append(f"Run time: {when}" + (" (run late, after the portal was down)" if run.is_late else ""))
    if export.error_message:
        lines.append(export.error_message)
    files = list(export.files.order_by("index"))
    if files:
        lines.append("Files:")
        for export_file in files:
            lines.append(f"  - {export_file}: {export_file.error_message or 'ready to download'}")
    if schedule.delivery == Schedule.Delivery.S3 and export.destination_id:
        lines.append(f"The files were delivered to the S3 destination {export.destination}.")
    if attachments:
        lines.append("The files are attached.")
    elif schedule.delivery == Schedule.Delivery.ATTACH and export.status in Export.WITH_FILES:
        lines.append("The files could not be attached (too large, or not reachable just now): use the portal.")
    lines += ["", f"Open it in the portal: {portal_url(reverse('exports:detail', args=[export.pk]))}", ""]
    if schedule.owner_id == user.pk:
        lines.append(
            "You receive this because you own the schedule. To stop it, pause it in the portal (My schedules)."
        )
    else:
        lines.append(
            f"You receive this because {schedule.owner.username} added you to the schedule "
            f"'{schedule_words(schedule)}'. To stop receiving it, opt out of it in the portal (My schedules), "
            f"or ask {schedule.owner.username} to pause it."
        )
    message = EmailMessage(subject, "\n".join(lines), None, [user.email])
    for name, content, mimetype in attachments or []:
        message.attach(name, content, mimetype)
    _send(message, f"the mail of scheduled export {export.pk}")


def schedule_words(schedule: Schedule) -> str:
    return of_schedule(schedule).words()


def skipped_mail(run: ScheduleRun, skipped: list[tuple[str, str]]) -> None:
    """Tell the owner who a run skipped and why (the reasons name no RLS values)."""
    schedule = run.schedule
    owner = schedule.owner
    if not skipped or not owner.email:
        return
    subject = f"{schedule.dashboard.name}: {len(skipped)} recipient(s) skipped in the run of {run_time_words(run)}"
    lines = [f"Hello {_name(owner)},", "", f"Your schedule '{schedule_words(schedule)}' skipped:"]
    lines += [f"  - {username}: {reason}" for username, reason in skipped]
    lines += ["", "Each recipient gets an export under their own access; ask an administrator to grant it."]
    _send(EmailMessage(subject, "\n".join(lines), None, [owner.email]), f"the skipped mail of run {run.pk}")


def paused_mail(schedule: Schedule, reason: str) -> None:
    owner = schedule.owner
    if not owner.email:
        return
    subject = f"Your schedule of {schedule.dashboard.name} was paused"
    lines = [
        f"Hello {_name(owner)},",
        "",
        f"Your schedule '{schedule_words(schedule)}' of {schedule.dashboard.name} paused itself: {reason}",
        "It makes no exports until you resume it in the portal (My schedules).",
    ]
    _send(EmailMessage(subject, "\n".join(lines), None, [owner.email]), f"the paused mail of schedule {schedule.pk}")


def attachments_for(export: Export) -> list[tuple[str, bytes, str]]:
    """The export's ready files as (name, content, type) when together they fit
    SCHEDULE_ATTACHMENT_MAX_BYTES; [] when they do not or cannot be read now (the mail then says so)."""
    limit = settings.SCHEDULE_ATTACHMENT_MAX_BYTES
    files = [f for f in export.files.order_by("index") if f.is_ready]
    attached, total, fresh = [], 0, None
    try:
        for export_file in files:
            if export_file.archived_file:
                with export_file.archived_file.open("rb") as source:
                    content = source.read(limit - total + 1)
            else:
                uri = export_file.s3_uri
                if not uri.startswith("s3://"):
                    # QuickSight's https links lapse: ask for fresh ones, as a download does.
                    fresh = fresh or quicksight.job_outcome(export, max_wait=downloads.DOWNLOAD_QUOTA_WAIT_SECONDS)
                    uri = fresh.fresh_uri(export_file.index, export_file.part, export_file.s3_uri)
                    if not uri:
                        return []
                with downloads._open_source(export, uri) as source:
                    content = source.read(limit - total + 1)  # one byte more tells it does not fit
            total += len(content)
            if total > limit:
                return []
            attached.append((downloads.download_filename(export_file), content, MIMETYPES[export_file.format]))
    except (aws.AwsError, OSError) as exc:
        log.warning("could not attach the files of export %s: %s", export.pk, type(exc).__name__)
        return []
    return attached


# --- the end of an export ---

SUBJECTS = {
    Export.Status.COMPLETED: "Your export of {name} is ready",
    Export.Status.COMPLETED_WITH_ERRORS: "Your export of {name} is partly ready",
    Export.Status.FAILED: "Your export of {name} failed",
    Export.Status.TIMED_OUT: "Your export of {name} timed out",
    Export.Status.CANCELLED: "Your export of {name} was cancelled",
}
# The error code of a COMPLETED_WITH_ERRORS export (exports/jobs.py).
PARTIAL_SUCCESS = "PartialSuccess"


def export_ended(export: Export) -> None:
    """The mail of an export that reached its end: to its recipient when a schedule made it, with the
    files attached when the schedule asks and they fit; else to the requester."""
    if export.is_scheduled:
        if export.schedule_run is None:
            return
        attachments = None
        if export.schedule_run.schedule.delivery == Schedule.Delivery.ATTACH and export.status in Export.WITH_FILES:
            attachments = attachments_for(export)
        export_ended_mail(export, attachments=attachments)
        return
    requester_mail(export)


def requester_mail(export: Export) -> None:
    """Email the requester that the export ended (no RLS values, no file links: the portal has them)."""
    if not export.user.email or export.status not in SUBJECTS:
        return
    subject = SUBJECTS[export.status].format(name=export.dashboard.name)
    lines = [f"Hello {_name(export.user)},", ""]
    lines.append(f"{subject}.")
    if export.error_message:
        lines.append(export.error_message)
    for export_file in export.files.order_by("index", "part"):
        state = export_file.error_message or "ready to download"
        lines.append(f"  - {export_file}: {state}")
    lines += ["", f"Open it in the portal: {portal_url(reverse('exports:detail', args=[export.pk]))}"]
    try:
        send_mail(subject, "\n".join(lines), None, [export.user.email])
    except OSError as exc:  # SMTP trouble must not undo a finished export
        log.warning("could not email the requester of export %s: %s", export.pk, exc)
