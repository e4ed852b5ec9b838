from __future__ import annotations

import pytest
from django.http import Http404

from exports.access import get_dashboard_for_user
from exports.models import Dashboard, Grant


def test_a_dashboard_id_shared_by_two_accounts_answers_the_same_one_every_time(alice):
    later = Dashboard.objects.create(aws_account_id="999988887777", region="eu-west-1", dashboard_id="d", name="B")
    first = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    for dashboard in (later, first):
        Grant.objects.create(dashboard=dashboard, user=alice)
    assert get_dashboard_for_user(alice, "d") == first
    assert get_dashboard_for_user(alice, "d") == first


def test_a_dashboard_not_granted_is_a_404(alice, carol):
    dashboard = Dashboard.objects.create(aws_account_id="111122223333", region="us-east-1", dashboard_id="d", name="A")
    Grant.objects.create(dashboard=dashboard, user=alice)
    with pytest.raises(Http404):
        get_dashboard_for_user(carol, "d")
