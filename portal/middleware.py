"""A request guard: text no person types and the database cannot store is a 400 naming the field.

It runs before sessions, forms and views, so a NUL byte or broken UTF-8 in the address, a query
parameter, a form field or a cookie never reaches PostgreSQL (which answers a NUL with a 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone

from exports.timezones import chosen_zone, is_zone
from exports.validators import printable_name, text_fault

FORM_URLENCODED = "application/x-www-form-urlencoded"


def _pairs(raw: str | bytes) -> list[tuple[str, str]]:
    """Fields of a query string or urlencoded body; bytes that are not UTF-8 stay as lone
    surrogates (surrogateescape) so that text_fault finds them in the field they were sent in."""
    if isinstance(raw, str):
        # WSGI hands the query string over as latin-1 (PEP 3333): back to the bytes sent.
        raw = raw.encode("latin-1", errors="replace")
    text = raw.decode("utf-8", errors="surrogateescape")
    return parse_qsl(
        text,
        keep_blank_values=True,
        encoding="utf-8",
        errors="surrogateescape",
        max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
    )


def _fields(request: HttpRequest) -> Iterator[tuple[str, str, str]]:
    """(where, name, value) of everything the client chose."""
    yield "address", "path", request.path_info
    for name, value in _pairs(request.META.get("QUERY_STRING", "")):
        yield "query parameter", name, value
    content_type = request.content_type or ""
    if request.method == "POST" and content_type == FORM_URLENCODED:
        for name, value in _pairs(request.body):
            yield "form field", name, value
    elif request.method == "POST" and content_type.startswith("multipart/"):
        for name, values in request.POST.lists():
            for value in values:
                yield "form field", name, value
    for name, value in request.COOKIES.items():
        yield "cookie", name, value


def refusal(request: HttpRequest) -> str | None:
    """Why this request is refused, naming the field and the rule; None when every field is fine."""
    for where, name, value in _fields(request):
        for part, text in (("name", name), ("value", value)):
            fault = text_fault(text)
            if fault:
                rule, words = fault
                subject = f"the {where} {printable_name(name)!r}" if part == "value" else f"a {where} name"
                return f"{subject} {words} [{rule}]"
    return None


class RefuseUnstorableTextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            problem = refusal(request)
        except ValueError:
            # parse_qsl's field cap (Django's DATA_UPLOAD_MAX_NUMBER_FIELDS): too many fields.
            problem = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields [too-many-fields]"
        if problem:
            return HttpResponseBadRequest(f"Bad request: {problem}.\n", content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# The browser's zone, as site.js reads it from Intl; a person's saved choice wins over it.
TIME_ZONE_COOKIE = "portal_tz"
TIME_ZONE_SESSION_KEY = "time_zone"


def remember_time_zone(sender, request, user, **kwargs) -> None:
    """On sign-in: keep the user's saved zone in the session, so no page asks the database for it."""
    request.session[TIME_ZONE_SESSION_KEY] = chosen_zone(user)


class UserTimeZoneMiddleware:
    """Show times in the user's zone: the saved one, else the browser's cookie, else TIME_ZONE.
    A cookie that names no IANA zone is ignored (the page shows UTC), never an error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = request.session.get(TIME_ZONE_SESSION_KEY) or unquote(request.COOKIES.get(TIME_ZONE_COOKIE, ""))
        if is_zone(zone):
            timezone.activate(ZoneInfo(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
