"""The client's address, read once (exports.views.http.client_address): what the audit log, django-axes's
lockouts and the limits' refusals record. A client chooses its X-Forwarded-For; only the entries our
own proxies appended (TRUSTED_PROXY_COUNT of them, from the right) are believed."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from exports.events import LOGIN_FAILED as LOGIN_FAILED_ACTION
from exports.models import AuditEvent

pytestmark = pytest.mark.django_db
WRONG = "not-alice-s-password"


def fail_login(client, forwarded: str, remote: str = "10.0.0.2"):
    data = {"username": "alice", "password": WRONG}
    return client.post(reverse("login"), data, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)


def audited_addresses(action: str = LOGIN_FAILED_ACTION) -> list[str | None]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq").values_list("ip_address", flat=True))


def test_without_a_proxy_a_spoofed_forwarded_for_is_ignored(client, alice):
    fail_login(client, forwarded="203.0.113.66")

    assert audited_addresses() == ["10.0.0.2"]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.0.0.2"]


def test_without_a_proxy_a_new_forwarded_for_each_time_does_not_escape_the_lock(client, alice, bob):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail_login(client, forwarded=f"198.51.100.{n}")

    other_username = {"username": "bob", "password": "bob-demo-pw"}
    response = client.post(reverse("login"), other_username, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert response.status_code == 429


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_prepended(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    fail_login(client, forwarded="198.51.100.7, 203.0.113.9")  # the client wrote the first; the proxy the last

    assert audited_addresses() == ["203.0.113.9"]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.9"]


def test_behind_one_proxy_a_client_rotating_its_own_entries_is_still_locked(client, alice, bob, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail_login(client, forwarded=f"198.51.100.{n}, 203.0.113.9")

    other_username = {"username": "bob", "password": "bob-demo-pw"}
    locked = client.post(reverse("login"), other_username, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    elsewhere = client.post(
        reverse("login"), other_username, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.10"
    )
    assert (locked.status_code, elsewhere.status_code) == (429, 302)


def test_behind_two_proxies_the_second_address_from_the_right_is_the_client(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    fail_login(client, forwarded="198.51.100.7, 203.0.113.9, 10.0.0.1")

    assert audited_addresses() == ["203.0.113.9"]


@pytest.mark.parametrize("forwarded", ["", "not-an-address"])
def test_behind_a_proxy_a_header_it_did_not_write_falls_back_to_the_connection(client, alice, settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1 if forwarded else 2
    fail_login(client, forwarded=forwarded or "203.0.113.9")

    assert audited_addresses() == ["10.0.0.2"]


def test_the_history_export_is_audited_under_the_proxied_address(client, audra, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.force_login(audra)

    response = client.get(
        reverse("exports:audit_csv"), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )

    assert response.status_code == 200
    assert audited_addresses("history.exported") == ["203.0.113.9"]
