"""An auditor in a real browser: the audit log and the history read in words, which file each download
was, and event data as JSON that wraps inside its cell instead of running off the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from exports import events
from exports.models import Export, ExportFile
from tests.history_factory import make_dashboard, make_export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HTTPS = "https://quicksight.example/results/file?X-Amz-Signature=secret"
LONG_NAME = "sales-overview_" + "order-lines-by-country-and-channel_" * 4 + "20261203-1541.csv"


def test_auditor_reads_downloads_in_words_and_the_data_wraps(demo_users, login, live_server):
    alice = demo_users["alice"]
    export = make_export(alice, make_dashboard(), formats=["PDF", "CSV"], uris=[HTTPS, HTTPS])
    Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED)
    export_file = ExportFile.objects.get(export=export, index=1)
    data = {"file": 1, "part": 0, "parts": 1, "format": "CSV", "file_name": LONG_NAME, "source": "quicksight"}
    events.file_downloaded(export=export, export_file=export_file, actor=alice, data=data, ip_address="192.0.2.7")

    page = login("audra")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/audit/events/")

    row = page.locator("table.events tbody tr").first
    expect(row).to_contain_text("Downloaded a file")
    expect(row).to_contain_text(f"File 2 (CSV): {LONG_NAME}")
    data_cell = row.locator("pre.event-data")
    expect(data_cell).to_contain_text('"file_name": "sales-overview_')
    # Wrapped inside its cell: nothing of it hidden sideways, and the page does not scroll sideways.
    assert data_cell.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    page.goto(f"{live_server.url}/audit/")
    expect(page.locator(f"#history-{export.pk} td.downloads")).to_contain_text("File 2 (CSV)")


def test_each_history_filter_label_stays_above_its_own_input_at_1280_px(demo_users, login, live_server):
    page = login("audra")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/audit/?q=%25")  # one character: the search's error shows beside its field

    labels = page.locator("form.filters label")
    assert labels.count() == 7
    for label in labels.all():
        field = page.locator(f"#{label.get_attribute('for')}")
        box, field_box = label.bounding_box(), field.bounding_box()
        # Directly above its input, never the end of one line with its input starting the next.
        assert abs(box["x"] - field_box["x"]) < 2, label.inner_text()
        assert 0 <= field_box["y"] - (box["y"] + box["height"]) < 8, label.inner_text()
    expect(page.locator("form.filters .errorlist")).to_have_text("Give at least 3 characters (this has 1).")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
