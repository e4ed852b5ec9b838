"""The audit log is append-only and tamper-evident: changes are detected, located, and refused."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from exports import audit
from exports.models import AuditEvent
from tests.services import skip_or_fail

TRIGGER = "exports_auditevent_append_only"


@pytest.fixture
def three_events(alice):
    return [audit.record(f"test.step_{n}", actor=alice, data={"n": n}) for n in (1, 2, 3)]


def tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only the table owner can do this; the test transaction rolls it back.
            cursor.execute(f"ALTER TABLE exports_auditevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE exports_auditevent ENABLE TRIGGER {TRIGGER}")


def test_intact_chain_passes(three_events, capsys):
    report = audit.verify_chain()
    assert report.intact and report.checked == 3
    call_command("verify_audit_log")
    assert "Audit chain intact: 3 event(s) checked." in capsys.readouterr().out


def test_modified_event_is_detected_and_located(three_events, client, audra):
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 2])

    report = audit.verify_chain()
    assert not report.intact
    assert report.broken_at_seq == 2
    assert report.reason == "event #2 was altered after it was written"
    with pytest.raises(CommandError, match=r"BROKEN at event #2: event #2 was altered") as excinfo:
        call_command("verify_audit_log")
    assert excinfo.value.returncode == 1

    client.force_login(audra)
    line = client.get(reverse("exports:audit_chain"), headers={"HX-Request": "true"}).content.decode()
    assert "Audit chain BROKEN at event #2" in line


def test_removed_event_is_detected_and_located(three_events):
    tamper("DELETE FROM exports_auditevent WHERE seq = %s", [2])
    report = audit.verify_chain()
    assert (report.intact, report.broken_at_seq, report.reason) == (False, 2, "event #2 is missing")


def test_removed_last_event_is_detected(three_events):
    tamper("DELETE FROM exports_auditevent WHERE seq = %s", [3])
    report = audit.verify_chain()
    assert (report.intact, report.broken_at_seq) == (False, 3)
    assert report.reason == "events after #2 were removed"


def test_postgresql_refuses_update_and_delete_of_audit_events(three_events):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL")
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).update(action="test.rewritten")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(seq=3).delete()
    refused = pytest.raises(DatabaseError, match="append-only: UPDATE refused")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE exports_auditevent SET hash = %s", ["0" * 64])
    assert audit.verify_chain().intact
    assert AuditEvent.objects.count() == 3


def test_admin_can_look_but_not_add_change_or_delete_events(client, demo_users, three_events):
    client.force_login(demo_users["admin"])
    event = three_events[1]
    listing = client.get(reverse("admin:exports_auditevent_changelist"))
    assert listing.status_code == 200 and "test.step_2" in listing.content.decode()
    assert client.get(reverse("admin:exports_auditevent_add")).status_code == 403
    page = client.get(reverse("admin:exports_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(reverse("admin:exports_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    assert client.post(reverse("admin:exports_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert audit.verify_chain().intact


def test_admin_sees_exports_read_only_without_result_links(client, demo_users, alice):
    from exports.models import Export
    from tests.history_factory import make_dashboard, make_export

    export = make_export(alice, make_dashboard(), uris=["https://quicksight.example/r/file.pdf?X-Amz-Signature=s"])
    client.force_login(demo_users["admin"])
    assert client.get(reverse("admin:exports_export_changelist")).status_code == 200
    page = client.get(reverse("admin:exports_export_change", args=[export.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "quicksight.example" not in html
    assert client.get(reverse("admin:exports_export_add")).status_code == 403
    assert client.post(reverse("admin:exports_export_delete", args=[export.pk]), {"post": "yes"}).status_code == 403
    assert Export.objects.filter(pk=export.pk).exists()
