"""Sign-in attempts in the audit history, and the page a locked-out login gets.

django-axes counts failures and locks (settings: AXES_*); this module only tells the history and
the person. The attempted password is never read: Django's signal hands it over already masked,
and only the username and the client address are kept.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from exports import events
from exports.views.http import client_address

USERNAME_MAX = 150  # Django's username length: anything longer is not a username of ours


def _username(credentials: dict | None) -> str:
    # PostgreSQL refuses NUL in text and JSON; a hostile username must not turn a failure into a 500.
    return str((credentials or {}).get("username") or "").replace("\x00", "")[:USERNAME_MAX]


def record_login_failed(sender, credentials: dict | None = None, request: HttpRequest | None = None, **kwargs) -> None:
    """Django's user_login_failed: one audit event per failed attempt (locked-out attempts included)."""
    with transaction.atomic():
        events.login_failed(username=_username(credentials), ip_address=client_address(request))


def record_locked_out(sender, request: HttpRequest | None = None, username: str | None = None, **kwargs) -> None:
    """django-axes's user_locked_out: the attempt that found the username or address locked."""
    with transaction.atomic():
        events.locked_out(
            username=_username({"username": username}),
            failure_limit=settings.AXES_FAILURE_LIMIT,
            ip_address=client_address(request),
        )


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """429 with the rule, when to retry (also as Retry-After) and who can unlock earlier."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    response = render(request, "registration/locked_out.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
