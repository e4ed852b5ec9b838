"""Idempotent submit (issue #12): a double click on "Create export" used to create two exports.
The form carries a one-time token; the same submission sent again answers with the first export."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from exports.models import AuditEvent, Export
from tests.factories import make_sales_catalog

NEW = reverse("exports:new")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_on_page(client: Client) -> str:
    html = client.get(NEW, {"dashboard": "sales"}).content.decode()
    return re.search(r'<input type="hidden" name="submit_token" value="([0-9a-f-]{36})">', html)[1]


def submission(token: str) -> dict:
    return {"dashboard": "sales", "files-0-format": "PDF", "files-0-sheet": "summary", "action": "submit",
            "submit_token": token}  # fmt: skip


@pytest.mark.django_db
def test_the_same_form_posted_twice_creates_one_export_and_both_answers_show_it(alice, sales):
    client = signed_in(alice)
    token = token_on_page(client)

    first = client.post(NEW, submission(token))
    second = client.post(NEW, submission(token))

    export = Export.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("exports:detail", kwargs={"export_id": export.pk})
    assert AuditEvent.objects.filter(action="export.requested").count() == 1


@pytest.mark.django_db
def test_a_double_click_through_htmx_redirects_both_clicks_to_the_first_export(alice, sales):
    client = signed_in(alice)
    token = token_on_page(client)

    answers = [client.post(NEW, submission(token), **HTMX)["HX-Redirect"] for _ in range(2)]

    assert answers == [reverse("exports:detail", kwargs={"export_id": Export.objects.get().pk})] * 2


@pytest.mark.django_db
def test_each_new_form_is_a_new_submission(alice, sales):
    client = signed_in(alice)
    first, second = token_on_page(client), token_on_page(client)
    assert first != second

    client.post(NEW, submission(first))
    client.post(NEW, submission(second))

    assert Export.objects.filter(user=alice).count() == 2


@pytest.mark.django_db
def test_the_token_of_an_invalid_submission_stays_usable_after_the_fix(alice, sales):
    client = signed_in(alice)
    token = token_on_page(client)
    invalid = {**submission(token), "files-0-sheet": "old-sheet"}

    html = client.post(NEW, invalid).content.decode()

    assert Export.objects.count() == 0
    assert f'name="submit_token" value="{token}"' in html  # the re-rendered form keeps its token
    assert client.post(NEW, submission(token)).status_code == 302
    assert Export.objects.count() == 1


@pytest.mark.django_db
def test_someone_elses_token_never_answers_their_export(alice, bob, sales):
    token = token_on_page(signed_in(alice))
    signed_in(alice).post(NEW, submission(token))

    response = signed_in(bob).post(NEW, submission(token))

    bobs = Export.objects.get(user=bob)
    assert response["Location"] == reverse("exports:detail", kwargs={"export_id": bobs.pk})
    assert Export.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_form_create_one_export(alice, sales):
    token = token_on_page(signed_in(alice))
    clients = [signed_in(alice), signed_in(alice)]
    start, locations = threading.Barrier(2), []

    def post(client: Client) -> None:
        start.wait()
        try:
            locations.append(client.post(NEW, submission(token))["Location"])
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    export = Export.objects.get()
    assert locations == [reverse("exports:detail", kwargs={"export_id": export.pk})] * 2
    assert AuditEvent.objects.filter(action="export.requested").count() == 1
