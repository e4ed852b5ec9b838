from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from exports.models import RlsTagMapping


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_alice_logs_in_and_out(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-demo-pw"}, follow=True)
    assert response.context["user"].username == "alice"
    assert b"My exports" in response.content
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_pages_need_a_login(client, db):
    response = client.get(reverse("exports:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_history_is_for_auditors_only(client, alice, audra):
    client.force_login(alice)
    response = client.get(reverse("exports:audit"))
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    client.force_login(audra)
    assert client.get(reverse("exports:audit")).status_code == 200


def test_navigation_shows_history_to_auditors_and_admin_to_staff(client, alice, audra, demo_users):
    client.force_login(alice)
    page = client.get(reverse("exports:list")).content.decode()
    assert "History" not in page and "Admin" not in page
    client.force_login(audra)
    assert "History" in client.get(reverse("exports:list")).content.decode()
    client.force_login(demo_users["admin"])
    page = client.get(reverse("exports:list")).content.decode()
    assert "History" in page and "Admin" in page


def test_unknown_page_is_a_friendly_404(client, alice):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"There is nothing here" in response.content


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_rows(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = (
        sorted(get_user_model().objects.values_list("username", "is_superuser")),
        sorted(RlsTagMapping.objects.values_list("user__username", "tag_key", "tag_value")),
    )
    call_command("seed_demo")
    second = (
        sorted(get_user_model().objects.values_list("username", "is_superuser")),
        sorted(RlsTagMapping.objects.values_list("user__username", "tag_key", "tag_value")),
    )
    assert first == second
    assert ("alice", "region", "EMEA") in first[1] and ("bob", "region", "AMER") in first[1]


@pytest.mark.django_db
def test_seed_demo_refuses_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on, or --force"):
        call_command("seed_demo")
    call_command("seed_demo", force=True)
    assert get_user_model().objects.filter(username="audra").exists()
