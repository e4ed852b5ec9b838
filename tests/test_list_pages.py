"""List pages at scale (issue #14): constant queries, capped counts, indexed filters and search, and the
auditor's search that finds RLS tag values (issue #15) without putting them in any log."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse

from exports import history
from exports.models import AuditEvent, Export, ExportFile
from exports.views import http as http_views
from portal.logging import redact
from tests.history_factory import build_export, make_dashboard, make_export

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are PostgreSQL's")


def shown(client, url, exports, **params):
    page = client.get(url, params).content.decode()
    return {e.pk for e in exports if f"history-{e.pk}" in page}


def test_history_search_finds_rls_tag_values_for_auditors(client, alice, bob, audra):
    dashboard = make_dashboard()
    emea = make_export(alice, dashboard, tags={"region": "EMEA", "cost_center": "CC-4711"})
    amer = make_export(bob, dashboard, tags={"region": "AMER"})
    client.force_login(audra)
    audit = reverse("exports:audit")
    assert shown(client, audit, [emea, amer], q="cc-4711") == {emea.pk}
    assert shown(client, audit, [emea, amer], q="AMER") == {amer.pk}
    # Values only: a tag's key is in every request and finds nothing by itself.
    assert shown(client, audit, [emea, amer], q="cost_center") == set()


def test_history_search_finds_an_error_written_after_the_export_was_made(client, alice, audra):
    # The searched text is a column the database keeps: rows changed by update() (the lifecycle's
    # way) are found by what they say now, with non-ASCII RLS values found too.
    export = make_export(alice, make_dashboard(), tags={"region": "Zürich"})
    Export.objects.filter(pk=export.pk).update(error_code="ThrottlingException", error_message="Rate exceeded")
    client.force_login(audra)
    audit = reverse("exports:audit")
    assert shown(client, audit, [export], q="throttlingexc") == {export.pk}
    assert shown(client, audit, [export], q="RATE EXCEEDED") == {export.pk}
    assert shown(client, audit, [export], q="Zürich") == {export.pk}


def test_history_search_reads_the_stored_text_not_each_request(audra):
    # Evaluating the JSON path on every row passed made a frequent word's count 4x slower and its
    # planning 12x (exports/search_text.py): the query names the column, never the path.
    sql = str(history.history_exports(filters={"q": "EMEA"}).query)
    assert "search_text" in sql and "jsonb_path_query_array" not in sql and "portal_rls_tag_values" not in sql


def test_business_users_cannot_search_the_history_or_my_exports_by_rls_value(client, alice, bob):
    dashboard = make_dashboard()
    mine = make_export(alice, dashboard, tags={"region": "EMEA"})
    make_export(bob, dashboard, tags={"region": "AMER"})
    client.force_login(alice)
    assert client.get(reverse("exports:audit"), {"q": "AMER"}).status_code == 403
    # My exports has no search: a q is ignored, never matched against the tags of the request.
    page = client.get(reverse("exports:list"), {"q": "AMER"}).content.decode()
    assert page.count('class="export-row"') == 1 and f"export-{mine.pk}" in page


def test_a_searched_rls_value_never_reaches_the_request_log():
    line = '127.0.0.1 - audra "GET /audit/?status=FAILED&q=EMEA-secret-segment&page=2 HTTP/1.1" 200'
    assert "EMEA-secret-segment" not in redact(line)
    assert "status=FAILED" in redact(line) and "page=2" in redact(line)


@pytest.mark.parametrize(
    "q, status",
    [
        ("nul\x00byte", 400),
        ("x" * 5000, 400),
        ("ab", 400),
        ("%%%", 200),
        ("___", 200),
        ("50%_off", 200),
        ("' OR 1=1 --", 200),
    ],
)
def test_hostile_search_input_is_answered_not_a_500(client, alice, audra, q, status):
    dashboard = make_dashboard()
    make_export(alice, dashboard, tags={"region": "EMEA"})
    client.force_login(audra)
    response = client.get(reverse("exports:audit"), {"q": q})
    assert response.status_code == status
    if status == 400:
        assert "Search" in response.content.decode() or "q" in response.content.decode()


def test_search_wildcards_are_literal(client, alice, audra):
    dashboard = make_dashboard()
    discount = make_export(alice, dashboard, status=Export.Status.FAILED)
    Export.objects.filter(pk=discount.pk).update(error_message="Parameter 50%_off refused")
    other = make_export(alice, dashboard, status=Export.Status.FAILED)
    Export.objects.filter(pk=other.pk).update(error_message="Parameter 50 percent off refused")
    client.force_login(audra)
    assert shown(client, reverse("exports:audit"), [discount, other], q="50%_off") == {discount.pk}
    assert shown(client, reverse("exports:audit"), [discount, other], q="%%%") == set()


def test_history_search_finds_exports_by_dashboard_and_requester_in_one_lookup(client, alice, bob, audra):
    # Part of a dashboard's name or id, or of a username, in any case; a wildcard in the text is a
    # literal there too. Dashboards and users are looked up in one query (two cost 0.9 ms a search).
    from django.test.utils import CaptureQueriesContext

    by_alice = make_export(alice, make_dashboard("sales-2026", "Regional Sales"))
    by_bob = make_export(bob, make_dashboard("costs_q3", "Costs"))
    client.force_login(audra)
    audit, both = reverse("exports:audit"), [by_alice, by_bob]
    assert shown(client, audit, both, q="regional SAL") == {by_alice.pk}
    assert shown(client, audit, both, q="COSTS_Q") == {by_bob.pk}
    assert shown(client, audit, both, q="ALIC") == {by_alice.pk}
    assert shown(client, audit, both, q="sts%q3") == shown(client, audit, both, q="sal_s") == set()
    with CaptureQueriesContext(connection) as queries:
        history.search(Export.objects.all(), "sales")
    assert len(queries) == 1, [query["sql"] for query in queries]


def test_a_dashboard_filter_checks_the_dashboards_it_lists_without_another_query(client, alice, audra):
    # The options are read once and the chosen dashboard is checked against them: the stock field
    # ran queryset.get() too, a second read of dashboards on each filtered page.
    from django.test.utils import CaptureQueriesContext

    sales, costs = make_dashboard(), make_dashboard("costs", "Costs")
    exported = make_export(alice, sales)
    for who, page_name in ((alice, "exports:list"), (audra, "exports:audit")):
        client.force_login(who)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse(page_name), {"dashboard": sales.pk}).content.decode()
        assert f'<option value="{sales.pk}" selected>Sales overview</option>' in page
        assert f"-{exported.pk}" in page
        assert len([query for query in queries if 'FROM "exports_dashboard"' in query["sql"]]) == 1
        refused = client.get(reverse(page_name), {"dashboard": "999999"})
        assert refused.status_code == 400
        assert "Choose one of the listed dashboards; “999999” is not one of them." in refused.content.decode()
    # My exports lists only the dashboards alice exported; the history lists them all.
    client.force_login(alice)
    assert client.get(reverse("exports:list"), {"dashboard": costs.pk}).status_code == 400
    client.force_login(audra)
    assert client.get(reverse("exports:audit"), {"dashboard": costs.pk}).status_code == 200


def test_my_exports_dashboard_filter_lists_each_users_own_dashboards_in_turn(client, alice, bob):
    # The listing's SQL is compiled once for everyone (exports.forms._listing_sql): each page still
    # fills in its own user, whoever asked first.
    sales, costs = make_dashboard(), make_dashboard("costs", "Costs")
    make_export(alice, sales), make_export(bob, costs)
    for _ in range(2):
        for who, own, other in ((alice, sales, costs), (bob, costs, sales)):
            client.force_login(who)
            page = client.get(reverse("exports:list")).content.decode()
            assert f'<option value="{own.pk}">{own.name}</option>' in page
            assert f'value="{other.pk}"' not in page
            assert client.get(reverse("exports:list"), {"dashboard": other.pk}).status_code == 400


def test_a_query_compiled_once_refuses_stand_ins_that_are_not_its_last_parameters_alone():
    # history.sql_before: the SQL is run later with other values in the stand-ins' places, so a
    # stand-in anywhere else would be run as it is.
    from exports.models import Dashboard

    sql, fixed = history.sql_before(Dashboard.objects.filter(name="Sales").filter(pk=987651), [987651])
    assert fixed == ["Sales"] and sql.count("%s") == 2
    not_last = Dashboard.objects.filter(pk=987651).filter(name="Sales")
    twice = Dashboard.objects.filter(id__gte=987651).filter(pk=987651)
    for misplaced in (not_last, twice):
        with pytest.raises(AssertionError, match="last parameters alone"):
            history.sql_before(misplaced, [987651])


# --- queries per page: the same at 150 rows as at 300 ---


def _fill(rows: int) -> None:
    User = get_user_model()
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    dashboard = make_dashboard()
    exports = Export.objects.bulk_create(
        [
            build_export(
                alice if i % 2 else bob, dashboard, tags={"region": "EMEA"}, status="FAILED" if i % 3 else "COMPLETED"
            )
            for i in range(rows)
        ]
    )
    ExportFile.objects.bulk_create([ExportFile(export=e, index=0, format="PDF", s3_uri="s3://b/k") for e in exports])
    seq = AuditEvent.objects.aggregate(seq=Max("seq"))["seq"] or 0
    downloads = [
        AuditEvent(
            seq=seq + n, created_at=e.created_at, action="export.file_downloaded", export=e, prev_hash="0", hash="0"
        )
        for n, e in enumerate(exports, start=1)
    ]
    AuditEvent.objects.bulk_create(downloads)


PAGES = [
    ("alice", "/exports/", {}),
    ("alice", "/exports/", {"status": "FAILED"}),
    ("alice", "/exports/", {"format": "PDF"}),
    ("audra", "/audit/", {}),
    ("audra", "/audit/", {"user": "bob", "format": "PDF"}),
    ("audra", "/audit/", {"q": "EMEA"}),
    ("audra", "/audit/events/", {}),
    ("admin", "/admin/exports/export/", {}),
    ("admin", "/admin/exports/export/", {"status__exact": "FAILED"}),
    ("admin", "/admin/exports/auditevent/", {}),
    ("admin", "/admin/exports/auditevent/", {"action": "export.file_downloaded"}),
]


@pytest.mark.parametrize("who, path, params", PAGES)
def test_list_pages_run_the_same_queries_at_any_size(client, demo_users, who, path, params):
    from django.test.utils import CaptureQueriesContext

    client.force_login(demo_users[who])
    counts = []
    for rows in (150, 300):  # a full page of each filter: a shorter one has no COUNT (its rows are the count)
        _fill(rows - Export.objects.count())
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, params).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_each_row_gets_its_own_files_and_downloads_in_order_whatever_the_page_size(alice):
    # Their queries are compiled once for each number of rows (history._compiled_read): the rows' ids
    # must still be the ones bound, for a page of one row as for a page of three, in any order.
    dashboard = make_dashboard()
    exports = [make_export(alice, dashboard) for _ in range(3)]
    seq = AuditEvent.objects.aggregate(seq=Max("seq"))["seq"] or 0
    for n, export in enumerate(exports):
        for index in reversed(range(n + 1)):
            ExportFile.objects.create(export=export, index=index, format="CSV", s3_uri=f"s3://b/{n}-{index}")
            seq += 1
            AuditEvent.objects.create(
                seq=seq, created_at=export.created_at, action="export.file_downloaded", export=export,
                actor_username=f"user{n}-{index}", data={"index": index}, prev_hash="0", hash="0",
            )  # fmt: skip
    n_of = {export.pk: n for n, export in enumerate(exports)}
    for page in (exports[1:2], exports, exports[::-1], exports[:1]):
        rows = [Export.objects.get(pk=export.pk) for export in page]
        history.attach_files(rows)
        history.decorate_history(rows)
        files = [[f"s3://b/{n_of[row.pk]}-{index}" for index in range(n_of[row.pk] + 1)] for row in rows]
        assert [[file.s3_uri for file in row.file_list] for row in rows] == files
        downloads = [[f"user{n_of[row.pk]}-{index}" for index in reversed(range(n_of[row.pk] + 1))] for row in rows]
        assert [[event["actor_username"] for event in row.downloads] for row in rows] == downloads
        assert all(event["export_id"] == row.pk for row in rows for event in row.downloads)
        assert rows[0].downloads[0]["data"] == {"index": n_of[rows[0].pk]}


@pytest.mark.parametrize("who, path", [("alice", "/exports/"), ("audra", "/audit/")])
def test_a_list_page_is_plain_reads_with_nothing_to_write(client, demo_users, who, path):
    """No write when no export ended unseen (exports/notices.py), and the filter form's dashboard
    options in one SELECT: a ModelChoiceField renders through a server-side cursor (DECLARE)."""
    from django.test.utils import CaptureQueriesContext

    _fill(30)
    client.force_login(demo_users[who])
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    statements = [query["sql"].split()[0].upper() for query in queries]
    assert set(statements) == {"SELECT"}, statements


def test_the_admin_action_filter_lists_every_action_without_reading_the_log(client, demo_users):
    from exports import events

    actions = events.actions()
    assert {"export.requested", "export.completed", "export.file_downloaded", "grant.created"} <= set(actions)
    client.force_login(demo_users["admin"])
    page = client.get("/admin/exports/auditevent/").content.decode()
    assert "?action=export.file_downloaded" in page


# --- counts stop a few pages ahead ---


def test_pages_count_only_a_few_pages_ahead_and_say_so(client, alice, monkeypatch):
    monkeypatch.setattr(http_views, "PAGES_COUNTED_AHEAD", 1)
    dashboard = make_dashboard()
    Export.objects.bulk_create([build_export(alice, dashboard) for _ in range(80)])
    client.force_login(alice)
    first = client.get(reverse("exports:list")).content.decode()
    assert "Page 1 of more than 2" in first and "page=2" in first
    third = client.get(reverse("exports:list"), {"page": 3}).content.decode()
    assert "Page 3 of 4</span>" in third


def test_a_page_shorter_than_a_page_is_counted_by_its_rows_not_by_a_count_query(client, alice):
    from django.test.utils import CaptureQueriesContext

    Export.objects.bulk_create([build_export(alice, make_dashboard()) for _ in range(30)])
    client.force_login(alice)
    pages = {}
    for number in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            pages[number] = client.get(reverse("exports:list"), {"page": number}).content.decode()
        pages[number, "counts"] = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert "Page 1 of 2</span>" in pages[1] and len(pages[1, "counts"]) == 1
    assert "Page 2 of 2</span>" in pages[2] and pages[2].count('class="export-row"') == 5
    assert pages[2, "counts"] == []
    # Past the end: the last page, as before.
    assert "Page 2 of 2</span>" in client.get(reverse("exports:list"), {"page": 7}).content.decode()


def test_a_search_reads_the_matching_ids_first_then_the_pages_rows_by_id(client, alice, audra, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    # PostgreSQL guesses a searched word's share of the rows from a sample: a rare word that happens
    # to be in it is taken for one in 1%, and "the newest 25 that match" walked all 100,000 exports
    # (76 ms; BENCHMARKS.md). The matching ids, up to the cap, both count and page; the page's rows
    # are then read by their 25 ids, which no estimate can turn into a walk.
    monkeypatch.setattr(http_views, "PAGES_COUNTED_AHEAD", 1)
    dashboard = make_dashboard()
    emea = Export.objects.bulk_create([build_export(alice, dashboard, tags={"region": "EMEA"}) for _ in range(80)])
    amer = Export.objects.bulk_create([build_export(alice, dashboard, tags={"region": "AMER"}) for _ in range(20)])
    newest_first = list(Export.objects.filter(pk__in=[e.pk for e in emea]).order_by(*history.NEWEST_FIRST))
    client.force_login(audra)
    audit = reverse("exports:audit")
    with CaptureQueriesContext(connection) as queries:
        first = client.get(audit, {"q": "emea"}).content.decode()
    assert "Page 1 of more than 2" in first
    assert [e.pk for e in newest_first[:25]] == [e.pk for e in newest_first if f"history-{e.pk}" in first][:25]
    rows = [q["sql"] for q in queries if '"requester"' in q["sql"]]
    assert len(rows) == 1 and '"exports_export"."id" IN (' in rows[0], rows
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    last = client.get(audit, {"q": "emea", "page": 4}).content.decode()
    assert "Page 4 of 4</span>" in last
    assert shown(client, audit, newest_first, q="emea", page=4) == {e.pk for e in newest_first[75:]}
    assert "Page 4 of 4</span>" in client.get(audit, {"q": "emea", "page": 9}).content.decode()
    assert shown(client, audit, amer + emea, q="amer") == {e.pk for e in amer}
    assert "No exports" in client.get(audit, {"q": "apac"}).content.decode()


def test_the_admin_changelist_says_more_than_when_its_count_stops(client, demo_users, monkeypatch):
    import exports.admin_history

    monkeypatch.setattr(exports.admin_history, "PAGES_COUNTED_AHEAD", 1)
    Export.objects.bulk_create([build_export(demo_users["alice"], make_dashboard()) for _ in range(60)])
    client.force_login(demo_users["admin"])
    page = client.get("/admin/exports/export/").content.decode()
    assert "More than 50 exports" in page


# --- the indexes (PostgreSQL) ---


def _plan(queryset, *, off: tuple[str, ...] = ("seqscan",)) -> str:
    # With these plan types off the planner takes an index only if one matches the query's shape
    # (at a test's size it would otherwise just read the table), so naming the index proves that the
    # query and the index agree; the benchmark's EXPLAIN ANALYZE at 100,000 rows shows the rest.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE exports_export")
        for kind in off:
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        return queryset.explain()


@postgres_only
def test_history_search_uses_the_trigram_index(alice):
    Export.objects.bulk_create([build_export(alice, make_dashboard(), tags={"region": "EMEA"}) for _ in range(30)])
    queryset = history.history_exports(filters={"q": "EMEA"})
    # A GIN index is read by bitmap scans only: with plain index scans off, the trigram index
    # or a scan of the whole table are the planner's only ways to the rows.
    plan = _plan(queryset, off=("seqscan", "indexscan"))
    assert "export_search_trgm_idx" in plan and "Seq Scan on exports_export" not in plan, plan


@postgres_only
def test_a_frequent_words_capped_ids_read_the_search_text_from_the_newest_index_alone(alice):
    # A word in most rows: the matching ids (newest first, capped) stop after a short walk, and the
    # walk reads each row's search text from export_newest_idx (its INCLUDE) instead of the wide rows.
    Export.objects.bulk_create([build_export(alice, make_dashboard(), tags={"region": "EMEA"}) for _ in range(30)])
    counted = history.history_exports(filters={"q": "EMEA"}).values_list("pk", flat=True)[:276]
    plan = _plan(counted, off=("seqscan", "bitmapscan", "indexscan"))
    assert "Index Only Scan using export_newest_idx" in plan and "Sort" not in plan, plan


@postgres_only
@pytest.mark.parametrize("fmt", ["PDF", "EXCEL", "CSV"])
def test_the_format_filter_uses_its_partial_index(alice, fmt):
    Export.objects.bulk_create([build_export(alice, make_dashboard(), formats=[fmt]) for _ in range(30)])
    with transaction.atomic(), connection.cursor() as cursor:
        # Gone for this plan: the index on user and date, which would serve the order and filter the rest.
        cursor.execute("DROP INDEX export_user_newest_idx")
        plan = _plan(
            history.my_exports(user=alice, filters={"format": fmt}),
            off=("seqscan", "bitmapscan", "sort", "incremental_sort"),
        )
        transaction.set_rollback(True)
    # Either of the format's partial indexes (with or without the user first) walks only that format's
    # rows; which one the planner prefers depends on the table's statistics at the time.
    uses_format_index = re.search(rf"export_(user_)?{fmt.lower()}_idx", plan)
    assert uses_format_index and "Seq Scan on exports_export" not in plan, plan


@postgres_only
def test_list_orders_are_served_by_an_index_without_sorting(alice):
    statuses = [Export.Status.FAILED, Export.Status.COMPLETED]
    Export.objects.bulk_create([build_export(alice, make_dashboard(), status=statuses[i % 2]) for i in range(30)])
    ordered = ("export_newest_idx", "export_user_newest_idx", "export_user_status_idx", "export_status_newest_idx")
    for queryset in [
        history.my_exports(user=alice, filters={}),
        history.my_exports(user=alice, filters={"status": "FAILED"}),
        history.history_exports(filters={}),
        history.history_exports(filters={"status": "FAILED"}),
    ]:
        plan = _plan(queryset[:25], off=("seqscan", "bitmapscan", "sort", "incremental_sort"))
        # Which of them the planner walks depends on the rows; that none of the plans sorts does not.
        assert any(index in plan for index in ordered) and "Sort" not in plan.split("SubPlan")[0], plan


@pytest.mark.parametrize("data", [{}, {"status": "FAILED", "format": "PDF", "q": '<b>&"x', "date_from": "2026-01-02"}])
def test_the_filter_forms_quick_widgets_write_djangos_own_markup(alice, data):
    from django import forms as django_forms

    from exports import forms

    make_export(alice, make_dashboard(name='Sales & "Ops" <EU>'))
    for form in (forms.HistoryFilter(data or None), forms.MyExportsFilter(data or None, user=alice)):
        for field in form:
            quick = str(field)
            widget = field.field.widget
            widget.__class__ = next(c for c in type(widget).__mro__ if c.__module__ == django_forms.widgets.__name__)
            assert quick == str(field), field.name


def test_row_addresses_are_the_ones_reverse_gives(alice):
    export = make_export(alice, make_dashboard(dashboard_id="sales/EU & more"))
    assert export.detail_url == reverse("exports:detail", args=[export.pk])
    assert export.row_url == reverse("exports:row", args=[export.pk])
    assert export.cancel_url == reverse("exports:cancel", args=[export.pk])
    assert export.rerun_url == f"{reverse('exports:new')}?dashboard=sales/EU%20%26%20more&rerun={export.pk}"
    whole = ExportFile(export=export, index=3, format="CSV")
    part = ExportFile(export=export, index=12, part=7, parts=9, format="CSV")
    assert whole.download_url == reverse("exports:download", args=[export.pk, 3])
    assert part.download_url == reverse("exports:download_part", args=[export.pk, 12, 7])


@pytest.mark.parametrize(
    "path, table, unshown",
    [
        ("/admin/exports/export/", "exports_export", "request"),
        ("/admin/exports/auditevent/", "exports_auditevent", "data"),
    ],
)
def test_the_admin_changelists_read_only_the_columns_they_show(client, demo_users, path, table, unshown):
    from django.test.utils import CaptureQueriesContext

    _fill(3)
    client.force_login(demo_users["admin"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(path)
    assert page.status_code == 200
    listing = [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert listing and all(f'"{table}"."{unshown}"' not in sql for sql in listing), listing


def test_an_admin_changelists_row_links_keep_its_filters_and_the_unfiltered_ones_none(client, demo_users):
    _fill(3)
    failed = Export.objects.filter(status="FAILED").first()
    client.force_login(demo_users["admin"])
    change = reverse("admin:exports_export_change", args=[failed.pk])
    filtered = client.get("/admin/exports/export/", {"status__exact": "FAILED"}).content.decode()
    assert f'href="{change}?_changelist_filters=status__exact%3DFAILED"' in filtered
    plain = client.get("/admin/exports/export/").content.decode()
    assert f'href="{change}"' in plain
    # Links are made once a page and filled with each row's pk: the same URLs as Django reverses.
    event = AuditEvent.objects.order_by("-seq").first()
    events = client.get("/admin/exports/auditevent/").content.decode()
    assert f'href="{reverse("admin:exports_auditevent_change", args=[event.pk])}"' in events
    # The change page's way back keeps the filters too (Django's own preserved filters).
    back = client.get(change, {"_changelist_filters": "status__exact=FAILED"}).content.decode()
    assert "/admin/exports/export/?status__exact=FAILED" in back


def test_admin_pages_declare_the_portals_empty_icon_so_browsers_ask_for_no_favicon(client, demo_users):
    client.force_login(demo_users["admin"])
    for path in ("/admin/", "/admin/exports/export/", "/admin/exports/auditevent/"):
        page = client.get(path).content.decode()
        assert '<link rel="icon" href="data:,">' in page, path
        assert 'id="site-name"' in page, path  # the admin's own base_site.html still renders its header


def test_the_admins_dashboard_filter_lists_every_dashboard_by_name_without_reading_their_json(client, demo_users):
    from django.test.utils import CaptureQueriesContext
    from django.utils.html import escape

    from exports.models import Dashboard

    _fill(3)
    make_dashboard("costs", "Costs & margins")  # the filter shows from two dashboards on
    client.force_login(demo_users["admin"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/admin/exports/export/").content.decode()
    assert Dashboard.objects.count() >= 2
    for dashboard in Dashboard.objects.all():
        assert f"?dashboard__id__exact={dashboard.pk}" in page and escape(dashboard.name) in page
    reads = [q["sql"] for q in queries if 'FROM "exports_dashboard"' in q["sql"]]
    assert reads and not any('"data_sets"' in sql or '"rls_tag_keys"' in sql for sql in reads), reads


@pytest.mark.parametrize(
    "path",
    [
        "/admin/exports/export/",
        "/admin/exports/export/?status__exact=FAILED",
        "/admin/exports/export/?o=2.-1",
        "/admin/exports/export/?_popup=1&_to_field=id",
        "/admin/exports/auditevent/",
        "/admin/exports/auditevent/?action=export.file_downloaded",
        "/admin/exports/auditevent/?_popup=1",
    ],
)
def test_the_history_changelists_quick_rows_are_djangos_own_markup(client, demo_users, monkeypatch, path):
    from django.contrib import admin

    _fill(4)
    Export.objects.filter(pk=Export.objects.first().pk).update(error_code='<b>"Oops" & co</b>')
    make_export(demo_users["alice"], make_dashboard("odd", 'Sales & "Ops" <EU>'))
    client.force_login(demo_users["admin"])

    def page() -> tuple[str, set[str]]:
        response = client.get(path)
        # The CSRF token is masked anew for each response.
        markup = re.sub(r'csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return markup, {template.name for template in response.templates}

    quick, quick_templates = page()
    for model in (Export, AuditEvent):
        monkeypatch.setattr(admin.site._registry[model], "change_list_template", None)
    djangos, djangos_templates = page()
    assert "admin/change_list_quick_results.html" in quick_templates - djangos_templates
    assert quick.count("<tr>") >= 5 and 'class="field-' in quick
    assert quick == djangos


def test_quick_rows_refuse_list_editable_instead_of_dropping_its_forms():
    from types import SimpleNamespace

    from django.core.exceptions import ImproperlyConfigured

    from exports.admin_rows import quick_result_list

    changelist = SimpleNamespace(formset=object(), model_admin=SimpleNamespace())
    with pytest.raises(ImproperlyConfigured, match="list_editable"):
        quick_result_list(changelist)
