"""Re-run opens the form filled from an earlier export's choices, rebuilt with today's identity."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from exports.models import RlsTagMapping, Visual
from exports.services import export_create
from tests.factories import make_sales_catalog

SPEC = {
    "dashboard": "sales",
    "files": [{"format": "PDF", "sheet": "summary"}, {"format": "CSV", "visual": "order-lines"}],
    "parameters": {"Country": ["France", "Spain"]},
}


@pytest.fixture
def earlier(alice):
    make_sales_catalog()
    return export_create(user=alice, spec=SPEC)


def rerun_page(client, export):
    response = client.get(f"{reverse('exports:new')}?dashboard=sales&rerun={export.pk}")
    assert response.status_code == 200
    return response


def previewed_request(response) -> dict:
    return json.loads(response.context["request_json"])


def test_rerun_fills_the_form_with_the_earlier_choices(client, alice, earlier):
    client.force_login(alice)
    response = rerun_page(client, earlier)
    assert response.context["spec"].as_json() == SPEC
    preview = previewed_request(response)
    groups = preview["SnapshotConfiguration"]["FileGroups"]
    assert [g["Files"][0]["FormatType"] for g in groups] == ["PDF", "CSV"]
    assert preview["SnapshotConfiguration"]["Parameters"]["StringParameters"] == [
        {"Name": "Country", "Values": ["France", "Spain"]}
    ]
    assert "France" in response.content.decode()


def test_rerun_uses_the_identity_of_today_not_the_stored_one(client, alice, earlier):
    RlsTagMapping.objects.filter(user=alice, tag_key="region").update(tag_value="APAC")
    client.force_login(alice)
    response = rerun_page(client, earlier)
    assert earlier.request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] == [
        {"Key": "region", "Value": "EMEA"}
    ]
    # The request is rebuilt, not replayed: today's mapping decides, and alice sees it masked.
    assert response.context["problem_count"] == 0
    tags = previewed_request(response)["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"]
    assert tags == [{"Key": "region", "Value": "•••"}]
    assert "EMEA" not in response.content.decode()


def test_rerun_of_a_visual_gone_since_shows_the_problem_beside_it(client, alice, earlier):
    Visual.objects.filter(visual_id="order-lines").update(is_stale=True)
    client.force_login(alice)
    response = rerun_page(client, earlier)
    problems = [p for p in response.context["problems"] if p.field.startswith("files[1]")]
    assert problems, response.context["problems"]
    html = response.content.decode()
    beside_file_2 = html[html.index('id="file-1"') :]
    assert escape(problems[0].message) in beside_file_2


def test_bob_cannot_rerun_alices_export(client, bob, earlier):
    client.force_login(bob)
    response = client.get(f"{reverse('exports:new')}?rerun={earlier.pk}")
    assert response.status_code == 404


def test_a_malformed_rerun_id_is_a_404(client, alice, earlier):
    client.force_login(alice)
    assert client.get(f"{reverse('exports:new')}?rerun=not-a-uuid").status_code == 404
