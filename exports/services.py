"""Writes on exports. Every change and its audit event share one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from exports import audit, jobs, quota
from exports.models import Export
from exports.snapshot import SnapshotRequestInvalid, build_request, parse_spec, request_to_json, sent_request


def _submitted_with(user, submit_token: uuid.UUID | None) -> Export | None:
    if submit_token is None:
        return None
    return Export.objects.filter(user=user, submit_token=submit_token).first()


def export_create(*, user, spec: Any, ip_address: str | None = None, submit_token: uuid.UUID | None = None) -> Export:
    """Build the request from a spec (a dict, as JSON gives it) and record the export as PENDING.

    Raises SnapshotRequestInvalid carrying every problem, or quota.LimitReached (audited) over
    EXPORT_SUBMISSIONS_PER_HOUR; creates nothing then. With the form's
    one-time `submit_token`, a repeat of a submission that already created an export (a double
    click, a resent POST) answers that export and creates nothing.
    """
    earlier = _submitted_with(user, submit_token)
    if earlier is not None:
        return earlier
    parsed = parse_spec(spec)
    export_id = uuid.uuid4()
    built = build_request(parsed, user=user, export_id=export_id)
    if not built.ok:
        raise SnapshotRequestInvalid(built.problems)
    request_json = request_to_json(built.kwargs)
    quota.user_limit_take(quota.EXPORT_SUBMISSIONS, user=user, ip_address=ip_address)
    try:
        export = _create(user, export_id, built, parsed, request_json, ip_address, submit_token)
    except IntegrityError:
        # Two requests with one token at once: the other one's insert committed first.
        earlier = _submitted_with(user, submit_token)
        if earlier is None:
            raise
        return earlier
    return export


def _create(user, export_id, built, parsed, request_json, ip_address, submit_token) -> Export:
    with transaction.atomic():
        export = Export.objects.create(
            id=export_id,
            user=user,
            dashboard=built.dashboard,
            destination=built.destination,
            status=Export.Status.PENDING,
            spec=parsed.as_json(),
            request=request_json,
            formats=" ".join(sent_request(request_json).formats),
            aws_account_id=built.dashboard.aws_account_id,
            region=built.dashboard.region,
            snapshot_job_id=built.kwargs["SnapshotJobId"],
            submit_token=submit_token,
        )
        audit.record(
            "export.requested",
            actor=user,
            export=export,
            target=export,
            data={
                "dashboard": built.dashboard.dashboard_id,
                "spec": export.spec,
                "request": request_json,
                "rls_identity": {"tags": built.identity.tags, "sources": built.identity.sources},
            },
            ip_address=ip_address,
        )
        jobs.export_enqueue(export)  # sends submit_export once this transaction commits
    return export
