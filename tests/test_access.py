from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from exports import access
from exports.access import get_dashboard_for_user
from exports.models import Dashboard, Grant, Sheet
from exports.services import export_create


def test_a_dashboard_id_shared_by_two_accounts_answers_the_same_one_every_time(alice):
    later = Dashboard.objects.create(aws_account_id="999988887777", region="eu-west-1", dashboard_id="d", name="B")
    first = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    for dashboard in (later, first):
        Grant.objects.create(dashboard=dashboard, user=alice)
    assert get_dashboard_for_user(alice, "d") == first
    assert get_dashboard_for_user(alice, "d") == first


def test_a_dashboard_not_granted_is_not_found(alice, carol):
    dashboard = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    Grant.objects.create(dashboard=dashboard, user=alice)
    with pytest.raises(access.NotFound) as missing:
        get_dashboard_for_user(carol, "d")
    # A selector's answer, not an HTTP one: callers outside a request (tasks, commands) catch it as such.
    assert not isinstance(missing.value, Http404)


def test_a_dashboard_not_granted_is_a_404_page(client, alice, carol):
    dashboard = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    Grant.objects.create(dashboard=dashboard, user=alice)
    client.force_login(carol)
    assert client.get(reverse("exports:dashboard", kwargs={"dashboard_id": "d"})).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("exports:dashboard", kwargs={"dashboard_id": "d"})).status_code == 200


def test_an_export_targets_the_dashboard_its_preview_showed_when_two_accounts_share_its_id(alice):
    # Created first (lower primary key), but second by account: the preview never shows it.
    later = Dashboard.objects.create(aws_account_id="999988887777", region="eu-west-1", dashboard_id="d", name="B")
    first = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    for dashboard in (later, first):
        Grant.objects.create(dashboard=dashboard, user=alice)
        Sheet.objects.create(dashboard=dashboard, sheet_id="overview", name="Overview")

    previewed = get_dashboard_for_user(alice, "d")
    export = export_create(user=alice, spec={"dashboard": "d", "files": [{"format": "PDF", "sheet": "overview"}]})

    assert previewed == first
    assert export.dashboard == first
    assert (export.aws_account_id, export.region) == ("111122223333", "us-east-1")
    assert export.request["AwsAccountId"] == "111122223333"


@pytest.mark.parametrize("loader", ["a plain query", "the sign-in backend"])
def test_the_history_permission_counts_from_the_user_or_a_group_and_only_while_active(loader, carol, audra, admin_user):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from exports.backends import PortalBackend

    User = get_user_model()

    def auditor(pk) -> bool:
        # The backend reads the answer with the user (its own SQL); a plain user asks access on its own.
        user = User.objects.get(pk=pk) if loader == "a plain query" else PortalBackend().get_user(str(pk))
        return user is not None and access.is_auditor(user)

    assert auditor(audra.pk)  # through the Auditors group
    assert auditor(admin_user.pk)
    assert not auditor(carol.pk)
    carol.user_permissions.add(Permission.objects.get(codename="view_history"))
    assert auditor(carol.pk)  # granted to her directly
    User.objects.filter(pk=carol.pk).update(is_active=False)
    assert not auditor(carol.pk)
    # The same answers as Django's own check.
    for user in User.objects.all():
        assert auditor(user.pk) == User.objects.get(pk=user.pk).has_perm("exports.view_history")
