"""In Chromium: the file names and sizes alice reads on the export page are what her browser saves,
for QuickSight's own links, for S3 links the portal signs, and for Download all."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.template.defaultfilters import filesizeformat
from playwright.sync_api import expect

from exports.events import FILE_DOWNLOADED
from exports.models import AuditEvent
from tests import jobs_support
from tests.test_file_names import STAMP, lifecycle, moto_s3, run_export, s3_export  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_saves_each_file_under_the_name_and_size_the_page_shows(lifecycle, alice, login, live_server):  # noqa: F811
    export = run_export(lifecycle, jobs_support.make_export(alice, formats=("PDF", "CSV")))
    files = list(export.files.order_by("index"))

    page = login("alice")
    page.goto(f"{live_server.url}/exports/{export.pk}/")
    for f in files:
        row = page.locator(f"#file-{f.index}")
        expect(row.locator(".file-name")).to_have_text(f.name)
        expect(row).to_contain_text(filesizeformat(f.size_bytes))
    with page.expect_download() as single:
        page.locator("#file-1 a.download").click()
    with page.expect_download() as everything:
        page.locator("#download-all").click()

    assert single.value.suggested_filename == files[1].name
    assert re.fullmatch(rf"Sales overview - {STAMP}\.zip", everything.value.suggested_filename)
    with zipfile.ZipFile(everything.value.path()) as archive:
        assert archive.namelist() == [f.name for f in files]
    audited = AuditEvent.objects.filter(action=FILE_DOWNLOADED).order_by("seq")
    assert [e.data["file_name"] for e in audited] == [files[1].name, files[0].name, files[1].name]


def test_a_unicode_title_survives_the_signed_s3_link(alice, login, live_server, moto_s3):  # noqa: F811
    export = s3_export(alice, moto_s3, formats=["CSV"], bodies=[b"a\n1\n"], dashboard_name='Umsätze "Q4" / 売上')

    page = login("alice")
    page.goto(f"{live_server.url}/exports/{export.pk}/")
    with page.expect_download() as download:
        page.locator("#file-0 a.download").click()

    saved = download.value.suggested_filename
    assert re.fullmatch(rf"Umsätze 'Q4' - 売上 - Orders table - {STAMP}\.csv", saved), saved
    assert AuditEvent.objects.get(action=FILE_DOWNLOADED).data["file_name"] == saved
    expect(page.locator("#file-0 .file-name")).to_have_text(saved)
