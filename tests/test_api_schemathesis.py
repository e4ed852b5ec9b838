"""schemathesis drives every operation of /api/v1/openapi.json with generated input (bounded), as
alice with every scope, against the real database (PostgreSQL in CI): no answer is a 500."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from exports import recurrence, schedules, tokens
from tests.factories import make_sales_catalog
from tests.history_factory import make_export

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: the WSGI handler would close the test's database connection
    (inside its transaction) at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def alices_token(alice, keep_the_test_connection):
    sales = make_sales_catalog()
    # Real objects too, so that generated ids are not the only thing the routes meet.
    make_export(alice, sales.dashboard, uris=["s3://finance-exports/snapshots/a.pdf"])
    schedules.schedule_create(
        owner=alice,
        spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]},
        rec=recurrence.parse_every("daily 07:00 UTC", default_timezone="UTC"),
    )
    _, secret = tokens.token_create(user=alice, name="fuzz", scopes=list(tokens.ApiToken.SCOPES))
    return secret


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_a_server_error(case, alices_token):
    response = case.call(headers={"Authorization": f"Bearer {alices_token}"})
    case.validate_response(response, checks=[not_a_server_error])
