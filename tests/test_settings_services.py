"""Grants, RLS mappings and destinations change only through exports/services.py, each write with one
audit event (the values before and after); the admin and seed_demo call the same services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from exports import access, services
from exports.models import AuditEvent, Grant, RlsTagMapping, S3Destination
from exports.rls import effective_identity
from tests.factories import make_sales_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog().dashboard


def history(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_grant_given_then_taken_back_is_in_the_history_with_who_and_from_where(sales, carol, admin_user):
    grant = services.grant_create(dashboard=sales, user=carol, actor=admin_user, ip_address="198.51.100.4")
    assert access.granted_dashboards(carol).filter(pk=sales.pk).exists()

    services.grant_delete(grant=grant, actor=admin_user, ip_address="198.51.100.4")

    assert not access.granted_dashboards(carol).exists()
    [created], [deleted] = history("grant.created"), history("grant.deleted")
    assert created.data == {
        "before": None,
        "after": {"dashboard": "111122223333/us-east-1/sales", "user": "carol", "group": None},
    }
    assert deleted.data["before"] == created.data["after"] and deleted.data["after"] is None
    assert (deleted.actor_username, deleted.ip_address) == ("admin", "198.51.100.4")


def test_a_grant_breaking_a_rule_is_refused_naming_the_field_and_writes_nothing(sales, carol):
    with pytest.raises(ValidationError) as refused:
        services.grant_create(dashboard=sales, user=carol, group=Group.objects.get(name="Analysts"))

    assert "Choose a user or a group, not both." in str(refused.value)
    assert not Grant.objects.filter(user=carol).exists() and not history("grant.created")


def test_setting_a_tag_again_changes_its_value_once_and_the_same_value_writes_nothing(sales, carol):
    services.rls_mapping_set(user=carol, tag_key="region", tag_value="EMEA")
    services.rls_mapping_set(user=carol, tag_key="region", tag_value="APAC")
    services.rls_mapping_set(user=carol, tag_key="region", tag_value="APAC")

    assert effective_identity(carol, sales).tags == {"region": "APAC"}
    assert RlsTagMapping.objects.filter(user=carol).count() == 1
    assert len(history("rls_mapping.created")) == 1
    [changed] = history("rls_mapping.changed")
    assert (changed.data["before"]["tag_value"], changed.data["after"]["tag_value"]) == ("EMEA", "APAC")


def test_a_destination_is_created_with_its_groups_and_deleted_in_the_history(demo_users):
    analysts = Group.objects.get(name="Analysts")

    destination = services.destination_create(
        name="Reports", bucket_name="reports-bucket", bucket_prefix="q/", region="eu-west-1", allowed_groups=[analysts]
    )
    services.destination_delete(destination=destination)

    assert not S3Destination.objects.filter(name="Reports").exists()
    [created] = history("destination.created")
    assert created.data["after"] == {
        "name": "Reports",
        "bucket_name": "reports-bucket",
        "bucket_prefix": "q/",
        "region": "eu-west-1",
        "allowed_groups": ["Analysts"],
    }
    assert history("destination.deleted")[0].data["before"] == created.data["after"]
