"""Login throttling (issue #12): 40 wrong passwords for alice used to be answered one by one, and
the right one then logged in. Now a username or an address is locked after a few failures, the
person is told why and for how long, an admin can unlock, and every failure is in the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exports import audit
from exports.events import LOCKED_OUT as LOCKED_OUT_ACTION
from exports.events import LOGIN_FAILED as LOGIN_FAILED_ACTION
from exports.models import AuditEvent

pytestmark = pytest.mark.django_db
WRONG = "not-alice-s-password"


def log_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_forty_wrong_passwords_lock_alice_and_the_right_one_is_refused(client, alice):
    answers = [log_in(client, "alice", WRONG).status_code for _ in range(40)]
    response = log_in(client, "alice", "alice-demo-pw")

    limit = settings.AXES_FAILURE_LIMIT
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, "enter a correct username..."
    assert answers[limit:] == [429] * (40 - limit)
    assert response.status_code == 429 and not signed_in(client)
    text = response.content.decode()
    assert f"after {limit} wrong passwords for one username, or from one address" in text
    assert "Try again in 15 minutes, or ask an administrator to unlock your username." in text
    assert response["Retry-After"] == str(15 * 60)


def test_every_failed_login_is_audited_without_the_password(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        log_in(client, "alice", WRONG, address="203.0.113.7")

    failures = AuditEvent.objects.filter(action=LOGIN_FAILED_ACTION)
    assert failures.count() == settings.AXES_FAILURE_LIMIT + 2
    assert {(e.data["username"], e.ip_address) for e in failures} == {("alice", "203.0.113.7")}
    assert AuditEvent.objects.filter(action=LOCKED_OUT_ACTION, data__username="alice").exists()
    assert WRONG not in str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert audit.verify_chain().intact


def test_an_address_trying_many_usernames_is_locked_for_all_of_them(client, alice, bob):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{n}", WRONG, address="198.51.100.9")

    assert log_in(client, "bob", "bob-demo-pw", address="198.51.100.9").status_code == 429
    assert log_in(client, "bob", "bob-demo-pw", address="198.51.100.10").status_code == 302  # another address


def test_the_lock_ends_after_the_cooloff(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", WRONG)
    assert log_in(client, "alice", "alice-demo-pw").status_code == 429

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert log_in(client, "alice", "alice-demo-pw").status_code == 302
    assert signed_in(client)


def test_an_admin_unlocks_alice_in_the_admin(client, alice, demo_users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", WRONG)
    assert log_in(client, "alice", "alice-demo-pw").status_code == 429

    admin = Client()
    admin.force_login(demo_users["admin"])
    attempts = admin.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and "alice" in attempts.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.filter(username="alice").values_list("pk", flat=True)]
    admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert log_in(client, "alice", "alice-demo-pw").status_code == 302 and signed_in(client)
