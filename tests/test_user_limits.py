"""Per-person limits (issue #12): export submissions per hour and download clicks per minute,
shared by every process through Redis, refused with 429 naming the limit and when to retry, and
each refusal audited once."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from exports.events import LIMIT_REFUSED as LIMIT_REFUSED_ACTION
from exports.models import AuditEvent, Export
from tests.factories import make_sales_catalog
from tests.history_factory import make_dashboard, make_export
from tests.services import ROOT, worker_env

NEW = reverse("exports:new")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shared_limits(settings, redis_url, tmp_path):
    """The limits' buckets in a real Redis, as every web process of a deployment shares them."""
    settings.REDIS_URL = redis_url
    settings.MEDIA_ROOT = tmp_path
    return settings


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(client: Client, **headers):
    html = client.get(NEW, {"dashboard": "sales"}).content.decode()
    token = re.search(r'name="submit_token" value="([0-9a-f-]{36})"', html)[1]
    data = {"dashboard": "sales", "files-0-format": "PDF", "files-0-sheet": "summary", "action": "submit"}
    return client.post(NEW, {**data, "submit_token": token}, **headers)


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=LIMIT_REFUSED_ACTION).order_by("seq"))


def archived_export(user) -> Export:
    """A finished export whose one file is in our storage: a download needs no AWS call."""
    export = make_export(user, make_dashboard(), formats=["CSV"], uris=["s3://results/file.csv"])
    export_file = export.files.get()
    export_file.archived_file.name = default_storage.save("exports/file.csv", ContentFile(b"a,b\n1,2\n"))
    export_file.save(update_fields=["archived_file"])
    return export


@pytest.mark.django_db
def test_the_fourth_submission_in_an_hour_is_refused_with_the_limit_and_when_to_retry(shared_limits, alice, bob):
    shared_limits.EXPORT_SUBMISSIONS_PER_HOUR = 3
    make_sales_catalog()
    client = signed_in(alice)

    answers = [submit(client).status_code for _ in range(3)]
    refused = submit(client)

    assert answers == [302, 302, 302]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1200"  # one more submission is allowed every 3600 s / 3
    text = refused.content.decode()
    assert "You have reached the limit of 3 export submissions per hour. Try again in 20 minutes." in text
    assert Export.objects.filter(user=alice).count() == 3
    (event,) = refusals()
    assert event.actor_username == "alice" and event.ip_address == "127.0.0.1"
    assert event.data == {
        "limit": "export_submissions",
        "allowed": 3,
        "period_seconds": 3600,
        "retry_after_seconds": 1200,
    }
    assert submit(signed_in(bob)).status_code == 302  # the limit is alice's, not everyone's


@pytest.mark.django_db
def test_every_refused_submission_is_audited_once_and_a_double_click_is_not_a_submission(shared_limits, alice):
    shared_limits.EXPORT_SUBMISSIONS_PER_HOUR = 1
    make_sales_catalog()
    client = signed_in(alice)
    first = submit(client)
    token = Export.objects.get().submit_token

    again = client.post(NEW, {"dashboard": "sales", "files-0-format": "PDF", "files-0-sheet": "summary",
                              "action": "submit", "submit_token": str(token)})  # fmt: skip
    refused = [submit(client).status_code for _ in range(2)]

    assert again["Location"] == first["Location"]  # the repeat answers the export, not 429
    assert refused == [429, 429]
    assert len(refusals()) == 2


@pytest.mark.django_db
def test_an_htmx_submission_over_the_limit_gets_the_notice_fragment(shared_limits, alice):
    shared_limits.EXPORT_SUBMISSIONS_PER_HOUR = 1
    make_sales_catalog()
    client = signed_in(alice)
    submit(client, **HTMX)

    response = submit(client, **HTMX)

    assert response.status_code == 429
    assert response["HX-Retarget"] == "#limit-notice" and response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert html.startswith('<div id="limit-notice"') and "<html" not in html
    assert "limit of 1 export submissions per hour" in html
    assert response["Retry-After"] == "3600"


@pytest.mark.django_db
def test_the_third_download_click_in_a_minute_is_refused_and_audited(shared_limits, alice):
    shared_limits.DOWNLOADS_PER_MINUTE = 2
    export = archived_export(alice)
    client = signed_in(alice)
    url = reverse("exports:download", args=[export.pk, 0])

    answers = [client.get(url).status_code for _ in range(2)]
    refused = client.get(url)

    assert answers == [200, 200]
    assert refused.status_code == 429 and refused["Retry-After"] == "30"
    assert "You have reached the limit of 2 download clicks per minute. Try again in 30 seconds." in (
        refused.content.decode()
    )
    assert "no-store" in refused["Cache-Control"]
    (event,) = refusals()
    assert event.export_id == export.pk and event.object_id == str(export.files.get().pk)
    assert event.data["limit"] == "downloads"
    assert AuditEvent.objects.filter(action="export.file_downloaded").count() == 2
    timeline = client.get(reverse("exports:detail", kwargs={"export_id": export.pk})).content.decode()
    assert "Refused: a limit was reached" in timeline


USE_UP = """
import sys
import django
django.setup()
from django.contrib.auth import get_user_model
from exports import quota
alice = get_user_model().objects.get(username="alice")
for _ in range(int(sys.argv[1])):
    quota.user_limit_take(quota.DOWNLOADS, user=alice)
"""


@pytest.mark.parametrize("backend", ["redis", "file"])
@pytest.mark.django_db(transaction=True)
def test_clicks_counted_by_another_process_count_here_too(backend, shared_limits, alice, redis_url, tmp_path):
    shared_limits.DOWNLOADS_PER_MINUTE = 5
    shared_limits.REDIS_URL = redis_url if backend == "redis" else None  # else buckets under VAR_DIR/quota
    shared_limits.VAR_DIR = tmp_path
    export = archived_export(alice)
    env = worker_env(
        REDIS_URL=shared_limits.REDIS_URL,
        VAR_DIR=str(tmp_path),
        DOWNLOADS_PER_MINUTE="5",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    done = subprocess.run([sys.executable, "-c", USE_UP, "5"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    response = signed_in(alice).get(reverse("exports:download", args=[export.pk, 0]))

    assert response.status_code == 429


@pytest.mark.django_db
def test_the_limit_page_links_back_and_a_full_page_is_rendered(shared_limits, alice):
    shared_limits.DOWNLOADS_PER_MINUTE = 1
    export = archived_export(alice)
    client = signed_in(alice)
    url = reverse("exports:download", args=[export.pk, 0])
    client.get(url)

    html = client.get(url).content.decode()

    assert "<h1>Limit reached</h1>" in html
    assert f'href="{reverse("exports:detail", kwargs={"export_id": export.pk})}"' in html


def test_a_lifecycle_reserve_of_the_whole_quota_is_refused_naming_the_variable():
    from tests.test_settings import run_manage

    done = run_manage("check", env={"DEBUG": "true", "QUICKSIGHT_LIFECYCLE_RESERVE": "1"})

    assert done.returncode != 0
    assert "QUICKSIGHT_LIFECYCLE_RESERVE=1.0 must be below 1" in done.stderr
