"""The portal's session store (portal/sessions.py): Django's database sessions, read with one SELECT."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from exports.management.commands.seed_demo import DEMO_USERS

pytestmark = pytest.mark.django_db


def _session_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if Session._meta.db_table in q["sql"] and q["sql"].lstrip().startswith("SELECT")]


def test_a_signed_in_user_stays_signed_in_and_the_read_is_one_plain_select(client, alice):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("exports:tokens"))
    assert response.status_code == 200 and "alice" in response.content.decode()
    (read,) = _session_reads(queries.captured_queries)
    # Only the data, by key and unexpired: not the ORM's SELECT of every column (the change's point).
    selected, _, where = read.partition(" FROM ")
    assert "session_data" in selected and "session_key" not in selected and "expire_date" in where


def test_an_expired_session_signs_nobody_in(client, alice):
    client.force_login(alice)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("exports:tokens"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_unknown_or_malformed_session_key_signs_nobody_in(client, alice):
    for key in ("k" * 32, "not a key; DROP TABLE", ""):
        client.cookies["sessionid"] = key
        response = client.get(reverse("exports:tokens"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_signing_in_through_the_form_keeps_the_session_across_requests(client, alice):
    password = DEMO_USERS["alice"][0]
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("exports:tokens")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("exports:tokens")).status_code == 302
