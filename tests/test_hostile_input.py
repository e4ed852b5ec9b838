"""No 500 and no truncated file on any input: hostile values are 4xx (or exit 2) naming the field, and create nothing.

Run these on PostgreSQL (DATABASE_URL): it refuses NUL in text where SQLite stores it.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from urllib.parse import quote_from_bytes

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        "dashboard: Choose one of the listed dashboards; “999999” is not one of them.",
        "status: Choose one of the listed statuses; “DONE” is not one.",
        "date_from: Give a date as YYYY-MM-DD (a real day of the calendar).",
    ]
    assert counts() == before


def test_a_history_search_too_short_or_too_long_is_a_400_naming_the_field_once(client, demo_users):
    client.force_login(demo_users["audra"])
    cases = (("%", "at least 3 characters (this has 1)"), ("é" * 1000, "at most 200 characters (this has 1000)"))
    for q, words in cases:
        response = client.get(AUDIT_CSV, {"q": q})
        assert response.status_code == 400
        assert body(response).splitlines() == [f"q: Give {words}."]


def test_history_filters_at_the_edges_of_the_calendar_still_work(client, demo_users):
    export = make_export(demo_users["alice"], make_dashboard())
    client.force_login(demo_users["audra"])
    response = client.get(AUDIT_JSONL, {"date_from": "0001-01-02", "date_to": "9999-12-30"})
    assert response.status_code == 200
    assert [json.loads(line)["export_id"] for line in body(response).splitlines()] == [str(export.pk)]


def test_my_exports_with_a_refused_filter_is_a_400_showing_the_field(client, alice):
    make_export(alice, make_dashboard())
    client.force_login(alice)
    response = client.get(reverse("exports:list"), {"status": "DONE", "format": "DOCX"})
    assert response.status_code == 400
    page = body(response)
    # Next to its field, the rule in words (it was Django's "Select a valid choice").
    assert 'id="id_status_error"' in page and "Choose one of the listed statuses; “DONE” is not one." in page
    assert 'id="id_format_error"' in page and "Choose PDF, Excel or CSV; “DOCX” is not one of them." in page
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
        ),
        ("admin", "get", "/admin/exports/export/", {"q": "\x00"}, "query parameter 'q'"),
        ("admin", "post", "/admin/exports/rlstagmapping/add/", {"tag_value": "E\x00"}, "form field 'tag_value'"),
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


# --- Hypothesis: every filter, every form endpoint and the command line, with hostile values ---

NOT_UTF8 = st.binary(min_size=1, max_size=6).filter(lambda raw: not _is_utf8(raw))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Text no field may hold, as the bytes a client sends: NUL, lone surrogates (as CESU-8 bytes), bytes
# that are not UTF-8, and values from just over the 4096-character cap up to a megabyte.
UNSTORABLE = st.one_of(
    st.tuples(st.text(max_size=5), st.text(max_size=5)).map(lambda t: f"{t[0]}\x00{t[1]}".encode()),
    st.integers(0xD800, 0xDFFF).map(lambda c: f"x{chr(c)}y".encode("utf-8", "surrogatepass")),
    NOT_UTF8,
    st.sampled_from([4097, 70_000, 1_000_000]).map(lambda n: b"x" * n),
)
HUGE_NUMBERS = st.one_of(
    st.integers(min_value=2**63),
    st.integers(max_value=-(2**63) - 1),
    st.sampled_from(["1e999", "-1e999", "nan", "inf", "-Infinity", "9" * 4000]),
).map(str)
EXTREME_DATES = st.sampled_from(
    ["9999-12-31", "0001-01-01", "10000-01-01", "0000-01-01", "-0001-01-01", "2026-02-30", "2026-13-01", "99999"]
)
EXTREME_DATETIMES = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999-00:01"]),
    # The first minute of year 1 east of UTC, the last one west of it: outside the calendar in UTC.
    st.integers(1, 1439).map(lambda m: f"0001-01-01T00:00:00+{m // 60:02}:{m % 60:02}"),
    st.integers(1, 1439).map(lambda m: f"9999-12-31T23:59:59-{m // 60:02}:{m % 60:02}"),
    EXTREME_DATES,
)
EXTRA_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-[]", min_size=1, max_size=12).filter(
    lambda name: name not in ("dashboard", "destination", "action", "page")
)
TYPABLE = st.characters(codec="utf-8", exclude_characters="\x00")
HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def query(pairs: list[tuple[str, bytes | str]]) -> str:
    return "&".join(
        f"{quote_from_bytes(name.encode())}={quote_from_bytes(v if isinstance(v, bytes) else v.encode())}"
        for name, v in pairs
    )


# Each filter endpoint, who may use it, and what its fields refuse beyond unstorable text.
FILTERS = {
    AUDIT: ("audra", "html"),
    AUDIT_CSV: ("audra", "text"),
    AUDIT_JSONL: ("audra", "text"),
    reverse("exports:list"): ("alice", "html"),
}
FILTER_FIELDS = {
    AUDIT: ["user", "dashboard", "status", "format", "date_from", "date_to", "q"],
    reverse("exports:list"): ["status", "dashboard", "format"],
}
FIELD_VALUES = {
    "dashboard": st.one_of(HUGE_NUMBERS, st.integers(max_value=0).map(str), st.just("sales")),
    "status": st.text(TYPABLE, min_size=1, max_size=20).filter(lambda s: s not in Export.Status.values),
    "format": st.sampled_from(["pdf", "XLSX", "csv ", "PDF,CSV", "0"]),
    "date_from": EXTREME_DATES,
    "date_to": EXTREME_DATES,
}


# Pages whose query parameters are not a filter form: who asks, and the parameters they read.
OTHER_QUERIES = {
    reverse("exports:dashboards"): ("alice", ["q"]),
    reverse("exports:audit_events"): ("audra", ["page"]),
    NEW: ("alice", ["dashboard", "rerun"]),
    "/admin/exports/export/": ("admin", ["q", "status__exact", "p"]),
}


@HYPOTHESIS
@given(data=st.data())
def test_every_filter_refuses_hostile_values_with_a_400_naming_the_field(client, demo_users, counts, data):
    make_export(demo_users["alice"], make_dashboard())
    url = data.draw(st.sampled_from([*FILTERS, *OTHER_QUERIES]))
    user, kind = FILTERS[url] if url in FILTERS else (OTHER_QUERIES[url][0], "text")
    fields = FILTER_FIELDS.get(url, FILTER_FIELDS[AUDIT]) if url in FILTERS else OTHER_QUERIES[url][1]
    field = data.draw(st.sampled_from([*fields, "extra"]))
    name = data.draw(EXTRA_NAMES) if field == "extra" else field
    typed = FIELD_VALUES.get(field) if url in FILTERS else None
    value = data.draw(UNSTORABLE if typed is None else st.one_of(UNSTORABLE, typed))
    client.force_login(demo_users[user])
    before = counts()

    response = client.get(f"{url}?{query([(name, value)])}")

    assert response.status_code == 400, (url, name, value[:80])
    text = body(response)
    if isinstance(value, bytes):
        assert f"the query parameter {name!r}" in text or "a query parameter name" in text
    elif kind == "html":
        assert f'id="id_{field}_error"' in text
    else:
        assert text.startswith(f"{field}: ")
    assert counts() == before


FORM_ENDPOINTS = [
    NEW,
    reverse("exports:new_files"),
    reverse("exports:new_file", args=[0]),
    reverse("exports:new_parameter", args=[0]),
    reverse("exports:new_destination"),
]
# A request that would be created as it stands: every hostile value below must stop it.
VALID_FORM = {
    "dashboard": "sales",
    "files-0-format": "PDF",
    "files-0-sheet": "summary",
    "files-1-format": "CSV",
    "files-1-visual": "order-lines",
    "param-Country": "France",
    "param-MinQuantity": "2",
    "destination": "Finance bucket",
    "action": "submit",
}
TYPED_HOSTILE = {
    "param-MinQuantity": st.one_of(HUGE_NUMBERS, st.sampled_from(["-", "1.5", "0x10", "1e3"])),
    "param-MinPrice": st.sampled_from(["1e999", "-1e999", "nan", "inf", "-Infinity", "1" * 400, "1,5"]),
    "param-From": EXTREME_DATETIMES.filter(lambda text: text not in ("9999-12-31", "0001-01-01")),
    "files-0-sheet": st.text(TYPABLE, min_size=1, max_size=4096).filter(lambda s: s not in ("summary", "detail")),
    "files-1-visual": st.sampled_from(["revenue-chart", "gone-table", "x" * 4096, "order-lines order-lines"]),
    "destination": st.sampled_from(["Dublin bucket", "finance bucket", "x" * 4096]),
    "dashboard": st.sampled_from(["sales ", "SALES", "x" * 4096, "-1", str(2**64)]),
}


@HYPOTHESIS
@given(data=st.data())
def test_every_form_endpoint_refuses_unstorable_text_in_any_field_with_a_400(client, alice, sales, counts, data):
    url = data.draw(st.sampled_from(FORM_ENDPOINTS))
    name = data.draw(st.one_of(st.sampled_from([*VALID_FORM, "param-From", "files-0-visuals"]), EXTRA_NAMES))
    value = data.draw(UNSTORABLE)
    client.force_login(alice)
    before = counts()

    pairs = [(key, text) for key, text in VALID_FORM.items() if key != name] + [(name, value)]
    response = client.post(url, query(pairs), content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert f"the form field {name!r}" in body(response)
    assert counts() == before


@HYPOTHESIS
@given(data=st.data())
def test_a_submit_with_a_hostile_typed_value_is_refused_and_creates_nothing(client, alice, sales, counts, data):
    field = data.draw(st.sampled_from(sorted(TYPED_HOSTILE)))
    value = data.draw(TYPED_HOSTILE[field])
    url = data.draw(st.sampled_from(FORM_ENDPOINTS))
    client.force_login(alice)
    before = counts()

    response = client.post(url, {**VALID_FORM, field: value, data.draw(EXTRA_NAMES): "1"})

    # The submit is refused; the preview endpoints show the rule beside the field; an unknown dashboard is a 404.
    expected = 404 if field == "dashboard" else (422 if url == NEW else 200)
    assert response.status_code == expected, (url, field, value[:80])
    if expected == 422:
        assert re.search(r'class="errorlist"[^>]*><li>', body(response))  # the rule's words, beside the field
    elif expected == 200:
        assert 'id="submit-reason"' in body(response)  # the preview says it cannot be sent
    assert counts() == before


@HYPOTHESIS
@given(
    index=st.one_of(st.integers(min_value=7), st.just(2**64)),
    which=st.sampled_from(["files", "parameters", "download"]),
)
def test_huge_indexes_in_the_address_are_404(client, alice, sales, counts, index, which):
    client.force_login(alice)
    export = Export.objects.first() or make_export(alice, make_dashboard(), uris=["s3://bucket/a.pdf"])
    before = counts()
    if which == "download":
        response = client.get(f"/exports/{export.pk}/files/{index}/download")
    else:
        response = client.post(f"/exports/new/{which}/{index}/", VALID_FORM)
    assert response.status_code == 404
    assert counts() == before


def _set(spec: dict, path: tuple, value) -> dict:
    spec = json.loads(json.dumps(spec))
    target = spec
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return spec


SPEC_PATHS = [
    ("dashboard",),
    ("files", 0, "sheet"),
    ("files", 1, "visual"),
    ("parameters", "Country", 0),
    ("destination",),
]
HOSTILE_TEXT = st.one_of(
    st.tuples(st.text(max_size=5), st.text(max_size=5)).map(lambda t: f"{t[0]}\x00{t[1]}"),
    st.integers(0xD800, 0xDFFF).map(lambda c: f"x{chr(c)}"),
    st.sampled_from([4097, 1_000_000]).map(lambda n: "x" * n),
)
CLI_SPEC = {
    "dashboard": "sales",
    "files": [{"format": "PDF", "sheet": "summary"}, {"format": "CSV", "visual": "order-lines"}],
    "parameters": {"Country": ["France"], "MinQuantity": ["2"]},
    "destination": "Finance bucket",
}


@st.composite
def hostile_specs(draw) -> str:
    """A spec that would be accepted, with one hostile change, as the text of the file."""
    kind = draw(st.sampled_from(["text", "key", "number", "datetime", "deep", "extra"]))
    if kind == "text":
        spec = _set(CLI_SPEC, draw(st.sampled_from(SPEC_PATHS)), draw(HOSTILE_TEXT))
    elif kind == "key":
        spec = _set(CLI_SPEC, ("parameters", draw(HOSTILE_TEXT)), ["1"])
    elif kind == "number":
        if draw(st.booleans()):
            whole = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1), HUGE_NUMBERS)
            spec = _set(CLI_SPEC, ("parameters", "MinQuantity"), [draw(whole)])
        else:
            infinite = st.one_of(st.integers(min_value=10**309), st.sampled_from(["1e999", "nan", "-Infinity"]))
            spec = _set(CLI_SPEC, ("parameters", "MinPrice"), [draw(infinite)])
    elif kind == "datetime":
        spec = _set(CLI_SPEC, ("parameters", "From"), [draw(EXTREME_DATETIMES.filter(lambda t: "T" in t))])
    elif kind == "extra":
        name = draw(EXTRA_NAMES)
        spec = _set(CLI_SPEC, draw(st.sampled_from([(name,), ("files", 0, name), ("files", 1, name)])), 1)
    else:
        depth = draw(st.sampled_from([17, 100, 5_000, 200_000]))
        where = draw(st.sampled_from(['"files": ', '"parameters": {"Country": ', '"extra": ']))
        closing = "}" if "Country" in where else ""
        return '{"dashboard": "sales", ' + where + "[" * depth + "]" * depth + closing + "}"
    return json.dumps(spec, ensure_ascii=draw(st.booleans()))


@HYPOTHESIS
@given(spec=hostile_specs(), submit=st.booleans())
def test_the_command_line_answers_any_hostile_spec_with_exit_2_and_creates_nothing(
    tmp_path, sales, counts, spec, submit
):
    before = counts()
    try:
        encoded = spec.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written raw: the file holds bytes that are not UTF-8
        encoded = spec.encode("utf-8", "surrogatepass")
    code, out = cli(tmp_path, encoded, *(["--submit"] if submit else []))
    assert code == 2, out[:300]
    lines = out.splitlines()
    assert lines and all(line.endswith("]") for line in lines), out[:300]
    assert counts() == before


@HYPOTHESIS
@given(user=st.one_of(HOSTILE_TEXT, st.sampled_from(["nobody", "alice ", "ALICE"])))
def test_the_command_line_answers_a_hostile_user_with_exit_2(tmp_path, sales, counts, user):
    before = counts()
    code, message = cli(tmp_path, CLI_SPEC, "--submit", user=user)
    assert code == 2
    assert message.startswith("--user: ")
    assert counts() == before
