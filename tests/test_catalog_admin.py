"""The admin: catalog pages with their inlines, audited grants and mappings, the sync action, the RLS preview."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from exports.audit import verify_chain
from exports.models import AuditEvent, Dashboard, Grant, RlsTagMapping, S3Destination
from tests.factories import make_sales_catalog


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(demo_users):
    return demo_users["admin"]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog(dashboard_id="sales-overview").dashboard


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_dashboard_admin_lists_searches_and_filters(admin_client, sales):
    listing = admin_client.get("/admin/exports/dashboard/").content.decode()
    found = admin_client.get("/admin/exports/dashboard/?q=margin").content.decode()
    stale_only = admin_client.get("/admin/exports/dashboard/?is_stale__exact=1").content.decode()

    assert "sales-overview" in listing and "Sync from QuickSight" in listing
    assert "sales-overview" in found
    assert "sales-overview" not in stale_only


def test_dashboard_page_shows_sheets_visuals_and_parameters_with_ids_read_only(admin_client, sales):
    response = admin_client.get(f"/admin/exports/dashboard/{sales.pk}/change/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "Summary" in html and "Detail" in html
    assert "Revenue by region" in html and "<code>margin-bars</code>" in html and "PDF only" in html
    assert "MinQuantity" in html
    assert 'name="dashboard_id"' not in html and 'name="aws_account_id"' not in html and 'name="name"' not in html
    assert "Preview RLS identity" in html
    assert "group Analysts (" in html
    grants = admin_client.get(f"/admin/exports/grant/?dashboard__id__exact={sales.pk}")
    assert grants.status_code == 200 and "1 grant" in grants.content.decode()


def test_sheet_page_has_the_visual_inline(admin_client, sales):
    sheet = sales.sheets.get(sheet_id="detail")

    html = admin_client.get(f"/admin/exports/sheet/{sheet.pk}/change/").content.decode()

    assert "Order lines" in html and "TableVisual" in html and "BarChartVisual" in html
    assert "PDF, CSV, Excel" in html


@pytest.mark.parametrize(
    "url",
    [
        "/admin/exports/grant/",
        "/admin/exports/grant/add/",
        "/admin/exports/rlstagmapping/",
        "/admin/exports/rlstagmapping/add/",
        "/admin/exports/s3destination/",
        "/admin/exports/s3destination/add/",
        "/admin/exports/sheet/",
        "/admin/exports/dashboard/rls-preview/",
    ],
)
def test_admin_pages_load(admin_client, sales, url):
    assert admin_client.get(url).status_code == 200


def test_dashboards_cannot_be_deleted_in_the_admin(admin_client, sales):
    assert admin_client.get(f"/admin/exports/dashboard/{sales.pk}/delete/").status_code == 403


def test_business_users_do_not_reach_the_admin(client, alice):
    client.force_login(alice)

    assert client.get("/admin/exports/dashboard/rls-preview/").status_code == 302


def test_a_mapping_change_writes_an_audit_event(admin_client, admin_user, alice):
    mapping = RlsTagMapping.objects.get(user=alice, tag_key="region")

    response = admin_client.post(
        f"/admin/exports/rlstagmapping/{mapping.pk}/change/",
        {"user": alice.pk, "group": "", "dashboard": "", "tag_key": "region", "tag_value": "APAC", "_save": "Save"},
    )

    assert response.status_code == 302
    [event] = events("rls_mapping.changed")
    assert event.actor_id == admin_user.pk and event.object_id == str(mapping.pk)
    assert event.data["before"]["tag_value"] == "EMEA"
    assert event.data["after"] == {
        "user": "alice",
        "group": None,
        "dashboard": None,
        "tag_key": "region",
        "tag_value": "APAC",
    }
    assert verify_chain().intact


def test_saving_a_mapping_unchanged_writes_nothing(admin_client, alice):
    mapping = RlsTagMapping.objects.get(user=alice, tag_key="region")

    admin_client.post(
        f"/admin/exports/rlstagmapping/{mapping.pk}/change/",
        {"user": alice.pk, "dashboard": "", "tag_key": "region", "tag_value": "EMEA", "_save": "Save"},
    )

    assert events("rls_mapping.changed") == []


def test_adding_and_deleting_a_mapping_are_audited(admin_client, sales):
    analysts = Group.objects.get(name="Analysts")
    admin_client.post(
        "/admin/exports/rlstagmapping/add/",
        {"group": analysts.pk, "dashboard": sales.pk, "tag_key": "segment", "tag_value": "SMB", "_save": "Save"},
    )
    mapping = RlsTagMapping.objects.get(tag_key="segment")

    admin_client.post(f"/admin/exports/rlstagmapping/{mapping.pk}/delete/", {"post": "yes"})

    [created], [deleted] = events("rls_mapping.created"), events("rls_mapping.deleted")
    assert created.data == {
        "before": None,
        "after": {
            "user": None,
            "group": "Analysts",
            "dashboard": "111122223333/us-east-1/sales-overview",
            "tag_key": "segment",
            "tag_value": "SMB",
        },
    }
    assert deleted.data["before"]["tag_value"] == "SMB" and deleted.data["after"] is None
    assert not RlsTagMapping.objects.filter(tag_key="segment").exists()


def test_bulk_delete_of_grants_is_audited_one_event_each(admin_client, sales, carol):
    Grant.objects.create(dashboard=sales, user=carol)
    grants = list(Grant.objects.filter(dashboard=sales))

    admin_client.post(
        "/admin/exports/grant/",
        {"action": "delete_selected", "_selected_action": [g.pk for g in grants], "post": "yes"},
    )

    deleted = events("grant.deleted")
    assert {(e.data["before"]["user"], e.data["before"]["group"]) for e in deleted} == {
        ("carol", None),
        (None, "Analysts"),
    }
    assert not Grant.objects.exists()


def test_adding_a_grant_is_audited(admin_client, sales, carol):
    admin_client.post("/admin/exports/grant/add/", {"dashboard": sales.pk, "user": carol.pk, "_save": "Save"})

    [event] = events("grant.created")
    assert event.data["after"] == {"dashboard": "111122223333/us-east-1/sales-overview", "user": "carol", "group": None}


def test_a_grant_needs_exactly_one_of_user_and_group(admin_client, sales, carol):
    analysts = Group.objects.get(name="Analysts")

    both = admin_client.post(
        "/admin/exports/grant/add/", {"dashboard": sales.pk, "user": carol.pk, "group": analysts.pk}
    )
    neither = admin_client.post("/admin/exports/grant/add/", {"dashboard": sales.pk})

    assert "Choose a user or a group, not both." in both.content.decode()
    assert "Choose a user or a group." in neither.content.decode()
    assert events("grant.created") == []


def test_destination_changes_are_audited_with_their_groups(admin_client, sales):
    analysts = Group.objects.get(name="Analysts")
    destination = S3Destination.objects.get(name="Finance bucket")

    admin_client.post(
        f"/admin/exports/s3destination/{destination.pk}/change/",
        {
            "name": "Finance bucket",
            "bucket_name": "finance-exports",
            "bucket_prefix": "quarterly/",
            "region": "us-east-1",
            "allowed_groups": [analysts.pk],
            "_save": "Save",
        },
    )

    [event] = events("destination.changed")
    assert (event.data["before"]["bucket_prefix"], event.data["after"]["bucket_prefix"]) == ("snapshots/", "quarterly/")
    assert event.data["after"]["allowed_groups"] == ["Analysts"]


def test_destination_form_names_the_field_and_the_rule(admin_client):
    response = admin_client.post(
        "/admin/exports/s3destination/add/",
        {"name": "Bad", "bucket_name": "Bad_Bucket", "bucket_prefix": " ", "region": "Europe"},
    )

    html = response.content.decode()
    assert "An S3 bucket name has 3 to 63 lowercase letters, digits" in html
    assert "QuickSight needs a prefix with a visible character" in html
    assert "Use an AWS region code, e.g. eu-west-1." in html
    assert not S3Destination.objects.filter(name="Bad").exists()


def test_sync_action_syncs_the_selected_dashboards_over_http(admin_client, admin_user, qs_local, settings):
    settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 1000
    qs_local.limits.max_calls_per_second = 1000
    sales = Dashboard.objects.create(
        aws_account_id=qs_local.account_id, region="us-east-1", dashboard_id="sales-overview", name="typed by hand"
    )

    response = admin_client.post(
        "/admin/exports/dashboard/",
        {"action": "sync_from_quicksight", "_selected_action": [sales.pk]},
        follow=True,
    )

    sales.refresh_from_db()
    assert sales.name == "Sales overview" and sales.sheets.count() == 3
    assert "Synced sales-overview: 14 added, 1 changed, 0 unchanged, 0 stale" in response.content.decode()
    assert not Dashboard.objects.filter(dashboard_id="support-ops").exists()
    [event] = events("catalog.synced")
    assert event.actor_id == admin_user.pk


def test_sync_action_reports_a_refused_account_as_an_error(admin_client, qs_local):
    other = Dashboard.objects.create(
        aws_account_id="999999999999", region="us-east-1", dashboard_id="elsewhere", name="Elsewhere"
    )

    response = admin_client.post(
        "/admin/exports/dashboard/", {"action": "sync_from_quicksight", "_selected_action": [other.pk]}, follow=True
    )

    assert "Not synced: elsewhere: FAILED AccessDeniedException" in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Elsewhere" and not other.is_stale


def test_a_second_grant_of_the_same_dashboard_is_refused_by_name(admin_client, sales):
    analysts = Group.objects.get(name="Analysts")

    response = admin_client.post("/admin/exports/grant/add/", {"dashboard": sales.pk, "group": analysts.pk})

    assert "The group Analysts already has a grant on Sales overview." in response.content.decode()
    assert Grant.objects.filter(dashboard=sales).count() == 1
