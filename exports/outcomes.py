"""How an export's state reads to its requester: what to do after a failure, the reference to quote to
support, and whether it can still be cancelled. Words only, from the export's own fields; the
lifecycle (exports/jobs.py) decides the states and ALLOWED_TO_PEOPLE who may cancel from where."""

from __future__ import annotations

from dataclasses import dataclass

from exports.models import Export

S = Export.Status

RUN_AGAIN = "Run the export again; if it fails again, send the reference below to support."
# What to do next, by the class of the error QuickSight (or the portal) gave: error_code -> words.
NEXT_STEPS = {
    "ThrottlingException": "QuickSight was too busy to take this export. Run it again in a few minutes.",
    "LimitExceededException": (
        "Your organisation reached QuickSight's limit of exports running at once. Run it again in a few minutes; "
        "if this keeps happening, ask your QuickSight administrator to raise the limit."
    ),
    "AccessDeniedException": (
        "The portal is not allowed to export this dashboard in QuickSight; nothing you change here will fix it. "
        "Send the reference below to your QuickSight administrator."
    ),
    "ResourceNotFoundException": (
        "The dashboard, a sheet or a visual has changed in QuickSight. Open the dashboard again, choose the files "
        "anew and run it; if it still fails, ask an administrator to sync the catalog."
    ),
    "InvalidParameterValueException": (
        "QuickSight refused a value of the request. Check the parameter values and the files, then run it again; "
        "if it fails again, send the reference below to support."
    ),
    "UnsupportedUserEditionException": (
        "Your organisation's QuickSight edition cannot export snapshots. Ask your QuickSight administrator."
    ),
    "UnsupportedPricingPlanException": (
        "Your organisation's QuickSight pricing plan cannot export snapshots. Ask your QuickSight administrator."
    ),
    "DeadlineExceeded": "Run it again later, or with fewer files or a narrower parameter range.",
}
NEXT_STEPS["JobNotFound"] = NEXT_STEPS["ResourceNotFoundException"]


def next_step(export: Export) -> str:
    """After FAILED or TIMED_OUT: what the requester can do, in words; "" otherwise."""
    if export.status not in (S.FAILED, S.TIMED_OUT):
        return ""
    # QuickSight internal failures, 5xx, a failed job or failed files: try again, then support.
    return NEXT_STEPS.get(export.error_code, RUN_AGAIN)


@dataclass(frozen=True)
class SupportReference:
    export_id: str
    aws_request_id: str  # of the call that failed; "" when there was none (a deadline, a file-less job)

    def __str__(self) -> str:
        text = f"export {self.export_id}"
        return f"{text}, AWS request {self.aws_request_id}" if self.aws_request_id else text


def support_reference(export: Export) -> SupportReference | None:
    """What to quote to support for an export that failed or ended with errors."""
    if export.status not in (S.FAILED, S.TIMED_OUT, S.COMPLETED_WITH_ERRORS):
        return None
    return SupportReference(str(export.pk), export.error_request_id or export.start_request_id)


CANCEL_NOTES = {
    S.PENDING: "You can cancel this export while it waits in the portal's queue.",
    S.SUBMITTING: "It can no longer be cancelled: the portal is handing it to QuickSight.",
    S.QUEUED: "It can no longer be cancelled: QuickSight has accepted it and cannot stop a snapshot job.",
    S.RUNNING: "It can no longer be cancelled: QuickSight is producing the files and cannot stop a snapshot job.",
    S.COMPLETED: "It can no longer be cancelled: QuickSight has finished the files.",
    S.COMPLETED_WITH_ERRORS: "It can no longer be cancelled: QuickSight has finished the files.",
    S.FAILED: "It can no longer be cancelled: it has ended.",
    S.TIMED_OUT: "It can no longer be cancelled: it has ended.",
    S.CANCELLED: "It can no longer be cancelled: it was cancelled already.",
}


def cancel_note(export: Export) -> str:
    """Whether the export can still be cancelled and, when not, why."""
    return CANCEL_NOTES.get(export.status, "")
