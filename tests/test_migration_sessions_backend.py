"""The deploy that brings PortalBackend signs nobody out: sessions made under ModelBackend are renamed."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from tests.test_migration_export_formats import back_to_latest, migrate  # noqa: F401 (a fixture)

BEFORE = ("exports", "0018_user_dashboard_index")
AFTER = ("exports", "0019_sessions_signed_in_by_portal_backend")


def _signed_in_before(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@pytest.mark.django_db(transaction=True)
def test_a_session_signed_in_before_the_portal_backend_stays_signed_in(client, back_to_latest):  # noqa: F811
    migrate(BEFORE)
    key = _signed_in_before(User.objects.create_user("olga", password="olga-pw-123456"))
    broken = SessionStore(session_key="x" * 32)
    broken.create()  # an empty session: left as it is

    migrate(AFTER)

    client.cookies["sessionid"] = key
    response = client.get(reverse("exports:tokens"))
    assert response.status_code == 200 and "olga" in response.content.decode()
    assert SessionStore(session_key=key).load()[BACKEND_SESSION_KEY] == "exports.backends.PortalBackend"
    migrate(BEFORE)
    assert SessionStore(session_key=key).load()[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
