"""The audit log is append-only and tamper-evident: changes are detected, located, and refused.

The attacker here has the database (its credentials, plain SQL, the table owner's rights) and this
code, but not AUDIT_CHAIN_KEY and not the checkpoint sink.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from exports import audit
from exports.models import AuditChainHead, AuditEvent
from tests.services import skip_or_fail

TRIGGER = "exports_auditevent_append_only"
A_GUESSED_KEY = b"the attacker's best guess at the chain key"


@pytest.fixture
def three_events(alice):
    return [audit.record(f"test.step_{n}", actor=alice, data={"n": n}) for n in (1, 2, 3)]


def as_attacker(*statements: tuple[str, list]) -> None:
    """Change the tables behind the application's back, as someone with database access could:
    on PostgreSQL as the table's owner, who may switch its triggers off (the test rolls back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE exports_auditevent DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE exports_auditevent ENABLE TRIGGER USER")


def tamper(sql: str, params: list) -> None:
    as_attacker((sql, params))


def rehash_from(seq: int, *, guessed_key: bytes | None) -> None:
    """Recompute every hash from `seq` on, re-link the chain and move the head, with plain SQL:
    unsigned (plain SHA-256, as before the chain had a key) or HMAC under a guessed key."""
    events = list(AuditEvent.objects.order_by("seq"))
    prev = events[seq - 2].hash if seq > 1 else audit.GENESIS_HASH
    statements = []
    for event in events[seq - 1 :]:
        event.prev_hash = prev
        if guessed_key is None:
            event.key_id = ""
            event.hash = hashlib.sha256(audit._canonical(event)).hexdigest()
        else:
            event.hash = hmac.new(guessed_key, b"event\n" + audit._canonical(event), hashlib.sha256).hexdigest()
        update = "UPDATE exports_auditevent SET prev_hash = %s, hash = %s, key_id = %s WHERE seq = %s"
        statements.append((update, [event.prev_hash, event.hash, event.key_id, event.seq]))
        prev = event.hash
    statements.append(("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [events[-1].seq, prev]))
    as_attacker(*statements)


def verify_fails(match: str) -> str:
    """manage.py verify_audit_log exits 1 and says this; returns its message."""
    with pytest.raises(CommandError, match=match) as excinfo:
        call_command("verify_audit_log")
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL")


def test_intact_chain_passes(three_events, capsys):
    report = audit.verify_chain()
    assert report.intact and report.checked == 3
    call_command("verify_audit_log")
    assert "Audit chain intact: 3 events checked. No checkpoint written yet." in capsys.readouterr().out


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


def test_an_event_appended_while_the_walk_runs_is_not_a_removed_tail(three_events, alice):
    """Beat checkpoints a live log: a writer may commit an event while the walk reads the last one."""
    from django.db.models.signals import post_init

    appended = []

    def append_while_reading_the_last_event(sender, instance, **kwargs):
        if instance.seq == 3 and not appended:
            appended.append(audit.record("test.meanwhile", actor=alice))

    post_init.connect(append_while_reading_the_last_event, sender=AuditEvent)
    try:
        report = audit.verify_chain()
    finally:
        post_init.disconnect(append_while_reading_the_last_event, sender=AuditEvent)
    assert appended and report.intact, report.summary
    assert audit.verify_chain().checked == 4


def test_postgresql_refuses_update_and_delete_of_audit_events(three_events):
    needs_postgresql()
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


# --- an attacker with the database but not the key ---


@pytest.mark.parametrize("guessed_key", [None, A_GUESSED_KEY], ids=["unsigned", "guessed-key"])
def test_event_rewritten_with_every_hash_recomputed_is_named(three_events, guessed_key, client, audra):
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 2])
    rehash_from(2, guessed_key=guessed_key)

    reason = "is not signed, yet events before it are" if guessed_key is None else "was altered after it was written"
    message = verify_fails(rf"BROKEN at event #2: event #2 {reason}")
    assert "(1 event before it verified)" in message
    client.force_login(audra)
    line = client.get(reverse("exports:audit_chain"), headers={"HX-Request": "true"}).content.decode()
    assert f"Audit chain BROKEN at event #2: event #2 {reason}" in line


def test_rewritten_history_from_before_the_key_is_caught_by_the_checkpoint(db, settings):
    """An upgraded install: three events from before the key, accepted as such, then sealed."""
    settings.AUDIT_CHAIN_UNSIGNED_UNTIL = 3
    write_unsigned_events(3)
    call_command("audit_checkpoint")
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 1])
    rehash_from(1, guessed_key=None)

    verify_fails(r"BROKEN at event #3: the history was rewritten: event #3 is not the one the checkpoint of .* vouches")


def test_deleted_tail_with_the_head_moved_back_is_named(three_events, audit_checkpoint_dir, client, audra):
    call_command("audit_checkpoint")
    tamper("DELETE FROM exports_auditevent WHERE seq >= %s", [2])
    as_attacker(("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [1, three_events[0].hash]))

    verify_fails(
        r"BROKEN at event #2: the tail is missing: events #2 to #3 were removed \(the checkpoint of .* vouches "
        r"for 3 events\) \(1 event before it verified\)"
    )
    client.force_login(audra)
    line = client.get(reverse("exports:audit_chain"), headers={"HX-Request": "true"}).content.decode()
    assert "Audit chain BROKEN at event #2: the tail is missing: events #2 to #3 were removed" in line


def test_postgresql_refuses_truncate_of_audit_events(three_events):
    needs_postgresql()
    refused = pytest.raises(DatabaseError, match="append-only: TRUNCATE refused")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE exports_auditevent")
    assert AuditEvent.objects.count() == 3
    assert audit.verify_chain().intact


def test_truncate_and_reinsert_of_a_shorter_history_is_named(three_events):
    """The owner switches the triggers off, empties the log and puts back the first two events as
    they were (hashes and all), then moves the head: only the checkpoint still knows event #3."""
    needs_postgresql()
    call_command("audit_checkpoint")
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM exports_auditevent WHERE seq <= 2 ORDER BY seq")
        kept = cursor.fetchall()
    insert = f"INSERT INTO exports_auditevent ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    as_attacker(
        ("TRUNCATE exports_auditevent", []),
        *[(insert, [json.dumps(v) if isinstance(v, dict) else v for v in row]) for row in kept],
        ("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [2, three_events[1].hash]),
    )
    assert AuditEvent.objects.count() == 2

    verify_fails(r"BROKEN at event #3: the tail is missing: event #3 was removed")


def test_truncate_and_reinsert_of_a_forged_history_is_named(three_events, alice):
    """Emptied and refilled with a consistent, unsigned history of the same length."""
    needs_postgresql()
    call_command("audit_checkpoint")
    as_attacker(("TRUNCATE exports_auditevent", []))
    prev, statements = audit.GENESIS_HASH, []
    for n in (1, 2, 3):
        event = AuditEvent(
            seq=n,
            created_at=timezone.now(),
            actor_username="alice",
            action=f"test.step_{n}",
            data={"n": -n},
            prev_hash=prev,
        )
        event.hash = hashlib.sha256(audit._canonical(event)).hexdigest()
        statements.append(
            (
                "INSERT INTO exports_auditevent (seq, created_at, actor_username, action, object_type, object_id, "
                "data, prev_hash, hash, key_id) VALUES (%s, %s, %s, %s, '', '', %s, %s, %s, '')",
                [n, event.created_at, "alice", event.action, json.dumps(event.data), prev, event.hash],
            )
        )
        prev = event.hash
    as_attacker(*statements, ("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [3, prev]))

    verify_fails(r"BROKEN at event #1: event #1 is not signed, and events from before the chain key are accepted")


# --- keys and checkpoints ---


def write_unsigned_events(count: int) -> str:
    """Events as the chain wrote them before it had a key: no key id, plain SHA-256."""
    prev = audit.GENESIS_HASH
    for n in range(1, count + 1):
        event = AuditEvent(seq=n, created_at=timezone.now(), action=f"old.step_{n}", data={"n": n}, prev_hash=prev)
        event.hash = prev = audit.compute_hash(event)
        event.save(force_insert=True)
    AuditChainHead.objects.create(pk=1, seq=count, last_hash=prev)
    return prev


def test_unsigned_events_verify_only_up_to_the_operators_mark_and_stay_bound_by_the_first_signed_one(alice, settings):
    last_unsigned = write_unsigned_events(2)
    signed = audit.record("test.after_the_key", actor=alice)
    assert signed.key_id == audit.current_key_id() and signed.prev_hash == last_unsigned
    verify_fails(
        r"BROKEN at event #1: event #1 is not signed, and events from before the chain key are accepted only up "
        r"to AUDIT_CHAIN_UNSIGNED_UNTIL \(now 0; the unsigned events run to #2\)"
    )
    settings.AUDIT_CHAIN_UNSIGNED_UNTIL = 2
    assert audit.verify_chain().intact

    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 1])
    relinked = audit.GENESIS_HASH
    for event in list(AuditEvent.objects.filter(seq__lte=2).order_by("seq")):
        event.prev_hash = relinked
        event.hash = relinked = hashlib.sha256(audit._canonical(event)).hexdigest()
        update = "UPDATE exports_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s"
        tamper(update, [event.prev_hash, relinked, event.seq])
    verify_fails(r"BROKEN at event #3: event #3 does not link to the one before it")


def test_a_rotated_key_still_verifies_old_events_when_listed_as_previous(alice, settings):
    old_key = settings.AUDIT_CHAIN_KEY
    first = audit.record("test.before_rotation", actor=alice)
    settings.AUDIT_CHAIN_KEY = "a-brand-new-audit-chain-key-of-enough-length"
    settings.AUDIT_CHAIN_PREVIOUS_KEYS = [old_key]
    second = audit.record("test.after_rotation", actor=alice)
    assert first.key_id != second.key_id
    assert audit.verify_chain().intact

    settings.AUDIT_CHAIN_PREVIOUS_KEYS = []
    verify_fails(
        rf"BROKEN at event #1: event #1 names a key that is not configured \(key id {first.key_id}\); "
        r"after a key rotation the old key belongs in AUDIT_CHAIN_PREVIOUS_KEYS"
    )


def test_checkpoint_is_signed_read_only_and_outside_the_database(three_events, audit_checkpoint_dir, capsys):
    call_command("audit_checkpoint")
    written = list(audit_checkpoint_dir.glob("checkpoint-*.json"))
    assert len(written) == 1
    assert f"Checkpoint of event #3 written to {written[0]}" in capsys.readouterr().out
    assert not os.stat(written[0]).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    body = json.loads(written[0].read_text())
    assert (body["seq"], body["hash"], body["key_id"]) == (3, three_events[2].hash, audit.current_key_id())
    assert set(body) == {"seq", "hash", "at", "key_id", "signature"}

    call_command("audit_checkpoint")
    assert "already written" in capsys.readouterr().out
    assert len(list(audit_checkpoint_dir.glob("checkpoint-*.json"))) == 1
    call_command("verify_audit_log")
    assert f"Latest checkpoint: event #3 at {body['at']}." in capsys.readouterr().out


def test_a_checkpoint_not_signed_with_the_key_is_refused(three_events, audit_checkpoint_dir):
    call_command("audit_checkpoint")
    forged = {
        "seq": 2,
        "hash": three_events[1].hash,
        "at": timezone.now().isoformat(),
        "key_id": audit.current_key_id(),
    }
    content = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()
    forged["signature"] = hmac.new(A_GUESSED_KEY, b"checkpoint\n" + content, hashlib.sha256).hexdigest()
    name = audit_checkpoint_dir / "checkpoint-999999999990-seq-9.json"
    name.write_text(json.dumps(forged))

    verify_fails(rf"Audit chain BROKEN: the latest checkpoint {name} is not signed by any configured key")


def test_a_broken_chain_is_never_sealed(three_events, audit_checkpoint_dir):
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 2])
    with pytest.raises(CommandError, match=r"No checkpoint written. Audit chain BROKEN at event #2") as excinfo:
        call_command("audit_checkpoint")
    assert excinfo.value.returncode == 1
    assert not list(audit_checkpoint_dir.glob("checkpoint-*.json"))


def test_new_checkpoints_look_only_past_the_last_one_yet_damage_before_it_stays_named(
    three_events, alice, audit_checkpoint_dir
):
    call_command("audit_checkpoint")
    audit.record("test.step_4", actor=alice)
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 1])

    call_command("audit_checkpoint")  # checks #3 (the last seal) to #4 only, and seals #4
    assert len(list(audit_checkpoint_dir.glob("checkpoint-*-seq-4.json"))) == 1
    verify_fails(r"BROKEN at event #1: event #1 was altered after it was written")
    tamper("UPDATE exports_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', 4])
    audit.record("test.step_5", actor=alice)
    with pytest.raises(CommandError, match=r"No checkpoint written. Audit chain BROKEN at event #4"):
        call_command("audit_checkpoint")


def test_beat_seals_the_chain_on_its_schedule(three_events, audit_checkpoint_dir, settings):
    from exports import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry == {"task": "exports.tasks.audit_checkpoint", "schedule": settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS}
    assert tasks.audit_checkpoint.name == entry["task"]
    tasks.audit_checkpoint.apply()
    assert [p.name for p in audit_checkpoint_dir.glob("checkpoint-*.json")] == ["checkpoint-999999999996-seq-3.json"]


def test_s3_checkpoints_are_locked_for_the_retention_period(three_events, s3_server, settings):
    s3_server.create_bucket(Bucket="audit-seal", ObjectLockEnabledForBucket=True)
    settings.AUDIT_CHECKPOINT_SINK = "s3://audit-seal/portal/checkpoints"
    settings.AUDIT_CHECKPOINT_RETENTION_DAYS = 30
    call_command("audit_checkpoint")

    key = "portal/checkpoints/checkpoint-999999999996-seq-3.json"
    # HEAD, not GetObjectRetention: moto's server answers that one 500.
    head = s3_server.head_object(Bucket="audit-seal", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    left = head["ObjectLockRetainUntilDate"] - timezone.now()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    version = head["VersionId"]
    with pytest.raises(s3_server.exceptions.ClientError, match="AccessDenied"):
        s3_server.delete_object(Bucket="audit-seal", Key=key, VersionId=version)

    audit.record("test.step_4")
    call_command("audit_checkpoint")
    assert audit.verify_chain().checkpoint.seq == 4
    tamper("DELETE FROM exports_auditevent WHERE seq = %s", [4])
    as_attacker(("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [3, three_events[2].hash]))
    verify_fails(r"BROKEN at event #4: the tail is missing: event #4 was removed")


def test_s3_bucket_without_object_lock_still_takes_checkpoints_and_says_so(three_events, s3_server, settings, caplog):
    s3_server.create_bucket(Bucket="audit-plain")
    settings.AUDIT_CHECKPOINT_SINK = "s3://audit-plain"
    call_command("audit_checkpoint")
    assert "audit checkpoint bucket audit-plain has no object lock" in caplog.text
    listing = s3_server.list_objects_v2(Bucket="audit-plain")["Contents"]
    assert [o["Key"] for o in listing] == ["checkpoint-999999999996-seq-3.json"]
    assert audit.verify_chain().checkpoint.location == "s3://audit-plain/checkpoint-999999999996-seq-3.json"


@pytest.mark.django_db(transaction=True)
def test_the_operator_sees_exit_code_1_and_the_missing_tail_from_the_command_line(demo_users, audit_checkpoint_dir):
    """The real command in its own process, against what the attacker left committed."""
    import subprocess
    import sys

    from tests.services import ROOT, worker_env

    alice = demo_users["alice"]
    events = [audit.record(f"test.step_{n}", actor=alice) for n in (1, 2, 3)]
    env = worker_env(AUDIT_CHECKPOINT_SINK=f"file://{audit_checkpoint_dir}")

    def manage(command: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "manage.py", command]
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert manage("audit_checkpoint").returncode == 0
    tamper("DELETE FROM exports_auditevent WHERE seq = %s", [3])
    as_attacker(("UPDATE exports_auditchainhead SET seq = %s, last_hash = %s", [2, events[1].hash]))

    result = manage("verify_audit_log")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Audit chain BROKEN at event #3: the tail is missing: event #3 was removed" in result.stderr
