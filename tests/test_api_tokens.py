"""Personal access tokens: the page (created and shown once, revoked), the admin, the command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from exports import tokens
from exports.models import ApiToken, AuditEvent


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_alice_creates_a_token_sees_it_once_and_revokes_it(alice):
    client = signed_in(alice)
    response = client.post("/tokens/", {"name": "nightly", "scopes": ["exports:read"], "expires_days": 30})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("sep_") and secret in response.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "nightly" and token.scopes == ["exports:read"]
    assert tokens.token_authenticate(secret) == token

    listed = client.get("/tokens/").content.decode()
    assert "nightly" in listed and f"sep_{token.prefix}_" in listed and secret not in listed

    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    with pytest.raises(tokens.TokenRefused, match="revoked"):
        tokens.token_authenticate(secret)
    assert AuditEvent.objects.filter(action="api_token.revoked", object_id=str(token.pk)).count() == 1


def test_the_page_names_each_problem(alice):
    response = signed_in(alice).post("/tokens/", {"name": "x", "scopes": ["nope"], "expires_days": 999})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"scopes", "expires_days"}
    assert not ApiToken.objects.exists()


def test_bob_cannot_revoke_alices_token(alice, bob):
    token, _ = tokens.token_create(user=alice, name="x", scopes=["exports:read"])
    assert signed_in(bob).post(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert "x" not in [t.name for t in signed_in(bob).get("/tokens/").context["tokens"]]


def test_an_admin_lists_and_revokes_any_token_in_the_admin(alice, demo_users):
    admin = demo_users["admin"]
    token, _ = tokens.token_create(user=alice, name="alices-script", scopes=["exports:read"])
    client = signed_in(admin)
    assert "alices-script" in client.get("/admin/exports/apitoken/").content.decode()
    response = client.post(
        "/admin/exports/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 token(s) revoked." in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="api_token.revoked")
    assert event.actor_username == "admin" and event.data["token"] == token.pk


def test_the_command_prints_a_token_that_authenticates(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", "--user", "alice", "--scopes", "exports:read,exports:write", "--expires-days", "7",
        stdout=out, stderr=err,
    )  # fmt: skip
    token = tokens.token_authenticate(out.getvalue().strip())
    assert token.user == alice and token.scopes == ["exports:read", "exports:write"]
    assert f"token {token.pk} ({token.prefix}) for alice" in err.getvalue()


def test_the_command_names_an_unknown_scope(alice):
    with pytest.raises(CommandError, match=r"scopes: choose one or more .* \(unknown: 'admin'\) \[scopes-known\]"):
        call_command("create_api_token", "--user", "alice", "--scopes", "admin", stdout=io.StringIO())
