"""Writes: exports, grants, RLS mappings, destinations. Every change and its audit event share one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from exports import enqueue, events, quota
from exports.models import Dashboard, Export, Grant, RlsTagMapping, S3Destination, UserPreference
from exports.snapshot import (
    Problem,
    SnapshotRequestInvalid,
    build_request,
    parse_spec,
    request_to_json,
    sent_request,
)
from exports.timezones import zone_problem


def _submitted_with(user, submit_token: uuid.UUID | None) -> Export | None:
    if submit_token is None:
        return None
    return Export.objects.filter(user=user, submit_token=submit_token).first()


def export_create(
    *,
    user,
    spec: Any,
    ip_address: str | None = None,
    submit_token: uuid.UUID | None = None,
    retry_of: Export | None = None,
) -> Export:
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
        export = _create(user, export_id, built, parsed, request_json, ip_address, submit_token, retry_of)
    except IntegrityError:
        # Two requests with one token at once: the other one's insert committed first.
        earlier = _submitted_with(user, submit_token)
        if earlier is None:
            raise
        return earlier
    return export


def _create(user, export_id, built, parsed, request_json, ip_address, submit_token, retry_of) -> Export:
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
        events.export_requested(
            export=export,
            actor=user,
            dashboard=built.dashboard,
            identity=built.identity,
            ip_address=ip_address,
            retry_of=retry_of,
        )
        enqueue.after_commit(enqueue.SUBMIT, export.pk)
    return export


def failed_file_groups(export: Export) -> list[int]:
    """Positions (in the request) of the file groups of which some part could not be produced."""
    return sorted(set(export.files.exclude(error_code="").values_list("index", flat=True)))


def export_retry_failed(
    *, export: Export, user, ip_address: str | None = None, submit_token: uuid.UUID | None = None
) -> Export:
    """A new export of just the file groups that failed: same dashboard, parameters and destination,
    built and checked like any other (today's RLS identity, the submission limit, `export.requested`
    naming the export it retries). Raises SnapshotRequestInvalid when there is nothing to retry."""
    failed = failed_file_groups(export) if export.status == Export.Status.COMPLETED_WITH_ERRORS else []
    if export.user_id != user.pk or not failed:
        raise SnapshotRequestInvalid([Problem("files", "retry-failed", "this export has no failed files of yours")])
    files = export.spec.get("files", [])
    spec = {**export.spec, "files": [files[i] for i in failed if i < len(files)]}
    return export_create(user=user, spec=spec, ip_address=ip_address, submit_token=submit_token, retry_of=export)


# --- grants, RLS mappings, S3 destinations: every write validated, with its audit event ---
# The Django admin, seed_demo and any later API come through here.

Setting = Grant | RlsTagMapping | S3Destination


def setting_save(
    *, obj: Setting, actor=None, ip_address: str | None = None, many: dict[str, Iterable[Any]] | None = None
) -> Setting:
    """Create or change a grant, mapping or destination as `obj` now holds it (and its many-to-many
    values, e.g. {"allowed_groups": [...]}), after the model's rules; one `<name>.created|changed`
    event with the values before and after, none when nothing changed. Raises ValidationError."""
    with transaction.atomic():
        # What the database holds now: `obj` may already carry the new values (a bound admin form's).
        before = events.setting_values(type(obj).objects.get(pk=obj.pk)) if obj.pk else None
        obj.full_clean()
        obj.save()
        for name, values in (many or {}).items():
            getattr(obj, name).set(values)
        after = events.setting_values(obj)
        if before != after:
            verb = "changed" if before is not None else "created"
            events.setting_written(obj=obj, verb=verb, before=before, after=after, actor=actor, ip_address=ip_address)
    return obj


def setting_delete(*, obj: Setting, actor=None, ip_address: str | None = None) -> None:
    with transaction.atomic():
        events.setting_written(
            obj=obj, verb="deleted", before=events.setting_values(obj), after=None, actor=actor, ip_address=ip_address
        )
        obj.delete()


def grant_create(*, dashboard: Dashboard, user=None, group=None, actor=None, ip_address: str | None = None) -> Grant:
    """Share a dashboard with one user or one group."""
    grant = Grant(dashboard=dashboard, user=user, group=group)
    return setting_save(obj=grant, actor=actor, ip_address=ip_address)


def grant_delete(*, grant: Grant, actor=None, ip_address: str | None = None) -> None:
    setting_delete(obj=grant, actor=actor, ip_address=ip_address)


def rls_mapping_set(
    *,
    tag_key: str,
    tag_value: str,
    user=None,
    group=None,
    dashboard: Dashboard | None = None,
    actor=None,
    ip_address: str | None = None,
) -> RlsTagMapping:
    """Give a user or group the value of one RLS tag, on one dashboard or (None) on every one: creates
    the mapping, or changes the value of the one that exists for that subject, key and scope."""
    mapping = RlsTagMapping.objects.filter(user=user, group=group, dashboard=dashboard, tag_key=tag_key).first()
    if mapping is None:
        mapping = RlsTagMapping(user=user, group=group, dashboard=dashboard, tag_key=tag_key)
    mapping.tag_value = tag_value
    return setting_save(obj=mapping, actor=actor, ip_address=ip_address)


def rls_mapping_delete(*, mapping: RlsTagMapping, actor=None, ip_address: str | None = None) -> None:
    setting_delete(obj=mapping, actor=actor, ip_address=ip_address)


def destination_create(
    *,
    name: str,
    bucket_name: str,
    bucket_prefix: str,
    region: str,
    allowed_groups: Iterable[Group] = (),
    actor=None,
    ip_address: str | None = None,
) -> S3Destination:
    destination = S3Destination(name=name, bucket_name=bucket_name, bucket_prefix=bucket_prefix, region=region)
    return setting_save(
        obj=destination, actor=actor, ip_address=ip_address, many={"allowed_groups": list(allowed_groups)}
    )


def destination_delete(*, destination: S3Destination, actor=None, ip_address: str | None = None) -> None:
    setting_delete(obj=destination, actor=actor, ip_address=ip_address)


def preference_set_time_zone(*, user, time_zone: str) -> UserPreference:
    """Save the user's time zone ("" follows the browser); the name must be an IANA zone."""
    if time_zone and (problem := zone_problem(time_zone)):
        raise ValueError(problem)
    preference, _ = UserPreference.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return preference
