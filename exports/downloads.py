"""Downloads: a fresh link on every click, each one audited; and the optional archive in our storage.

A link is handed to the browser in a 302 and nowhere else: it is not stored, rendered, logged or
written into the audit data. QuickSight's https links lapse (their lifetime is not documented),
so each click asks DescribeDashboardSnapshotJobResult again; s3:// results are signed here.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from exports import aws, events, quicksight, quota
from exports.models import Export, ExportFile
from exports.snapshot_rules import FILE_EXTENSIONS

PRESIGNED_SECONDS = 60
DOWNLOAD_QUOTA_WAIT_SECONDS = 3.0
COPY_CHUNK = 1024 * 1024


class DownloadUnavailable(Exception):
    """The file cannot be downloaded now; the message is for the user."""


@dataclass(frozen=True)
class DownloadTarget:
    """Either a short-lived URL to redirect to, or an archived file to stream from our storage."""

    url: str | None = None
    archived: ExportFile | None = None
    filename: str = ""


def download_filename(export_file: ExportFile) -> str:
    export = export_file.export
    base = slugify(export.dashboard.name) or "export"
    number = f"{export_file.index + 1}" + (f"-{export_file.part + 1}" if export_file.parts > 1 else "")
    return f"{base}-{export.created_at:%Y%m%d-%H%M}-{number}.{FILE_EXTENSIONS.get(export_file.format, 'bin')}"


def _is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def _split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path.lstrip("/")


def _fresh_uri(export_file: ExportFile, user) -> str:
    try:
        # A person's click: it draws on the interactive share of the quota and on their own budget,
        # so that clicking in a loop cannot starve the exports being started and polled; it waits
        # a moment for the quota rather than answer an error.
        outcome = quicksight.job_outcome(export_file.export, who=str(user.pk), max_wait=DOWNLOAD_QUOTA_WAIT_SECONDS)
    except aws.AwsError as exc:
        if exc.retryable:
            raise DownloadUnavailable("QuickSight is busy right now; try again in a few seconds.") from exc
        raise DownloadUnavailable(f"QuickSight did not give a fresh link for this file ({exc.code}).") from exc
    uri = outcome.fresh_uri(export_file.index, export_file.part, export_file.s3_uri)
    if not uri:
        raise DownloadUnavailable("QuickSight no longer has this file. Run the export again.")
    return uri


def _s3_region(export: Export) -> str:
    return export.destination.region if export.destination_id else export.region


def presigned_s3_url(uri: str, *, region: str, filename: str, expires: int = PRESIGNED_SECONDS) -> str:
    bucket, key = _split_s3(uri)
    return aws.s3_client(region).generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{filename}"'},
        ExpiresIn=expires,
    )


def export_file_download(*, export_file: ExportFile, user, ip_address: str | None) -> DownloadTarget:
    """Resolve where this file comes from right now and record the download. Access is checked by the caller.

    Raises quota.LimitReached (audited) when the user is over DOWNLOADS_PER_MINUTE clicks.
    """
    export = export_file.export
    if not export_file.is_ready:
        raise DownloadUnavailable(export_file.error_message or "This file is not ready.")
    quota.user_limit_take(quota.DOWNLOADS, user=user, ip_address=ip_address, export=export, target=export_file)
    filename = download_filename(export_file)
    if export_file.archived_file:
        target, source = DownloadTarget(archived=export_file, filename=filename), "archive"
    else:
        uri, source = export_file.s3_uri, "s3"
        if not _is_s3(uri):
            uri, source = _fresh_uri(export_file, user), "quicksight"
        url = presigned_s3_url(uri, region=_s3_region(export), filename=filename) if _is_s3(uri) else uri
        target = DownloadTarget(url=url, filename=filename)
    data = {
        "file": export_file.index,
        "part": export_file.part,
        "parts": export_file.parts,
        "format": export_file.format,
        "filename": filename,
        "source": source,
    }
    if export_file.sha256:
        data["sha256"] = export_file.sha256
    with transaction.atomic():
        events.file_downloaded(export=export, export_file=export_file, actor=user, data=data, ip_address=ip_address)
    return target


# --- the archive (ARCHIVE_EXPORTS) ---


@contextmanager
def _open_source(export: Export, uri: str) -> Iterator[IO[bytes]]:
    if _is_s3(uri):
        bucket, key = _split_s3(uri)
        try:
            body = aws.s3_client(_s3_region(export)).get_object(Bucket=bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise aws.translate(exc) from exc
        try:
            yield body
        finally:
            body.close()
    else:
        with urllib.request.urlopen(uri, timeout=settings.AWS_READ_TIMEOUT) as response:  # noqa: S310
            yield response


def _copy_to_storage(export_file: ExportFile, source: IO[bytes]) -> tuple[str, str, int]:
    digest, size = hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=8 * COPY_CHUNK) as spool:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
        spool.seek(0)
        name = default_storage.save(
            f"exports/{export_file.export_id}/{download_filename(export_file)}", File(spool, name="file")
        )
    return name, digest.hexdigest(), size


def export_files_archive(*, export: Export) -> list[ExportFile]:
    """Copy each ready file into default storage with its SHA-256 and size; audit the checksums.

    Does nothing unless settings.ARCHIVE_EXPORTS. Call after the ExportFile rows exist (on COMPLETED).
    A file that cannot be copied stays downloadable from QuickSight; the failure is audited.
    """
    if not settings.ARCHIVE_EXPORTS:
        return []
    files = [f for f in export.files.select_related("export__dashboard") if f.s3_uri and not f.error_code]
    files = [f for f in files if not f.archived_file]
    if not files:
        return []
    fresh: quicksight.JobOutcome | None = None
    archived, failed = [], []
    for export_file in files:
        uri = export_file.s3_uri
        try:
            if not _is_s3(uri):
                fresh = fresh or quicksight.job_outcome(export, max_wait=DOWNLOAD_QUOTA_WAIT_SECONDS)
                uri = fresh.fresh_uri(export_file.index, export_file.part, export_file.s3_uri)
                if not uri:
                    raise DownloadUnavailable("QuickSight no longer has this file.")
            with _open_source(export, uri) as source:
                name, sha256, size = _copy_to_storage(export_file, source)
        except (aws.AwsError, DownloadUnavailable, OSError) as exc:
            failed.append({"file": export_file.index, "part": export_file.part, "reason": type(exc).__name__})
            continue
        export_file.archived_file.name, export_file.sha256, export_file.size_bytes = name, sha256, size
        archived.append(export_file)
    with transaction.atomic():
        for export_file in archived:
            export_file.save(update_fields=["archived_file", "sha256", "size_bytes"])
        events.files_archived(export=export, files=archived)
    return archived
