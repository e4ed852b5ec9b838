"""Errors shaped as AWS's REST-JSON services send them, so botocore raises the modeled exceptions.

botocore reads the code from the `x-amzn-ErrorType` header (up to the first ':'), and Message /
RequestId from the JSON body; the HTTP status is the one the service model gives each error.
"""

from __future__ import annotations

import json

from django.http import HttpResponse

STATUS = {
    "AccessDeniedException": 401,
    "ConflictException": 409,
    "InternalFailureException": 500,
    "InvalidNextTokenException": 400,
    "InvalidParameterValueException": 400,
    "LimitExceededException": 409,
    "PreconditionNotMetException": 400,
    "ResourceExistsException": 409,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "UnsupportedUserEditionException": 403,
    "UnsupportedPricingPlanException": 403,
    # Not in QuickSight's model: what AWS's front door answers before the service sees the call.
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "UnknownOperationException": 404,
}


class ServiceError(Exception):
    def __init__(self, code: str, message: str, *, resource_type: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.resource_type = code, message, resource_type

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)


def error_response(error: ServiceError, request_id: str) -> HttpResponse:
    body = {"Message": error.message, "RequestId": request_id}
    if error.resource_type:
        body["ResourceType"] = error.resource_type
    response = HttpResponse(json.dumps(body), status=error.status, content_type="application/json")
    response["x-amzn-ErrorType"] = f"{error.code}:"
    response["x-amzn-RequestId"] = request_id
    return response


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message)


def not_found(message: str, resource_type: str | None = None) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, resource_type=resource_type)
