"""Downloads: a fresh link on every click, each one audited; and the optional archive in our storage.

A link is handed to the browser in a 302 and nowhere else: it is not stored, rendered, logged or
written into the audit data. QuickSight's https links lapse (their lifetime is not documented),
so each click asks DescribeDashboardSnapshotJobResult again; s3:// results are signed here.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.error
import urllib.request
import zipfile
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
from django.utils import timezone

from exports import aws, events, history, quicksight, quota
from exports import file_names as naming
from exports.models import Export, ExportFile
from exports.results import SheetPick
from exports.snapshot import sent_request
from exports.snapshot_rules import FILE_EXTENSIONS

PRESIGNED_SECONDS = 60
DOWNLOAD_QUOTA_WAIT_SECONDS = 3.0
COPY_CHUNK = 1024 * 1024
SIZE_TIMEOUT_SECONDS = 5


class DownloadUnavailable(Exception):
    """The file cannot be downloaded now; the message is for the user."""


@dataclass(frozen=True)
class DownloadTarget:
    """Either a short-lived URL to redirect to, or an archived file to stream from our storage."""

    url: str | None = None
    archived: ExportFile | None = None
    filename: str = ""


def rule_names(export: Export, files: list[ExportFile]) -> list[str]:
    """Each file's name by the rule (exports/file_names.py): dashboard, sheet or visuals, request time."""
    catalog = history.CatalogNames.for_dashboard(export.dashboard)
    requested = sent_request(export.request or {}).files
    at = timezone.localtime(export.created_at)
    names = []
    for f in files:
        picks = requested[f.index].sheets if f.index < len(requested) else [SheetPick(s) for s in f.sheet_ids]
        what = naming.subject(
            f.format,
            [catalog.sheet(p.sheet_id) for p in picks],
            [catalog.visual(v) for p in picks for v in p.visual_ids],
        )
        extension = FILE_EXTENSIONS.get(f.format, "bin")
        names.append(
            naming.file_name(
                dashboard=export.dashboard.name, subject=what, at=at, extension=extension, part=f.part, parts=f.parts
            )
        )
    return naming.unique(names)


def received_names(export: Export, files: list[ExportFile]) -> list[str]:
    """The name each file reaches the user under (stored with the result; by the rule for older rows)."""
    if all(f.name for f in files):
        return [f.name for f in files]
    return [f.name or ruled for f, ruled in zip(files, rule_names(export, files), strict=True)]


def file_number(export_file: ExportFile) -> str:
    """The file's number as the export page shows it: `2`, or `2.1` for a part."""
    return f"{export_file.index + 1}" + (f".{export_file.part + 1}" if export_file.parts > 1 else "")


def download_filename(export_file: ExportFile) -> str:
    files = list(export_file.export.files.order_by("index", "part"))
    names = received_names(export_file.export, files)
    return next(n for f, n in zip(files, names, strict=True) if f.pk == export_file.pk)


def _is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def _split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path.lstrip("/")


def _fresh_outcome(export: Export, user, what: str = "a fresh link for this file") -> quicksight.JobOutcome:
    try:
        # A person's click: it draws on the interactive share of the quota and on their own budget,
        # so that clicking in a loop cannot starve the exports being started and polled; it waits
        # a moment for the quota rather than answer an error.
        return quicksight.job_outcome(export, who=str(user.pk), max_wait=DOWNLOAD_QUOTA_WAIT_SECONDS)
    except aws.AwsError as exc:
        if exc.retryable:
            raise DownloadUnavailable("QuickSight is busy right now; try again in a few seconds.") from exc
        raise DownloadUnavailable(f"QuickSight did not give {what} ({exc.code}).") from exc


def _fresh_uri(export_file: ExportFile, user) -> str:
    outcome = _fresh_outcome(export_file.export, user)
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
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": naming.content_disposition(filename)},
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
    with transaction.atomic():
        events.file_downloaded(
            export=export,
            export_file=export_file,
            actor=user,
            data=_download_data(export_file, filename, source),
            ip_address=ip_address,
        )
    return target


def _download_data(export_file: ExportFile, file_name: str, source: str) -> dict:
    data = {
        "file": export_file.index,
        "part": export_file.part,
        "parts": export_file.parts,
        "number": file_number(export_file),
        "format": export_file.format,
        "file_name": file_name,
        "source": source,
    }
    if export_file.sha256:
        data["sha256"] = export_file.sha256
    return data


# --- names and sizes, fixed when the result is stored ---


def name_and_measure(export: Export, files: list[ExportFile]) -> None:
    """Set each file's name and size as the user will get them, before the rows are first saved.

    A link the portal signs gets the rule's name (Content-Disposition); QuickSight's own https link
    is saved by the browser under the link's name, so that is the name recorded. The size comes from
    the object's metadata (S3 HEAD, or the link's headers): no QuickSight call, so no quota.
    """
    names = []
    for export_file, ruled in zip(files, rule_names(export, files), strict=True):
        uri = export_file.s3_uri
        linked = naming.link_name(uri) if uri and not _is_s3(uri) else ""
        extension = "." + FILE_EXTENSIONS.get(export_file.format, "bin")
        names.append(linked if linked.endswith(extension) else ruled)
        if export_file.is_ready:
            export_file.size_bytes = object_size(export, uri)
    for export_file, name in zip(files, naming.unique(names), strict=True):
        export_file.name = name


def object_size(export: Export, uri: str) -> int | None:
    """The object's size from its metadata, without downloading it; None when it cannot be known."""
    if _is_s3(uri):
        bucket, key = _split_s3(uri)
        try:
            return aws.s3_client(_s3_region(export)).head_object(Bucket=bucket, Key=key)["ContentLength"]
        except (ClientError, BotoCoreError, KeyError):
            return None
    # A pre-signed GET may refuse HEAD (the method is signed): then the first byte's Content-Range.
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        request = urllib.request.Request(uri, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=SIZE_TIMEOUT_SECONDS) as response:  # noqa: S310
                if response.status == 206:
                    total = response.headers.get("Content-Range", "").rpartition("/")[2]
                else:
                    total = response.headers.get("Content-Length", "")
                return int(total) if total.isdigit() else None
        except urllib.error.HTTPError:
            continue
        except (OSError, ValueError):
            return None
    return None


# --- Download all: one zip, streamed ---


class _Sink:
    """What zipfile writes to: not seekable, so it streams (sizes go in data descriptors)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


@dataclass
class ZipDownload:
    name: str
    chunks: Iterator[bytes]


def export_zip_download(*, export: Export, user, ip_address: str | None) -> ZipDownload:
    """Every ready file of the export in one zip, each named as when downloaded alone and audited
    like a single download (one event per file). Files that failed are left out; README.txt says
    which. Access is checked by the caller; quota.LimitReached as for one file (a zip is one click)."""
    files = list(export.files.select_related("export__dashboard").order_by("index", "part"))
    names = received_names(export, files)
    if not any(f.is_ready for f in files):
        raise DownloadUnavailable("None of this export's files can be downloaded.")
    quota.user_limit_take(quota.DOWNLOADS, user=user, ip_address=ip_address, export=export, target=export)
    zip_name = naming.file_name(
        dashboard=export.dashboard.name, subject="", at=timezone.localtime(export.created_at), extension="zip"
    )
    outcome: quicksight.JobOutcome | None = None
    members, missing = [], []
    for export_file, name in zip(files, names, strict=True):
        number = file_number(export_file)
        if not export_file.is_ready:
            missing.append(f"{number}. {name}: {export_file.error_message or 'not produced'}")
            continue
        uri, source = export_file.s3_uri, "s3"
        if export_file.archived_file:
            uri, source = "", "archive"
        elif not _is_s3(uri):
            outcome = outcome or _fresh_outcome(export, user, "fresh links for these files")
            uri, source = outcome.fresh_uri(export_file.index, export_file.part, export_file.s3_uri), "quicksight"
            if not uri:
                missing.append(f"{number}. {name}: QuickSight no longer has this file.")
                continue
        members.append((export_file, name, uri, source))
    with transaction.atomic():
        for export_file, name, _uri, source in members:
            data = {**_download_data(export_file, name, source), "zip": zip_name}
            events.file_downloaded(export=export, export_file=export_file, actor=user, data=data, ip_address=ip_address)
    return ZipDownload(name=zip_name, chunks=_zip_chunks(export, members, missing))


def _zip_chunks(export: Export, members: list, missing: list[str]) -> Iterator[bytes]:
    sink = _Sink()
    stamp = timezone.localtime(export.created_at).timetuple()[:6]
    with zipfile.ZipFile(sink, "w") as archive:
        for export_file, name, uri, _source in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            # PDF and Excel are compressed already; CSV shrinks several times.
            info.compress_type = zipfile.ZIP_DEFLATED if export_file.format == "CSV" else zipfile.ZIP_STORED
            try:
                with _open_member(export, export_file, uri) as source, archive.open(info, "w", force_zip64=True) as out:
                    while chunk := source.read(COPY_CHUNK):
                        out.write(chunk)
                        yield sink.take()
            except (aws.AwsError, OSError) as exc:
                missing.append(f"{file_number(export_file)}. {name}: could not be copied ({type(exc).__name__}).")
        if missing:
            lines = ["These files of the export are not in this zip (or not whole):", *missing, ""]
            archive.writestr("README.txt", "\r\n".join(lines))
    yield sink.take()


@contextmanager
def _open_member(export: Export, export_file: ExportFile, uri: str) -> Iterator[IO[bytes]]:
    if not uri:
        with export_file.archived_file.open("rb") as source:
            yield source
    else:
        with _open_source(export, uri) as source:
            yield source


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
