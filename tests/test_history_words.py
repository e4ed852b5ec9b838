"""What an auditor reads: actions in words, event data as JSON, which file each download was, and the
same file numbers on screen as in the CSV and JSON Lines history."""

from __future__ import annotations

import csv
import io
import json

from django.http import StreamingHttpResponse
from django.urls import reverse

from exports import events
from exports.models import ExportFile
from tests.history_factory import make_dashboard, make_export

HTTPS = "https://quicksight.example/results/file?X-Amz-Signature=secret"


def _download(export, index: int, user, **data) -> None:
    export_file = ExportFile.objects.get(export=export, index=index)
    events.file_downloaded(export=export, export_file=export_file, actor=user, data=data, ip_address="192.0.2.7")


def _body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_audit_log_shows_actions_in_words_and_data_as_escaped_json(client, alice, audra):
    export = make_export(alice, make_dashboard(), formats=["PDF", "CSV"], uris=[HTTPS, HTTPS])
    _download(export, 1, alice, file=1, part=0, parts=1, format="CSV", file_name="<b>orders</b>.csv")
    client.force_login(audra)

    html = client.get(reverse("exports:audit_events")).content.decode()

    assert "Downloaded a file" in html and "File 2 (CSV): &lt;b&gt;orders&lt;/b&gt;.csv" in html
    assert "<b>orders</b>" not in html
    assert '<pre class="event-data">{\n  &quot;file&quot;: 1,\n  &quot;file_name&quot;:' in html
    assert "&#x27;file&#x27;" not in html  # no Python repr ({'file': 1})


def test_history_and_its_downloads_count_files_from_one_like_the_export_page(client, alice, audra):
    export = make_export(alice, make_dashboard(), formats=["PDF", "CSV"], uris=[HTTPS, HTTPS])
    _download(export, 1, alice, file=1, part=1, parts=2, format="CSV", file_name="sales-2.csv")
    client.force_login(audra)

    page = client.get(reverse("exports:audit")).content.decode()
    detail = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    [record] = [json.loads(line) for line in _body(client.get(reverse("exports:audit_jsonl"))).splitlines()]
    [row] = list(csv.DictReader(io.StringIO(_body(client.get(reverse("exports:audit_csv"))))))

    assert "File 2 (CSV), part 2: sales-2.csv" in page
    assert '<tr id="file-1"><td>2</td>' in detail.replace("\n", "").replace("  ", "")
    assert "Downloaded a file · alice · File 2 (CSV), part 2: sales-2.csv" in detail
    entry = record["download_log"][0]
    assert (entry["file"], entry["part"], entry["format"], entry["file_name"]) == (2, 2, "CSV", "sales-2.csv")
    assert json.loads(row["download_log"])[0]["file"] == 2


def test_old_download_events_without_a_name_still_say_which_file(client, alice, audra):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[HTTPS])
    _download(export, 0, alice, file=0)
    _download(export, 0, alice, file="garbled", part=None)
    client.force_login(audra)

    page = client.get(reverse("exports:audit")).content.decode()
    [record] = [json.loads(line) for line in _body(client.get(reverse("exports:audit_jsonl"))).splitlines()]

    assert "File 1</div>" in page and "A file</div>" in page
    assert [(e["file"], e["file_name"]) for e in record["download_log"]] == [(1, ""), (None, "")]


def test_the_requester_reads_the_timeline_in_words_without_the_data(client, alice):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[HTTPS])
    _download(export, 0, alice, file=0, part=0, parts=1, format="PDF", file_name="sales.pdf")
    client.force_login(alice)

    html = client.get(reverse("exports:detail", args=[export.pk])).content.decode()

    assert "Downloaded a file · alice · File 1 (PDF): sales.pdf" in html
    assert "export.file_downloaded" not in html and "event-data" not in html.split("<h2>Timeline</h2>")[1]


def test_the_admins_audit_log_says_what_happened_in_words(client, alice, demo_users):
    export = make_export(alice, make_dashboard(), formats=["PDF"], uris=[HTTPS])
    _download(export, 0, alice, file=0, format="PDF")
    client.force_login(demo_users["admin"])

    html = client.get(reverse("admin:exports_auditevent_changelist")).content.decode()

    assert '<td class="field-what">Downloaded a file</td>' in html


def test_digests_are_shortened_as_the_truncatechars_filter_shortens_them():
    from hashlib import sha256

    from django.template.defaultfilters import truncatechars

    from exports.rows import digest_start

    for digest in ("", "abc", "a" * 12, "a" * 13, "a" * 14, sha256(b"x").hexdigest()):
        assert digest_start(digest) == truncatechars(digest, 13)
