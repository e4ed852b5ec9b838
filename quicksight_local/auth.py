"""SigV4 authentication as AWS's front door does it: a missing, malformed, unknown or wrong signature
is refused with 403 before the operation runs.

The signature is recomputed with botocore's own SigV4 signer on the request as received, over the
headers the client says it signed, with the secret of the access key id
(settings.QUICKSIGHT_LOCAL_ACCESS_KEYS: "id:secret,id:secret").
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from django.conf import settings
from django.http import HttpRequest

from quicksight_local.errors import ServiceError

SERVICE = "quicksight"
MAX_CLOCK_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


def access_keys() -> dict[str, str]:
    pairs = (item.split(":", 1) for item in settings.QUICKSIGHT_LOCAL_ACCESS_KEYS.split(",") if ":" in item)
    return {key_id.strip(): secret.strip() for key_id, secret in pairs}


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's signer, told which headers were signed and when (instead of choosing them itself)."""

    def __init__(self, credentials: Credentials, region: str, signed_headers: list[str]):
        super().__init__(credentials, SERVICE, region)
        self._signed = signed_headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            headers[name] = request.headers.get(name, "")
        return headers


def _header(request: HttpRequest, name: str) -> str:
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = f"HTTP_{key}"
    return request.META.get(key, "")


def authenticate(request: HttpRequest, *, region: str) -> str:
    """The access key id of a correctly signed request; ServiceError (403) otherwise."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if not authorization:
        raise ServiceError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTHORIZATION.match(authorization.strip())
    if not match:
        raise ServiceError(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' (AWS4-HMAC-SHA256).",
        )
    key_id, _, scope = match["credential"].partition("/")
    secret = access_keys().get(key_id)
    if secret is None:
        raise ServiceError("UnrecognizedClientException", "The security token included in the request is invalid.")
    scope_parts = scope.split("/")
    if len(scope_parts) != 4 or scope_parts[3] != "aws4_request" or scope_parts[2] != SERVICE:
        raise ServiceError("InvalidSignatureException", f"Credential should be scoped to a valid service: {scope}")
    if scope_parts[1] != region:
        raise ServiceError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{scope_parts[1]}'. This endpoint is {region}.",
        )
    amz_date = _header(request, "x-amz-date")
    try:
        signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise ServiceError("IncompleteSignatureException", "X-Amz-Date is missing or malformed.") from None
    if abs(datetime.now(UTC) - signed_at) > MAX_CLOCK_SKEW:
        raise ServiceError("InvalidSignatureException", "Signature expired: the request time is too skewed.")
    if not amz_date.startswith(scope_parts[0]):
        raise ServiceError("InvalidSignatureException", "The credential scope date does not match X-Amz-Date.")

    signed_headers = match["signed"].split(";")
    received = AWSRequest(
        method=request.method,
        url=f"http://{_header(request, 'host')}{quote(request.path, safe='/~')}",
        headers={name: _header(request, name) for name in signed_headers},
        data=request.body,
    )
    query = request.META.get("QUERY_STRING", "")
    if query:
        received.url += f"?{query}"
    received.context["timestamp"] = amz_date
    signer = _ReceivedRequestSigner(Credentials(key_id, secret), region, signed_headers)
    expected = signer.signature(signer.string_to_sign(received, signer.canonical_request(received)), received)
    if not hmac.compare_digest(expected, match["signature"]):
        raise ServiceError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return key_id
