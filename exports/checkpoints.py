"""Where the audit chain's checkpoints are kept: outside the database, in a directory or an S3 bucket.

AUDIT_CHECKPOINT_SINK is file:///dir or s3://bucket/prefix. Names carry the sequence number
inverted, so they sort newest first and the latest checkpoint is one short listing away however
many there are. Nothing here knows what a checkpoint means (exports/audit.py signs and checks them).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils import timezone

from exports import aws

_TOP = 10**12 - 1
log = logging.getLogger(__name__)


class CheckpointSinkError(Exception):
    """The sink could not be read or written; the message names it."""


@dataclass(frozen=True)
class Stored:
    location: str
    body: bytes


def sink() -> str:
    return settings.AUDIT_CHECKPOINT_SINK


def name_for(seq: int) -> str:
    return f"checkpoint-{_TOP - seq:012d}-seq-{seq}.json"


def write(seq: int, body: bytes) -> str:
    """Store one checkpoint and return where it went. Never overwrites an existing one."""
    url = urlsplit(sink())
    try:
        if url.scheme == "s3":
            return _s3_write(url.netloc, _s3_prefix(url.path) + name_for(seq), body)
        return _file_write(Path(url.path), name_for(seq), body)
    except (OSError, ClientError, BotoCoreError, aws.AwsError) as exc:
        raise CheckpointSinkError(f"cannot write a checkpoint to {sink()}: {exc}") from exc


def latest() -> Stored | None:
    """The checkpoint with the highest sequence number, or None when none was written yet."""
    url = urlsplit(sink())
    try:
        if url.scheme == "s3":
            return _s3_latest(url.netloc, _s3_prefix(url.path))
        return _file_latest(Path(url.path))
    except (OSError, ClientError, BotoCoreError, aws.AwsError) as exc:
        raise CheckpointSinkError(f"cannot read checkpoints from {sink()}: {exc}") from exc


def _file_write(directory: Path, name: str, body: bytes) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    final, partial = directory / name, directory / f".{name}.partial"
    partial.write_bytes(body)
    partial.chmod(0o444)
    try:
        # A hard link appears whole or not at all, and refuses to replace an existing checkpoint.
        os.link(partial, final)
    finally:
        partial.unlink()
    return str(final)


def _file_latest(directory: Path) -> Stored | None:
    if not directory.is_dir():
        return None
    newest = min((p for p in directory.glob("checkpoint-*.json")), default=None, key=lambda p: p.name)
    return Stored(str(newest), newest.read_bytes()) if newest else None


def _s3_prefix(path: str) -> str:
    path = path.strip("/")
    return f"{path}/" if path else ""


def _s3_write(bucket: str, key: str, body: bytes) -> str:
    lock = {}
    if aws.s3_object_lock_enabled(bucket):
        # COMPLIANCE: nobody, not even the bucket's owner, can delete or shorten it before the date.
        until = timezone.now() + timedelta(days=settings.AUDIT_CHECKPOINT_RETENTION_DAYS)
        lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
    else:
        log.warning("audit checkpoint bucket %s has no object lock: anyone who may write it can delete them", bucket)
    aws.s3_client().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **lock)
    return f"s3://{bucket}/{key}"


def _s3_latest(bucket: str, prefix: str) -> Stored | None:
    client = aws.s3_client()
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}checkpoint-", MaxKeys=1)
    if not listing.get("Contents"):
        return None
    key = listing["Contents"][0]["Key"]
    return Stored(f"s3://{bucket}/{key}", client.get_object(Bucket=bucket, Key=key)["Body"].read())
