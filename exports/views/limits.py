"""The answer to a person over one of their limits: 429, the limit in words, and when to retry."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from exports.quota import LimitReached


def limit_response(request: HttpRequest, refused: LimitReached, *, back_url: str) -> HttpResponse:
    context = {"message": str(refused), "back_url": back_url}
    if getattr(request, "htmx", False):
        # Only the notice, into the page's notice slot, whatever part of the page asked.
        response = render(request, "429.html#notice", context, status=429)
        response["HX-Retarget"] = "#limit-notice"
        response["HX-Reswap"] = "outerHTML"
    else:
        response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(refused.retry_after)
    return response
