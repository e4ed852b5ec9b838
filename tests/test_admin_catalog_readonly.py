"""The admin as an admin meets it: synced catalog rows only viewed, constraint violations in sentences,
and "Sync now" finding dashboards that are new in QuickSight."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from exports.models import Dashboard, Grant, RlsTagMapping, Sheet
from tests.factories import make_sales_catalog


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client, demo_users):
    client.force_login(demo_users["admin"])
    return client


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog(dashboard_id="sales-overview").dashboard


def test_dashboards_list_has_no_add_button_but_a_sync_now_button(admin_client, sales):
    html = admin_client.get("/admin/exports/dashboard/").content.decode()

    assert "/admin/exports/dashboard/add/" not in html
    assert "Sync now" in html and "/admin/exports/dashboard/sync-now/" in html
    assert admin_client.get("/admin/exports/dashboard/add/").status_code == 403


def test_a_synced_dashboard_and_sheet_show_no_save_and_refuse_a_post(admin_client, sales):
    sheet = Sheet.objects.filter(dashboard=sales).first()
    for url in (f"/admin/exports/dashboard/{sales.pk}/change/", f"/admin/exports/sheet/{sheet.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html, url
    assert "Preview RLS identity" in admin_client.get(f"/admin/exports/dashboard/{sales.pk}/change/").content.decode()

    refused = admin_client.post(
        f"/admin/exports/dashboard/{sales.pk}/change/", {"name": "Renamed by hand", "dashboard_id": "x"}
    )

    assert refused.status_code == 403
    sales.refresh_from_db()
    assert sales.name == "Sales overview"


def test_grants_mappings_and_destinations_keep_their_save(admin_client, sales, alice):
    grant = Grant.objects.filter(dashboard=sales).first()
    mapping = RlsTagMapping.objects.get(user=alice)
    for url in (
        f"/admin/exports/grant/{grant.pk}/change/",
        f"/admin/exports/rlstagmapping/{mapping.pk}/change/",
        "/admin/exports/s3destination/add/",
    ):
        assert 'name="_save"' in admin_client.get(url).content.decode(), url


def test_a_second_grant_for_alice_reads_as_a_sentence(admin_client, sales, alice):
    admin_client.post("/admin/exports/grant/add/", {"dashboard": sales.pk, "user": alice.pk})

    html = admin_client.post("/admin/exports/grant/add/", {"dashboard": sales.pk, "user": alice.pk}).content.decode()

    assert "alice already has a grant on Sales overview." in html
    assert "Constraint" not in html and "grant_user_once" not in html
    assert Grant.objects.filter(dashboard=sales, user=alice).count() == 1


def test_every_constraint_has_a_sentence_of_its_own():
    """Django's default is `Constraint "grant_user_once" is violated.`: no constraint may fall back to it."""
    for model in apps.get_app_config("exports").get_models():
        for constraint in model._meta.constraints:
            message = constraint.get_violation_error_message()
            assert constraint.name not in message and "Constraint" not in message, (model.__name__, constraint.name)


def test_a_duplicate_grant_checked_without_clean_still_reads_as_a_sentence(sales, alice):
    Grant.objects.create(dashboard=sales, user=alice)

    with pytest.raises(ValidationError) as refused:
        Grant(dashboard=sales, user=alice).validate_constraints()

    assert refused.value.messages == ["This user already has a grant on this dashboard."]


def test_sync_now_adds_the_dashboards_new_in_quicksight(admin_client, qs_local, settings):
    settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 1000
    qs_local.limits.max_calls_per_second = 1000
    settings.QUICKSIGHT_LOCAL_ACCOUNT_ID, settings.AWS_REGION = qs_local.account_id, "us-east-1"
    assert not Dashboard.objects.exists()
    asks = admin_client.get("/admin/exports/dashboard/sync-now/").content.decode()
    assert f"{qs_local.account_id}/us-east-1" in asks
    # The trail in the admin's own list (Django 6 styles only ol.breadcrumbs: a div showed bare links).
    assert '<ol class="breadcrumbs">' in asks and '<li aria-current="page">Sync now</li>' in asks

    response = admin_client.post("/admin/exports/dashboard/sync-now/", {"sync": "Sync now"}, follow=True)

    html = response.content.decode()
    assert set(Dashboard.objects.values_list("dashboard_id", flat=True)) >= {"sales-overview", "support-ops"}
    assert "New in QuickSight: Sales overview" in html
    assert "added, 0 changed, 0 unchanged, 0 stale, 0 failed" in html  # the account's summary line
    assert Dashboard.objects.get(dashboard_id="sales-overview").sheets.count() == 3


def test_an_empty_post_to_sync_now_only_asks(admin_client, no_aws):
    response = admin_client.post("/admin/exports/dashboard/sync-now/")

    assert response.status_code == 200 and not Dashboard.objects.exists() and not no_aws
