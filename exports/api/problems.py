"""Errors as RFC 9457 problem details: a status, words, and each field with the rule it breaks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

from exports.validators import text_fault

PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raised anywhere in the API; answered as a problem document (with headers, e.g. Retry-After)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: Iterable[Any] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        # Any object with field, rule and message (snapshot.Problem, ScheduleProblem, ...).
        self.errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in errors]
        self.headers = headers or {}


def problem_response(problem: ApiProblem, *, instance: str = "") -> HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    if instance:
        body["instance"] = instance
    if problem.errors:
        body["errors"] = problem.errors
    response = HttpResponse(json.dumps(body), status=problem.status, content_type=PROBLEM_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def invalid(errors: Iterable[Any], title: str = "The request breaks some rules") -> ApiProblem:
    errors = list(errors)
    return ApiProblem(400, title, "; ".join(str(e) for e in errors), errors=errors)


class FieldProblem:
    """One field and the rule it breaks, for problems that have no class of their own."""

    def __init__(self, field: str, rule: str, message: str):
        self.field, self.rule, self.message = field, rule, message

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


def text_problems(data: Any, where: str = "") -> list[FieldProblem]:
    """Every key or text value of a JSON body that is not storable text (validators.text_fault): the
    request guard middleware reads forms and query strings, not JSON bodies, and PostgreSQL answers a
    NUL with a 500. Iterative, so no body can exhaust the stack."""
    found = []
    stack: list[tuple[Any, str]] = [(data, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            fault = text_fault(value)
            if fault:
                found.append(FieldProblem(path or "body", fault[0], f"the text {fault[1]}"))
        elif isinstance(value, dict):
            for key, item in value.items():
                fault = text_fault(key) if isinstance(key, str) else None
                if fault:
                    found.append(FieldProblem(path or "body", fault[0], f"a key {fault[1]}"))
                else:
                    stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            stack += [(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return found


def from_validation(errors: list[dict[str, Any]]) -> ApiProblem:
    """Ninja's (pydantic's) validation errors, as fields and rules."""
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        fields.append(
            FieldProblem(".".join(loc) or "body", str(error.get("type", "invalid")), str(error.get("msg", "")))
        )
    return invalid(fields)
