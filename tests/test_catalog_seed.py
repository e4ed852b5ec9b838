"""seed_demo: with the embedded quicksight_local, the demo catalog is synced and granted to Analysts."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from exports import access, audit
from exports.models import AuditEvent, Dashboard, Grant
from exports.rls import effective_identity, export_blocker
from quicksight_local.jobs import get_state


@pytest.fixture
def embedded(settings):
    settings.DEBUG = True
    settings.QUICKSIGHT_ENDPOINT_URL = "http://127.0.0.1:8000/quicksight-local"
    # Two seeds back to back: lift both the portal's quota and quicksight_local's own (else throttled).
    settings.QUICKSIGHT_MAX_CALLS_PER_SECOND = 1000
    limits = get_state().limits
    previous, limits.max_calls_per_second = limits.max_calls_per_second, 1000
    yield
    limits.max_calls_per_second = previous


def test_seed_demo_syncs_and_grants_the_demo_catalog_once(embedded, db, capsys, django_user_model):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "sales-overview: 15 added" in out and "sales-overview: 0 added, 0 changed, 15 unchanged" in out
    assert set(Dashboard.objects.values_list("dashboard_id", flat=True)) == {
        "sales-overview",
        "support-ops",
        "account-plans",
    }
    assert set(Grant.objects.values_list("dashboard__dashboard_id", "group__name")) == {
        ("sales-overview", "Analysts"),
        ("support-ops", "Analysts"),
        ("account-plans", "Account managers"),
    }
    alice, carol = django_user_model.objects.get(username="alice"), django_user_model.objects.get(username="carol")
    assert access.granted_dashboards(alice).count() == 2
    assert not access.granted_dashboards(carol).exists()


def test_seed_demo_leaves_a_real_quicksight_alone(embedded, settings, db, capsys):
    settings.QUICKSIGHT_ENDPOINT_URL = "aws"

    call_command("seed_demo")

    assert "run `manage.py sync_dashboards`" in capsys.readouterr().out
    assert not Dashboard.objects.exists()


def test_seeded_account_managers_show_rule_groups(embedded, db, django_user_model):
    call_command("seed_demo")
    plans = Dashboard.objects.get(dashboard_id="account-plans")
    dave, erin = (django_user_model.objects.get(username=name) for name in ("dave", "erin"))

    assert [(d["data_set_id"], d["rls"].get("TagRuleConfigurations")) for d in plans.data_sets] == [
        ("account_plans", [["region", "customer_segment"], ["account_manager"]]),
        ("sales_orders", None),
    ]
    assert export_blocker(effective_identity(dave, plans), plans) is None
    assert export_blocker(effective_identity(erin, plans), plans) == (
        "Account plans shows only the rows your row-level security tags allow "
        "(account_manager, customer_segment, region). Its data set “Account plans” needs the tags "
        "region and customer_segment, or account_manager; you have no value for customer_segment, account_manager. "
        "Ask an administrator to map your tags."
    )


def test_seed_demo_writes_its_grants_and_tags_into_the_history_once(embedded, db):
    call_command("seed_demo")
    call_command("seed_demo")

    grants = AuditEvent.objects.filter(action="grant.created")
    assert sorted((e.data["after"]["dashboard"].rsplit("/", 1)[1], e.data["after"]["group"]) for e in grants) == [
        ("account-plans", "Account managers"),
        ("sales-overview", "Analysts"),
        ("support-ops", "Analysts"),
    ]
    tags = AuditEvent.objects.filter(action="rls_mapping.created")
    assert sorted((e.data["after"]["user"], e.data["after"]["tag_key"]) for e in tags) == [
        ("alice", "region"),
        ("bob", "region"),
        ("dave", "customer_segment"),
        ("dave", "region"),
        ("erin", "region"),
    ]
    assert not AuditEvent.objects.exclude(
        action__in=["grant.created", "rls_mapping.created", "catalog.synced"]
    ).exists()
    assert audit.verify_chain().intact
