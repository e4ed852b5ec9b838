"""No 500 and no truncated file on any input: hostile values are 4xx (or exit 2) naming the field, and create nothing.

Run these on PostgreSQL (DATABASE_URL): it refuses NUL in text where SQLite stores it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from exports.models import AuditEvent, Export
from tests.factories import make_sales_catalog
from tests.history_factory import make_dashboard, make_export
from tests.services import ROOT, worker_env

NEW = reverse("exports:new")
AUDIT, AUDIT_CSV, AUDIT_JSONL = reverse("exports:audit"), reverse("exports:audit_csv"), reverse("exports:audit_jsonl")
SPEC = {
    "dashboard": "sales",
    "files": [{"format": "PDF", "sheet": "summary"}],
    "parameters": {"MinQuantity": ["2"]},
}
# Parameters of the sales catalog as the form numbers them (live ones, by name).
FROM_INDEX = 1


@pytest.fixture
def sales(demo_users):
    return make_sales_catalog()


@pytest.fixture
def counts(db):
    """What a refused request must leave as it was: exports and audit events."""

    def snapshot() -> tuple[int, int]:
        return Export.objects.count(), AuditEvent.objects.count()

    return snapshot


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def cli(tmp_path, spec, *args, user: str = "alice") -> tuple[int, str]:
    """build_snapshot_request in this process: (exit code, stdout); a traceback fails the test."""
    path = tmp_path / "spec.json"
    if isinstance(spec, bytes):
        path.write_bytes(spec)
    else:
        path.write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    out = io.StringIO()
    try:
        call_command("build_snapshot_request", str(path), "--user", user, *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


# --- the auditor's history and its downloads ---


@pytest.mark.parametrize("url", [AUDIT, AUDIT_CSV, AUDIT_JSONL])
def test_history_up_to_the_last_day_of_the_calendar_is_a_400_naming_date_to(client, demo_users, counts, url):
    make_export(demo_users["alice"], make_dashboard())
    client.force_login(demo_users["audra"])
    before = counts()

    response = client.get(url, {"date_to": "9999-12-31"})

    assert response.status_code == 400
    if url == AUDIT:
        assert 'id="id_date_to_error"' in body(response)
        assert "Give a date from 0001-01-02 to 9999-12-30." in body(response)
    else:
        assert body(response) == "date_to: Give a date from 0001-01-02 to 9999-12-30.\n"
    assert counts() == before  # in particular no history.exported event


def test_history_download_with_a_refused_filter_is_not_the_whole_history(client, demo_users, counts):
    """Today's main ignored an invalid filter: the 'filtered' download was every export, audited as filtered."""
    make_export(demo_users["alice"], make_dashboard())
    client.force_login(demo_users["audra"])
    before = counts()

    response = client.get(AUDIT_CSV, {"dashboard": "999999", "status": "DONE", "date_from": "2026-02-30"})

    assert response.status_code == 400
    assert body(response).splitlines() == [
        "dashboard: Select a valid choice. That choice is not one of the available choices.",
        "status: Select a valid choice. DONE is not one of the available choices.",
        "date_from: Enter a valid date.",
    ]
    assert counts() == before


def test_history_filters_at_the_edges_of_the_calendar_still_work(client, demo_users):
    export = make_export(demo_users["alice"], make_dashboard())
    client.force_login(demo_users["audra"])
    response = client.get(AUDIT_JSONL, {"date_from": "0001-01-02", "date_to": "9999-12-30"})
    assert response.status_code == 200
    assert [json.loads(line)["export_id"] for line in body(response).splitlines()] == [str(export.pk)]


def test_my_exports_with_a_refused_filter_is_a_400_showing_the_field(client, alice):
    make_export(alice, make_dashboard())
    client.force_login(alice)
    response = client.get(reverse("exports:list"), {"status": "DONE"})
    assert response.status_code == 400
    page = body(response)
    assert 'id="id_status_error"' in page
    assert 'class="export-row"' not in page


# --- NUL bytes and broken UTF-8, wherever they come in ---


@pytest.mark.parametrize(
    ("user", "method", "url", "data", "field"),
    [
        ("alice", "get", "/dashboards/", {"q": "a\x00b"}, "query parameter 'q'"),
        ("alice", "get", "/dashboards/sa%00les/", None, "address 'path'"),
        ("audra", "get", AUDIT, {"q": "a\x00b"}, "query parameter 'q'"),
        ("audra", "get", AUDIT_CSV, {"user": "\x00"}, "query parameter 'user'"),
        ("alice", "get", NEW, {"dashboard": "sales\x00"}, "query parameter 'dashboard'"),
        ("alice", "post", NEW, {"dashboard": "sales\x00"}, "form field 'dashboard'"),
        (
            "alice",
            "post",
            NEW,
            {"dashboard": "sales", "destination": "\x00", "action": "submit"},
            "form field 'destination'",
        ),  # noqa: E501
        (
            "alice",
            "post",
            reverse("exports:new_parameter", args=[0]),
            {"dashboard": "sales", "param-Country": "F\x00"},
            "form field 'param-Country'",
        ),  # noqa: E501
    ],
)
def test_a_nul_byte_is_a_400_naming_the_field(client, demo_users, sales, counts, user, method, url, data, field):
    client.force_login(demo_users[user])
    before = counts()
    response = getattr(client, method)(url, data)
    assert response.status_code == 400
    assert body(response) == f"Bad request: the {field} contains a NUL character (\\x00) [text-nul].\n"
    assert counts() == before


def test_a_nul_byte_in_the_session_cookie_is_a_400(client, alice):
    client.cookies["sessionid"] = "abcdefgh\x00"
    response = client.get("/dashboards/")
    assert response.status_code == 400
    assert "the cookie 'sessionid' contains a NUL character" in body(response)


def test_bytes_that_are_not_utf8_are_a_400_naming_the_field(client, alice, audra, sales, counts):
    client.force_login(audra)
    before = counts()
    # %ED%A0%80 is a UTF-16 surrogate written as UTF-8: not valid UTF-8, a lone surrogate once decoded.
    response = client.get("/audit/?q=%ED%A0%80")
    assert response.status_code == 400
    assert "the query parameter 'q' is not valid Unicode" in body(response)

    client.force_login(alice)
    response = client.post(
        NEW, b"dashboard=sales&param-Country=%FF&action=submit", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "the form field 'param-Country' is not valid Unicode" in body(response)
    assert counts() == before


def test_a_megabyte_in_a_field_is_a_400(client, alice, sales, counts):
    client.force_login(alice)
    before = counts()
    response = client.post(NEW, {"dashboard": "sales", "param-Country": "x" * 1_000_000, "action": "submit"})
    assert response.status_code == 400
    assert (
        body(response) == "Bad request: the form field 'param-Country' is longer than 4096 characters [text-length].\n"
    )
    assert counts() == before


# --- date-time parameters beyond UTC's calendar ---


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
def test_a_datetime_parameter_beyond_the_calendar_in_utc_is_a_field_error(client, alice, sales, counts, value):
    client.force_login(alice)
    before = counts()
    data = {"dashboard": "sales", "files-0-format": "PDF", "files-0-sheet": "summary", "param-From": value}

    response = client.post(reverse("exports:new_parameter", args=[FROM_INDEX]), data)
    assert response.status_code == 200
    assert f"{value!r} is out of range once converted to UTC (years 1 to 9999)" in body(response).replace("&#x27;", "'")

    response = client.post(NEW, {**data, "action": "submit"})
    assert response.status_code == 422
    assert "out of range once converted to UTC" in body(response)
    assert counts() == before


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
def test_cli_datetime_parameter_beyond_the_calendar_is_a_field_error_exit_2(tmp_path, sales, value):
    code, out = cli(tmp_path, {**SPEC, "parameters": {"From": [value]}})
    assert (code, out) == (
        2,
        f"parameters.From: {value!r} is out of range once converted to UTC (years 1 to 9999); "
        "From takes date and time values [parameter-value-type]\n",
    )


def test_a_whole_number_of_four_thousand_digits_is_too_large_in_a_few_words(tmp_path, sales):
    code, out = cli(tmp_path, {**SPEC, "parameters": {"MinQuantity": ["9" * 4000]}})
    assert code == 2
    assert out == (
        "parameters.MinQuantity: '99999999999999999999'…(4000 characters) is too large; "
        "MinQuantity takes integer values [parameter-value-type]\n"
    )


# --- the command line: NUL, lone surrogates, deep JSON ---


@pytest.mark.parametrize(
    ("spec", "line"),
    [
        ({**SPEC, "dashboard": "sa\x00les"}, "dashboard: the text contains a NUL character (\\x00) [text-nul]"),
        (
            {**SPEC, "parameters": {"Country": ["Fr\x00ance"]}},
            "parameters.Country[0]: the text contains a NUL character (\\x00) [text-nul]",
        ),
        (
            {**SPEC, "destination": "Finance\ud800"},
            "destination: the text is not valid Unicode (an unpaired surrogate, or bytes that are not UTF-8) "
            "[text-unicode]",
        ),
        (
            {**SPEC, "files": [{"format": "PDF", "sheet": "summary", "x\x00": 1}]},
            "files[0]: a key contains a NUL character (\\x00) [text-nul]",
        ),
    ],
)
@pytest.mark.parametrize("submit", [False, True])
def test_cli_nul_and_lone_surrogates_are_spec_errors_exit_2(tmp_path, sales, counts, spec, line, submit):
    before = counts()
    code, out = cli(tmp_path, spec, *(["--submit"] if submit else []))
    assert (code, out) == (2, f"{line}\n")
    assert counts() == before


@pytest.mark.parametrize(
    "text",
    [
        '{"dashboard": "sales", "files": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"dashboard": "sales", "parameters": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
        '{"dashboard": "sales", "parameters": {"Country": ' + "[" * 17 + "]" * 17 + "}}",
    ],
)
def test_cli_deeply_nested_json_is_refused_by_its_depth(tmp_path, sales, text):
    assert cli(tmp_path, text) == (2, "spec: nested deeper than 16 levels of lists and objects [spec-depth]\n")


def test_cli_a_file_that_is_not_utf8_is_a_spec_error(tmp_path, sales):
    code, out = cli(tmp_path, b'{"dashboard": "sa\xffles"}')
    assert (code, out) == (2, "spec: not UTF-8 text (invalid start byte at byte 17) [spec-json]\n")


def test_cli_a_hostile_user_name_exits_2(tmp_path, sales):
    assert cli(tmp_path, SPEC, user="ali\udcffce") == (
        2,
        "--user: the username is not valid Unicode (an unpaired surrogate, or bytes that are not UTF-8) [text-unicode]",
    )


@pytest.mark.django_db(transaction=True)
def test_real_process_refuses_a_lone_surrogate_and_deep_json_without_a_traceback(demo_users):
    make_sales_catalog()
    command = [sys.executable, "manage.py", "build_snapshot_request", "--user", "alice", "--submit", "-"]
    for spec in ('{"dashboard": "\\ud800"}', "[" * 50_000):
        done = subprocess.run(
            command, input=spec, capture_output=True, text=True, cwd=ROOT, env=worker_env(), timeout=60
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout.strip().endswith(("[text-unicode]", "[spec-depth]"))
    assert Export.objects.count() == 0
