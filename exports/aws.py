"""The only module that makes boto3 clients, and the translation of AWS errors into ours.

QuickSight's client is used by the gateway (exports/quicksight.py) alone, which names the few
outcomes the lifecycle tells apart; everyone sees our own errors: RetryableAwsError (try again
later: throttling, quotas, 5xx) or PermanentAwsError (fail now, with a message users understand).
"""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.conf import settings

RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "LimitExceededException", "InternalFailureException", "ServiceUnavailable"}
)
USER_MESSAGES = {
    "AccessDeniedException": "The portal is not allowed to export this dashboard. An administrator has been told.",
    "InvalidParameterValueException": "QuickSight refused the export request as invalid.",
    "ResourceNotFoundException": "The dashboard, sheet or visual no longer exists in QuickSight.",
    "UnsupportedUserEditionException": "This QuickSight edition cannot export snapshots.",
    "UnsupportedPricingPlanException": "This QuickSight pricing plan cannot export snapshots.",
    "ResourceExistsException": "A snapshot job with this id already exists.",
}


class AwsError(Exception):
    retryable = False

    def __init__(self, code: str, message: str, request_id: str = "", http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.request_id, self.http_status = code, message, request_id, http_status

    @property
    def user_message(self) -> str:
        return USER_MESSAGES.get(self.code, "QuickSight could not run the export.")


class RetryableAwsError(AwsError):
    retryable = True


class PermanentAwsError(AwsError):
    pass


def translate(exc: Exception) -> AwsError:
    """ClientError or a connection failure -> our retryable or permanent error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code, status = error.get("Code", "Unknown"), meta.get("HTTPStatusCode")
        cls = RetryableAwsError if code in RETRYABLE_CODES or (status or 0) >= 500 else PermanentAwsError
        return cls(code, error.get("Message", ""), meta.get("RequestId", ""), status)
    if isinstance(exc, (BotoConnectionError, BotoCoreError)):
        return RetryableAwsError(type(exc).__name__, str(exc))
    raise TypeError(f"not an AWS error: {exc!r}")


def _config() -> Config:
    # Few attempts here: long waits belong to Celery's countdowns, not to a blocked worker.
    return Config(
        # total_max_attempts counts the first try; botocore's max_attempts would count only retries.
        retries={"mode": "standard", "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )


def _credentials() -> dict[str, str]:
    if settings.AWS_LOCAL_CREDENTIALS:
        key_id, secret = settings.AWS_LOCAL_CREDENTIALS
        return {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    return {}


@functools.cache
def _client(service: str, region: str, endpoint_url: str | None):
    # boto3 clients are thread-safe; one per (service, region, endpoint) per process.
    session = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_config(), **_credentials())


def quicksight_client(region: str | None = None):
    endpoint = settings.QUICKSIGHT_ENDPOINT_URL
    return _client("quicksight", region or settings.AWS_REGION, None if endpoint == "aws" else endpoint)


def s3_client(region: str | None = None):
    return _client("s3", region or settings.AWS_REGION, settings.S3_ENDPOINT_URL)


def reset_clients() -> None:
    """Forget cached clients (tests that change endpoints or credentials)."""
    _client.cache_clear()


def s3_object_lock_enabled(bucket: str, region: str | None = None) -> bool:
    """Whether the bucket was created with object lock (then every object can carry a retention)."""
    try:
        answer = s3_client(region).get_object_lock_configuration(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
            return False
        raise translate(exc) from exc
    return answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
