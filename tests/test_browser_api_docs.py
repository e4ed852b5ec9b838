"""The API docs page in Chromium: Swagger UI from the portal's own static files, under the portal's
CSP (script-src 'self', style-src 'self'), lists every operation without a console error."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_docs_page_lists_the_operations_without_csp_errors(live_server, page):
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/v1/exports", "/api/v1/exports/{export_id}/files/{index}/download", "/api/v1/schedules"} <= {
        p.replace("\u200b", "") for p in paths
    }
    assert console_errors == []
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), requested
