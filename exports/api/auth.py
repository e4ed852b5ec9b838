"""Bearer tokens for the API. Only the Authorization header authenticates: a session cookie never
does, so no page of another site can make a signed-in browser call the API (no CSRF exposure)."""

from __future__ import annotations

import inspect
import math
from functools import wraps

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from exports import tokens
from exports.api.problems import ApiProblem
from exports.models import ApiToken
from exports.views.http import client_address

BEARER = 'Bearer realm="api"'


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "Authentication required", detail, headers={"WWW-Authenticate": BEARER})


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> ApiToken:
        # Not HttpBearer.__call__: with DEBUG on it logs a malformed header, the secret included.
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise unauthorized("send a personal access token: Authorization: Bearer <token>")
        return self.authenticate(request, presented.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        try:
            found = tokens.token_authenticate(token)
        except tokens.TokenRefused as refused:
            raise unauthorized(str(refused)) from None
        wait = tokens.token_rate_wait(found)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiProblem(
                429,
                "Too many requests",
                f"this token may make {settings.API_TOKEN_REQUESTS_PER_MINUTE} requests per minute; "
                f"try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        request.user = found.user  # the token's user, whatever session cookie came along
        return found


def scope(name: str, *, write: bool = False):
    """The operation needs this scope (403 otherwise); its use is audited (tokens.token_used)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            token: ApiToken = request.auth
            if name not in token.scopes:
                raise ApiProblem(403, "Missing scope", f"this token lacks the scope {name!r}")
            response = view(request, *args, **kwargs)
            status = getattr(response, "status_code", 200)
            if status < 400:
                operation = f"{request.method} {request.path}"
                tokens.token_used(token, operation=operation, write=write, ip_address=client_address(request))
            return response

        # Ninja reads the parameters' types in the wrapper's module: hand it the view's, evaluated.
        wrapper.__signature__ = inspect.signature(view, eval_str=True)
        return wrapper

    return decorate
