"""Where rendered files go: local disk behind expiring HMAC-signed links, or an S3-compatible bucket.

Local files live under QUICKSIGHT_LOCAL_DATA_DIR/jobs/<job key>/<file name>; the job key is a random
UUID, and a link is valid only with an unexpired signature over that path (like an S3 pre-signed
GET): `<base>/files/<job key>/<file name>?X-Expires=<epoch>&X-Signature=<hex>`.
"""

from __future__ import annotations

import hmac
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac

from exports import aws, file_names

_SALT = "quicksight_local.storage.link"
# A job key is uuid4().hex (jobs.py); a file name is what exports/file_names.py makes (already clean).
JOB_KEY = re.compile(r"[0-9a-f]{32}")


def data_dir() -> Path:
    return Path(settings.QUICKSIGHT_LOCAL_DATA_DIR)


def job_dir(job_key: str) -> Path:
    return data_dir() / "jobs" / job_key


def remove_job_files(job_key: str) -> None:
    shutil.rmtree(job_dir(job_key), ignore_errors=True)


def _signature(job_key: str, filename: str, expires: int) -> str:
    return salted_hmac(_SALT, f"{job_key}/{filename}\n{expires}", algorithm="sha256").hexdigest()


def remove_files_older_than(seconds: float) -> None:
    cutoff = time.time() - seconds
    for path in (data_dir() / "jobs").glob("*"):
        if path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)


def signed_link(base_url: str, job_key: str, filename: str, *, now: float | None = None) -> str:
    """An absolute link to one local file that works for QUICKSIGHT_LOCAL_LINK_TTL_SECONDS."""
    expires = int((now if now is not None else time.time()) + settings.QUICKSIGHT_LOCAL_LINK_TTL_SECONDS)
    query = urlencode({"X-Expires": expires, "X-Signature": _signature(job_key, filename, expires)})
    return f"{base_url}/files/{job_key}/{quote(filename)}?{query}"


def verify_link(job_key: str, filename: str, expires: str, signature: str) -> str | None:
    """None when the link is good, else why it is refused."""
    try:
        expires_at = int(expires)
    except ValueError:
        return "The link is malformed."
    if not hmac.compare_digest(_signature(job_key, filename, expires_at), signature or ""):
        return "The request signature does not match."
    if time.time() > expires_at:
        return "Request has expired."
    return None


def local_file(job_key: str, filename: str) -> Path | None:
    """The file of that job, or None. Both names come from a URL whose signature may be valid for
    any string (a key of `..` once served the demo database): only a job's own folder is served."""
    safe_name = filename == file_names.clean(filename) and 0 < len(filename.encode()) <= 255
    if not JOB_KEY.fullmatch(job_key) or not safe_name or ".." in filename:
        return None
    folder = job_dir(job_key).resolve()
    path = (folder / filename).resolve()
    if path.parent != folder or not path.is_file():
        return None  # a symlink out of the folder resolves elsewhere
    return path


def upload_to_s3(path: Path, *, bucket: str, key: str, region: str) -> str:
    """Put one file into the destination bucket; the s3:// URI of the object."""
    # put_object (not upload_file) so that failures stay botocore errors that exports.aws can translate.
    with path.open("rb") as body:
        aws.s3_client(region).put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def s3_key(prefix: str, job_id: str, filename: str) -> str:
    return "/".join(part.strip("/") for part in (prefix, job_id, filename) if part.strip("/"))
