"""Each person's time zone: the browser's (a cookie), else the one they saved; hostile values never 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exports.models import UserPreference
from tests.history_factory import make_dashboard, make_export

PAGE = reverse("exports:time_zone")


@pytest.fixture
def alice_client(client, alice):
    make_export(alice, make_dashboard())
    client.force_login(alice)
    return client


def my_exports(client) -> str:
    return client.get(reverse("exports:list")).content.decode()


def test_times_show_utc_with_its_abbreviation_by_default(alice_client):
    page = my_exports(alice_client)
    assert " UTC</div>" in page and 'id="current-time-zone"' in page


def test_the_browsers_zone_from_the_cookie_is_used(alice_client):
    alice_client.cookies["portal_tz"] = "Asia/Tokyo"
    page = my_exports(alice_client)
    assert " JST</div>" in page
    assert ">Asia/Tokyo</a>" in page


@pytest.mark.parametrize("cookie", ["Mars/Olympus_Mons", "../../etc/passwd", "UTC; DROP TABLE", "A" * 200, ""])
def test_a_cookie_that_names_no_zone_is_ignored(alice_client, cookie):
    alice_client.cookies["portal_tz"] = cookie
    response = alice_client.get(reverse("exports:list"))
    assert response.status_code == 200
    assert " UTC</div>" in response.content.decode()


def test_a_saved_zone_wins_over_the_browser_and_follows_the_next_sign_in(client, alice_client, alice):
    alice_client.cookies["portal_tz"] = "Asia/Tokyo"
    response = alice_client.post(PAGE, {"time_zone": "Europe/Paris"}, follow=True)
    assert "Times are now shown in Europe/Paris." in response.content.decode()
    assert " CET</div>" in my_exports(alice_client) or " CEST</div>" in my_exports(alice_client)

    alice_client.logout()
    alice_client.force_login(alice)
    alice_client.cookies["portal_tz"] = "Asia/Tokyo"
    assert ">Europe/Paris</a>" in my_exports(alice_client)

    # Back to "my browser's zone".
    alice_client.post(PAGE, {"time_zone": ""})
    assert UserPreference.objects.get(user=alice).time_zone == ""
    assert " JST</div>" in my_exports(alice_client)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Mars/Olympus_Mons", "Time zone: “Mars/Olympus_Mons” is not an IANA time zone name"),
        ("Europe/Paris\u202e", "is not an IANA time zone name"),
        ("x" * 65, "Ensure this value has at most 64 characters"),
        ("<script>alert(1)</script>", "Time zone: “&lt;script&gt;alert(1)&lt;/script&gt;” is not an IANA"),
    ],
)
def test_a_hostile_zone_is_refused_with_a_message_naming_the_field(alice_client, alice, value, message):
    response = alice_client.post(PAGE, {"time_zone": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not UserPreference.objects.filter(user=alice).exists()


def test_a_nul_in_the_zone_is_a_400_before_the_database(alice_client, alice):
    response = alice_client.post(PAGE, {"time_zone": "Europe/\x00Paris"})
    assert response.status_code == 400
    assert not UserPreference.objects.filter(user=alice).exists()


def test_the_page_needs_a_login(client, db):
    assert client.get(PAGE).status_code == 302
