"""Effective RLS identity: precedence, conflicts, dashboard scope, the export blocker, validation, the preview."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from exports.models import Dashboard, RlsTagMapping, Sheet
from exports.rls import effective_identities, effective_identity, export_blocker
from tests.factories import make_sales_catalog


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog(dashboard_id="sales-overview").dashboard


@pytest.fixture
def support(db):
    return Dashboard.objects.create(
        aws_account_id="111122223333",
        region="us-east-1",
        dashboard_id="support-ops",
        name="Support operations",
        rls_tag_keys=["region"],
    )


def group(name: str, *members) -> Group:
    created, _ = Group.objects.get_or_create(name=name)
    for user in members:
        user.groups.add(created)
    return created


def test_user_mapping_beats_group_mapping(alice, sales):
    RlsTagMapping.objects.create(group=group("Analysts"), tag_key="region", tag_value="AMER")

    identity = effective_identity(alice, sales)

    assert identity.tags == {"region": "EMEA"}
    assert identity.sources == {"region": "user alice for every dashboard"}
    assert identity.conflicts == ()


def test_dashboard_scoped_mapping_beats_global_for_users_and_groups(alice, sales):
    RlsTagMapping.objects.create(user=alice, dashboard=sales, tag_key="region", tag_value="APAC")
    RlsTagMapping.objects.create(group=group("Analysts"), tag_key="segment", tag_value="SMB")
    RlsTagMapping.objects.create(group=group("Analysts"), dashboard=sales, tag_key="segment", tag_value="ENT")

    identity = effective_identity(alice, sales)

    assert identity.tags == {"region": "APAC", "segment": "ENT"}
    assert identity.sources["region"] == "user alice for Sales overview"
    assert identity.sources["segment"] == "group Analysts for Sales overview"
    assert [c.source for c in identity.candidates if not c.used] == [
        "user alice for every dashboard",
        "group Analysts for every dashboard",
    ]


def test_a_mapping_scoped_to_another_dashboard_does_not_apply(alice, sales, support):
    RlsTagMapping.objects.create(user=alice, dashboard=support, tag_key="region", tag_value="APAC")
    RlsTagMapping.objects.create(user=alice, dashboard=support, tag_key="team", tag_value="L2")

    assert effective_identity(alice, sales).tags == {"region": "EMEA"}
    assert effective_identity(alice, support).tags == {"region": "APAC", "team": "L2"}


@pytest.mark.parametrize("order", [("Zeta", "Alpha"), ("Alpha", "Zeta")])
def test_groups_that_disagree_resolve_by_group_name_and_report_the_conflict(carol, sales, order):
    for name in order:
        group(name, carol)
        RlsTagMapping.objects.create(
            group=Group.objects.get(name=name), tag_key="region", tag_value=f"{name.upper()}-REGION"
        )

    identity = effective_identity(carol, sales)

    assert identity.tags == {"region": "ALPHA-REGION"}
    [conflict] = identity.conflicts
    assert (conflict.key, conflict.chosen_from, conflict.overridden) == ("region", "Alpha", (("Zeta", "ZETA-REGION"),))


def test_groups_that_agree_are_no_conflict(carol, sales):
    for name in ("One", "Two"):
        RlsTagMapping.objects.create(group=group(name, carol), tag_key="region", tag_value="EMEA")

    assert effective_identity(carol, sales).conflicts == ()


def test_a_group_scoped_to_the_dashboard_beats_another_groups_global_without_conflict(carol, sales):
    RlsTagMapping.objects.create(group=group("Alpha", carol), tag_key="region", tag_value="AMER")
    RlsTagMapping.objects.create(group=group("Zeta", carol), dashboard=sales, tag_key="region", tag_value="APAC")

    identity = effective_identity(carol, sales)

    assert identity.tags == {"region": "APAC"} and identity.conflicts == ()


def test_no_tags_on_an_rls_dashboard_blocks_the_export_in_plain_words(carol, sales):
    blocker = export_blocker(effective_identity(carol, sales), sales)

    assert blocker == (
        "Sales overview shows only the rows your row-level security tags allow (region). "
        "It needs the tags region; you have no value for region. Ask an administrator to map your tags."
    )


def test_tags_for_other_keys_do_not_unblock(carol, sales):
    RlsTagMapping.objects.create(user=carol, tag_key="department", tag_value="Finance")

    assert export_blocker(effective_identity(carol, sales), sales) is not None


def test_a_dashboard_without_rls_needs_no_tags(carol, sales):
    sales.rls_tag_keys = []

    assert export_blocker(effective_identity(carol, sales), sales) is None


def test_identities_for_many_dashboards_take_one_query(alice, sales, support, django_assert_num_queries):
    RlsTagMapping.objects.create(user=alice, dashboard=support, tag_key="region", tag_value="APAC")

    with django_assert_num_queries(1):
        identities = effective_identities(alice, [sales, support])

    assert identities[sales.pk].tags == effective_identity(alice, sales).tags == {"region": "EMEA"}
    assert identities[support.pk].tags == effective_identity(alice, support).tags == {"region": "APAC"}


# --- validation, as the API's limits ---


def errors(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


def test_tag_key_and_value_lengths_match_the_api(alice):
    assert "tag_key" in errors(RlsTagMapping(user=alice, tag_key="k" * 129, tag_value="v"))
    assert "tag_value" in errors(RlsTagMapping(user=alice, tag_key="k", tag_value="v" * 257))
    assert "tag_key" in errors(RlsTagMapping(user=alice, tag_key="", tag_value="v"))
    RlsTagMapping(user=alice, tag_key="k" * 128, tag_value="v" * 256).full_clean()


def test_one_mapping_per_subject_key_and_scope(alice, sales):
    duplicate = RlsTagMapping(user=alice, tag_key="region", tag_value="APAC")

    assert errors(duplicate) == {
        "tag_key": ["alice already has a 'region' tag for every dashboard: change that mapping instead."]
    }
    RlsTagMapping(user=alice, dashboard=sales, tag_key="region", tag_value="APAC").full_clean()


def test_at_most_50_tags_per_identity(alice, sales, support):
    for n in range(48):  # with her 'region', alice has 49 tags on every dashboard
        RlsTagMapping.objects.create(user=alice, tag_key=f"key{n}", tag_value="v")
    RlsTagMapping.objects.create(group=group("Analysts"), dashboard=sales, tag_key="fiftieth", tag_value="v")

    # 50 on Support operations: allowed.
    RlsTagMapping(user=alice, dashboard=support, tag_key="one-more", tag_value="v").full_clean()
    # A global tag would make 51 on Sales overview.
    assert errors(RlsTagMapping(user=alice, tag_key="one-more", tag_value="v")) == {
        "tag_key": [
            "alice would have 51 row-level security tags for Sales overview; "
            "QuickSight accepts at most 50 per identity."
        ]
    }
    assert "tag_key" in errors(RlsTagMapping(user=alice, dashboard=sales, tag_key="one-more", tag_value="v"))
    # Changing the value of an existing key adds no tag.
    existing = RlsTagMapping.objects.get(user=alice, tag_key="key0")
    existing.tag_value = "w"
    existing.full_clean()


def test_a_group_mapping_is_refused_when_it_pushes_a_member_over_50(bob, sales):
    for n in range(49):  # with his 'region', bob has 50 tags
        RlsTagMapping.objects.create(user=bob, tag_key=f"key{n}", tag_value="v")

    assert errors(RlsTagMapping(group=group("Analysts"), tag_key="extra", tag_value="v")) == {
        "tag_key": [
            "bob would have 51 row-level security tags for every dashboard; QuickSight accepts at most 50 per identity."
        ]
    }


def test_ids_and_account_follow_the_api_patterns(db):
    bad = Dashboard(aws_account_id="1234", region="us-east-1", dashboard_id="has space", name="x")

    problems = errors(bad)

    assert problems["aws_account_id"] == ["An AWS account id is exactly 12 digits."]
    assert problems["dashboard_id"] == ["Use 1 to 512 letters, digits, '_' or '-'."]
    dashboard = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="d")
    assert "sheet_id" in errors(Sheet(dashboard=dashboard, sheet_id="x" * 513, name="s"))


# --- the admin's preview ---


@pytest.fixture
def admin_client(client, demo_users):
    client.force_login(demo_users["admin"])
    return client


def preview(admin_client, user, dashboard) -> str:
    response = admin_client.get(f"/admin/exports/dashboard/rls-preview/?user={user.pk}&dashboard={dashboard.pk}")
    assert response.status_code == 200
    return response.content.decode()


def test_preview_shows_tags_and_where_they_came_from(admin_client, alice, sales):
    html = preview(admin_client, alice, sales)

    assert "alice on Sales overview" in html
    assert "Tags sent to QuickSight (1 of at most 50)" in html
    assert "<td>EMEA</td><td>user alice for every dashboard</td><td>yes</td>" in html
    assert "alice can export it with this identity." in html
    assert "alice will see rows where region is EMEA." in html
    assert "The dashboard is granted to alice." in html


def test_preview_shows_conflicts_and_overridden_mappings(admin_client, carol, sales):
    RlsTagMapping.objects.create(group=group("Alpha", carol), tag_key="region", tag_value="AMER")
    RlsTagMapping.objects.create(group=group("Zeta", carol), tag_key="region", tag_value="APAC")

    html = preview(admin_client, carol, sales)

    assert "AMER from group Alpha is used" in html and "APAC from group Zeta" in html
    assert "region</code> = APAC (group Zeta for every dashboard)" in html


def test_preview_shows_the_blocker_for_an_outsider(admin_client, carol, sales):
    html = preview(admin_client, carol, sales)

    assert "Export blocked:" in html and "carol has no value for region" in html
    assert "Add a mapping for carol or one of their groups." in html and "you have" not in html
    assert "The dashboard is not granted to carol" in html
    assert "No tag applies to carol for this dashboard." in html


def test_preview_says_when_only_the_grant_is_missing(admin_client, carol, sales):
    RlsTagMapping.objects.create(user=carol, tag_key="region", tag_value="APAC")

    html = preview(admin_client, carol, sales)

    assert "Export not possible:" in html and "with a grant, carol could export it with this identity" in html
