"""The navigation's two questions (an auditor? an export ended unseen?) come with the user's own query
(exports/backends.py), and stay true to the database on every request."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exports.models import Export
from tests.history_factory import make_dashboard, make_export


def _page(client) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("exports:tokens")).content.decode()
    return page, [query["sql"] for query in queries]


def _asking(queries: list[str], table: str) -> list[str]:
    return [sql for sql in queries if table in sql]


def test_the_navigation_asks_nothing_beyond_the_users_own_query(client, audra):
    client.force_login(audra)
    page, queries = _page(client)
    assert 'href="/audit/">History</a>' in page
    # The permission and the unseen ends are read in the query that loads the user, and nowhere else.
    assert len(_asking(queries, '"auth_permission"')) == 1
    assert _asking(queries, '"auth_permission"') == _asking(queries, 'FROM "auth_user"')
    assert _asking(queries, '"end_notice"') == _asking(queries, 'FROM "auth_user"')


def test_an_auditor_whose_permission_is_withdrawn_loses_the_history_on_the_next_page(client, audra):
    client.force_login(audra)
    assert 'href="/audit/">History</a>' in _page(client)[0]
    for group in audra.groups.all():
        group.permissions.remove(Permission.objects.get(codename="view_history"))
    assert 'href="/audit/">History</a>' not in _page(client)[0]
    assert client.get(reverse("exports:audit")).status_code == 403


def test_an_export_that_ended_unseen_is_counted_then_not_once_looked_at(client, alice):
    export = make_export(alice, make_dashboard())
    Export.objects.filter(pk=export.pk).update(end_notice=Export.EndNotice.SHOWN)
    client.force_login(alice)
    page, queries = _page(client)
    assert '<span class="nav-count">1<' in page
    client.get(reverse("exports:list"))  # looking at My exports marks it seen
    page, queries = _page(client)
    assert "nav-count" not in page
    assert _asking(queries, '"end_notice"') == _asking(queries, 'FROM "auth_user"')
