"""The JSON API over HTTP (Django's test client): tokens, scopes, the same rules and access as the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from exports import recurrence, schedules, tokens
from exports.models import ApiToken, AuditEvent, Export, Schedule
from tests.factories import make_sales_catalog
from tests.history_factory import make_export

CSV_SPEC = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]}
ALL = ["exports:read", "exports:write", "schedules"]


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


def bearer(user, scopes=ALL, **kwargs) -> Client:
    _, secret = tokens.token_create(user=user, name="script", scopes=scopes, **kwargs)
    return Client(headers={"Authorization": f"Bearer {secret}"})


def finished_export(user, sales) -> Export:
    export = make_export(user, sales.dashboard, uris=["s3://finance-exports/snapshots/a.pdf"])
    Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED)
    return export


# --- tokens: who they authenticate ---


def test_a_session_without_a_token_gets_401_naming_the_header(alice, sales):
    client = Client()
    client.force_login(alice)
    response = client.get("/api/v1/exports")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["detail"]


def test_a_session_cannot_post_without_a_token_and_a_token_needs_no_csrf(alice, sales):
    session = Client(enforce_csrf_checks=True)
    session.force_login(alice)
    assert session.post("/api/v1/exports", CSV_SPEC, content_type="application/json").status_code == 401
    api = bearer(alice)
    api_with_checks = Client(enforce_csrf_checks=True, headers={"Authorization": api.defaults["HTTP_AUTHORIZATION"]})
    response = api_with_checks.post("/api/v1/exports", CSV_SPEC, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Export.objects.filter(user=alice).count() == 1


def test_the_token_is_stored_hashed_and_shown_once(alice):
    token, secret = tokens.token_create(user=alice, name="nightly", scopes=["exports:read"], expires_days=30)
    row = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith(f"sep_{row.prefix}_")
    stored = " ".join(str(value) for value in ApiToken.objects.filter(pk=token.pk).values().first().values())
    assert secret.split("_", 2)[2] not in stored
    event = AuditEvent.objects.get(action="api_token.created")
    assert event.data["token"] == token.pk and secret.split("_", 2)[2] not in str(event.data)
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)


def test_an_expired_token_gets_401(alice, sales):
    client = bearer(alice, expires_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = client.get("/api/v1/exports")
    assert response.status_code == 401 and response.json()["detail"] == "the token has expired"


def test_a_revoked_token_gets_401(alice, sales):
    client = bearer(alice)
    assert client.get("/api/v1/exports").status_code == 200
    token = ApiToken.objects.get(user=alice)
    assert tokens.token_revoke(token=token, actor=alice)
    response = client.get("/api/v1/exports")
    assert response.status_code == 401 and response.json()["detail"] == "the token was revoked"


def test_a_wrong_secret_with_a_real_prefix_gets_401(alice, sales):
    token, secret = tokens.token_create(user=alice, name="x", scopes=ALL)
    forged = Client(headers={"Authorization": f"Bearer sep_{token.prefix}_{'A' * 43}"})
    assert forged.get("/api/v1/exports").status_code == 401


def test_a_read_only_token_cannot_create_an_export(alice, sales):
    client = bearer(alice, scopes=["exports:read"])
    response = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json")
    assert response.status_code == 403
    assert "exports:write" in response.json()["detail"]
    assert not Export.objects.exists()
    assert client.post("/api/v1/exports/validate", CSV_SPEC, content_type="application/json").status_code == 200


def test_token_problems_name_each_field_and_rule(alice):
    with pytest.raises(tokens.TokenInvalid) as bad:
        tokens.token_create(user=alice, name="", scopes=["exports:delete"], expires_days=0)
    assert {(p.field, p.rule) for p in bad.value.problems} == {
        ("name", "name-length"),
        ("scopes", "scopes-known"),
        ("expires_days", "expiry-days"),
    }


@pytest.fixture
def shared_buckets(settings, redis_url):
    """Limits in a real (flushed) Redis, as every web process shares them, and no bucket of an
    earlier run (token and user ids repeat between test databases)."""
    settings.REDIS_URL = redis_url
    return settings


def test_over_the_token_rate_limit_gets_429_with_retry_after(alice, sales, shared_buckets):
    shared_buckets.API_TOKEN_REQUESTS_PER_MINUTE = 2
    client = bearer(alice)
    assert [client.get("/api/v1/exports").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/exports")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 30
    assert "2 requests per minute" in response.json()["detail"]


def test_reads_are_audited_once_a_minute_and_writes_every_time(alice, sales):
    client = bearer(alice)
    token = ApiToken.objects.get(user=alice)
    for _ in range(3):
        assert client.get("/api/v1/exports").status_code == 200
    used = AuditEvent.objects.filter(action="api.used")
    assert used.count() == 1 and used.get().data == {
        "token": token.pk,
        "operation": "GET /api/v1/exports",
        "write": False,
    }
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert client.get("/api/v1/exports").status_code == 200
    assert used.count() == 2
    for _ in range(2):
        assert client.post("/api/v1/exports", CSV_SPEC, content_type="application/json").status_code == 201
    writes = used.filter(data__write=True)
    assert writes.count() == 2 and all(e.data["token"] == token.pk for e in writes)


# --- exports ---


def test_over_the_submission_limit_gets_429_naming_it_and_creates_nothing(alice, sales, shared_buckets):
    shared_buckets.EXPORT_SUBMISSIONS_PER_HOUR = 1
    client = bearer(alice)
    assert client.post("/api/v1/exports", CSV_SPEC, content_type="application/json").status_code == 201
    refused = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 60
    assert "limit of 1 export submissions per hour" in refused.json()["detail"]
    assert Export.objects.count() == 1
    assert AuditEvent.objects.filter(action="limit.refused").count() == 1


def test_validate_answers_the_forms_problems_as_problem_details(alice, sales):
    spec = {"dashboard": "sales", "files": [{"format": "CSV", "visual": "revenue-chart"}], "tags": {"region": "*"}}
    response = bearer(alice).post("/api/v1/exports/validate", spec, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert ("tags", "server-side-only") in errors
    assert not Export.objects.exists()


def test_validate_shows_the_exact_request_with_rls_values_masked(alice, sales):
    response = bearer(alice).post("/api/v1/exports/validate", CSV_SPEC, content_type="application/json")
    assert response.status_code == 200
    request = response.json()["request"]
    assert request["DashboardId"] == "sales" and request["AwsAccountId"] == "111122223333"
    assert "EMEA" not in response.content.decode()


def test_an_idempotent_retry_makes_one_export(alice, sales):
    client = bearer(alice)
    first = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json", headers={"Idempotency-Key": "k1"})
    again = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json", headers={"Idempotency-Key": "k1"})
    other = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json", headers={"Idempotency-Key": "k2"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert Export.objects.filter(user=alice).count() == 2
    assert AuditEvent.objects.filter(action="export.requested").count() == 2


def test_bobs_token_gets_404_for_alices_export_and_file(alice, bob, sales):
    export = finished_export(alice, sales)
    client = bearer(bob)
    for path in (f"/api/v1/exports/{export.pk}", f"/api/v1/exports/{export.pk}/files/0/download"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
    assert client.post(f"/api/v1/exports/{export.pk}/cancel").status_code == 404
    assert not AuditEvent.objects.filter(action="export.file_downloaded").exists()


def test_alice_downloads_her_file_302_no_store_audited_with_the_token(alice, sales):
    export = finished_export(alice, sales)
    client = bearer(alice)
    token = ApiToken.objects.get(user=alice)
    detail = client.get(f"/api/v1/exports/{export.pk}").json()
    assert detail["status"] == "COMPLETED" and detail["files"][0]["ready"]
    response = client.get(detail["files"][0]["download"])
    assert response.status_code == 302 and response["Cache-Control"] == "no-store"
    assert response["Location"].startswith("https://finance-exports.s3.amazonaws.com/snapshots/a.pdf?")
    (downloaded,) = AuditEvent.objects.filter(action="export.file_downloaded", actor=alice)
    assert downloaded.data["file_name"] == detail["files"][0]["name"] and detail["files"][0]["name"].endswith(".pdf")
    used = AuditEvent.objects.get(action="api.used", data__write=True)
    assert used.data["token"] == token.pk and used.data["operation"].endswith("/files/0/download")


def test_list_filters_and_pages_only_the_callers_exports(alice, bob, sales):
    for _ in range(3):
        finished_export(alice, sales)
    finished_export(bob, sales)
    client = bearer(alice)
    page = client.get("/api/v1/exports?per_page=2&status=COMPLETED").json()
    assert page["count"] == 3 and page["pages"] == 2 and len(page["results"]) == 2
    assert client.get("/api/v1/exports?status=FAILED").json()["count"] == 0
    assert client.get("/api/v1/exports?page=9").json()["results"] == []
    bad = client.get("/api/v1/exports?status=NOPE")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"


def test_an_export_with_failed_files_is_completed_with_errors_in_the_api_too(alice, sales):
    done, partly = finished_export(alice, sales), finished_export(alice, sales)
    Export.objects.filter(pk=partly.pk).update(status=Export.Status.COMPLETED_WITH_ERRORS)
    client = bearer(alice)
    page = client.get("/api/v1/exports?status=COMPLETED_WITH_ERRORS").json()
    assert [row["id"] for row in page["results"]] == [str(partly.pk)]
    assert page["results"][0]["status"] == "COMPLETED_WITH_ERRORS" and page["results"][0]["ended"] is True
    assert [row["id"] for row in client.get("/api/v1/exports?status=COMPLETED").json()["results"]] == [str(done.pk)]


def test_cancel_withdraws_a_waiting_export_once(alice, sales):
    client = bearer(alice)
    created = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json").json()
    assert created["status"] == "PENDING" and created["queue_position"] == 1
    response = client.post(f"/api/v1/exports/{created['id']}/cancel")
    assert response.status_code == 200 and response.json()["export"]["status"] == "CANCELLED"
    assert client.post(f"/api/v1/exports/{created['id']}/cancel").status_code == 409


def test_the_timeline_gives_each_action_in_words_beside_its_stable_name(alice, sales):
    client = bearer(alice)
    created = client.post("/api/v1/exports", CSV_SPEC, content_type="application/json").json()
    client.post(f"/api/v1/exports/{created['id']}/cancel")
    timeline = client.get(f"/api/v1/exports/{created['id']}").json()["timeline"]
    assert [(e["action"], e["words"]) for e in timeline] == [
        ("export.requested", "Started an export"),
        ("export.cancelled", "Export cancelled"),
    ]


def test_dashboards_lists_granted_ones_with_visuals_and_the_rls_verdict(alice, carol, sales):
    (dashboard,) = bearer(alice).get("/api/v1/dashboards").json()
    assert dashboard["id"] == "sales" and dashboard["can_export"] is True
    visuals = {v["id"]: v["exportable_as"] for s in dashboard["sheets"] for v in s["visuals"]}
    assert visuals["order-lines"] == ["PDF", "EXCEL", "CSV"] and visuals["revenue-chart"] == ["PDF"]
    assert "gone-table" not in visuals
    assert "Retired" not in {p["name"] for p in dashboard["parameters"]}
    assert bearer(carol).get("/api/v1/dashboards").json() == []


def test_a_nul_in_a_json_body_is_a_400_naming_the_field(alice, sales):
    body = {
        "spec": CSV_SPEC,
        "recurrence": {"kind": "DAILY", "timezone": "UTC", "at_time": "07:00"},
        "recipients": ["a\u0000"],
    }
    response = bearer(alice).post("/api/v1/schedules", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "recipients[0]", "rule": "text-nul", "message": "the text contains a NUL character (\\x00)"}
    ]


# --- schedules ---


def test_schedules_create_read_pause_resume_runs_delete(alice, bob, sales):
    client = bearer(alice)
    body = {
        "spec": CSV_SPEC,
        "recurrence": {"kind": "WEEKLY", "timezone": "Europe/Paris", "at_time": "07:00", "weekdays": [0]},
        "recipients": ["bob"],
    }
    created = client.post("/api/v1/schedules", body, content_type="application/json")
    assert created.status_code == 201, created.content
    schedule = created.json()
    assert schedule["recurrence"] == "Every Monday at 07:00, Europe/Paris" and schedule["recipients"] == ["bob"]
    path = f"/api/v1/schedules/{schedule['id']}"
    assert client.get("/api/v1/schedules").json()[0]["id"] == schedule["id"]
    assert client.post(f"{path}/pause").json()["is_paused"] is True
    assert client.post(f"{path}/resume").json()["is_paused"] is False
    assert client.get(f"{path}/runs").json() == []
    assert bearer(bob).get(path).status_code == 404  # a recipient does not manage it
    assert client.delete(path).status_code == 204
    assert not Schedule.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="schedule.")] == [
        "schedule.created",
        "schedule.paused",
        "schedule.resumed",
        "schedule.deleted",
    ]


def test_a_schedule_too_often_names_the_rule(alice, sales):
    body = {"spec": CSV_SPEC, "recurrence": {"kind": "CRON", "timezone": "UTC", "cron": "*/5 * * * *"}}
    response = bearer(alice).post("/api/v1/schedules", body, content_type="application/json")
    assert response.status_code == 400
    assert ("cron", "shortest-interval") in {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_an_exports_token_cannot_touch_schedules(alice, sales):
    schedule = schedules.schedule_create(
        owner=alice, spec=CSV_SPEC, rec=recurrence.parse_every("daily 07:00 UTC", default_timezone="UTC")
    )
    client = bearer(alice, scopes=["exports:read", "exports:write"])
    assert client.get(f"/api/v1/schedules/{schedule.pk}").status_code == 403
    assert client.delete(f"/api/v1/schedules/{schedule.pk}").status_code == 403
    assert Schedule.objects.filter(pk=schedule.pk).exists()


# --- the document ---


def test_openapi_31_lists_every_operation_with_bearer_auth():
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["openapi"] == "3.1.0"
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert ("POST", "/api/v1/exports") in operations and ("DELETE", "/api/v1/schedules/{schedule_id}") in operations
    assert len(operations) == 14


def test_the_docs_page_uses_only_the_portals_own_static_files():
    html = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle" in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_an_auditors_token_reads_alices_export_but_cannot_download_it(alice, audra, sales, settings):
    settings.AUDITORS_CAN_DOWNLOAD = False
    export = finished_export(alice, sales)
    client = bearer(audra)
    assert client.get(f"/api/v1/exports/{export.pk}").status_code == 200  # as on the pages
    assert client.get(f"/api/v1/exports/{export.pk}/files/0/download").status_code == 404
    assert client.post(f"/api/v1/exports/{export.pk}/cancel").status_code == 404
