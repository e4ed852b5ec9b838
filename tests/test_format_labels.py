"""Formats are spelled as people write them, "PDF", "CSV", "Excel", on every page, form, admin and API
document a person reads; never TextChoices' default "Pdf" and "Csv"."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.urls import reverse

from exports.models import Export, ExportFile
from tests.factories import make_sales_catalog
from tests.history_factory import make_export

MISSPELLED = re.compile(r"\b(Pdf|Csv)\b")
SPEC = {
    "dashboard": "sales",
    "files": [
        {"format": "PDF", "sheet": "summary"},
        {"format": "EXCEL", "visuals": ["order-lines"]},
        {"format": "CSV", "visual": "returns"},
    ],
}
HTTPS = "https://quicksight.example/results/file?X-Amz-Signature=secret"


def misspelled(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.content.decode()
    # Values sent back by forms and the API's enum are codes, not words: only what is read counts.
    text = re.sub(r'(value|name|id|for)="[^"]*"', "", text)
    return [f"{url}: {m[0]}" for m in MISSPELLED.finditer(text)]


def test_no_page_a_person_reads_spells_a_format_pdf_or_csv(client, demo_users):
    sales = make_sales_catalog().dashboard
    alice, audra, admin = demo_users["alice"], demo_users["audra"], demo_users["admin"]
    export = make_export(alice, sales, formats=["PDF", "EXCEL", "CSV"], uris=[HTTPS, HTTPS, HTTPS])
    Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED)
    pages = {
        alice: [
            reverse("exports:dashboards"),
            reverse("exports:new") + "?dashboard=sales",
            reverse("exports:list"),
            reverse("exports:list") + "?format=CSV",
            reverse("exports:detail", args=[export.pk]),
            reverse("exports:schedule_new") + "?" + urlencode({"spec": json.dumps(SPEC)}),
        ],
        audra: [reverse("exports:audit"), reverse("exports:audit") + "?format=EXCEL", reverse("exports:audit_events")],
        admin: [
            reverse("admin:exports_export_change", args=[export.pk]),
            reverse("admin:exports_export_changelist"),
        ],
    }
    found = []
    for user, urls in pages.items():
        client.force_login(user)
        found += [problem for url in urls for problem in misspelled(client, url)]

    assert found == []  # My exports' and the history's format filters offered "Pdf" and "Csv"
    assert dict(ExportFile.Format.choices) == {"PDF": "PDF", "EXCEL": "Excel", "CSV": "CSV"}
