"""The one way to write history: append-only events, each hashed over its content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exports.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    content = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "export_id": str(event.export_id) if event.export_id else None,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "ip_address": event.ip_address,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    action: str,
    *,
    actor=None,
    export=None,
    target=None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction that makes the change it describes."""
    # Round-trip through JSON so that what we hash is exactly what the database returns.
    payload = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    with transaction.atomic():
        head, _ = AuditChainHead.objects.get_or_create(pk=1)
        # The UPDATE takes the write lock (row lock on PostgreSQL, database lock on SQLite)
        # before we read the last hash, so two writers can never chain onto the same event.
        # F("seq"), not the value read above: a writer that waited for the lock must not put back
        # the stale seq it read before the previous writer committed (PostgreSQL, READ COMMITTED).
        AuditChainHead.objects.filter(pk=1).update(seq=F("seq"))
        head.refresh_from_db()
        event = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_username=getattr(actor, "username", "") or "",
            action=action,
            export=export,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            data=payload,
            ip_address=ip_address,
            prev_hash=head.last_hash,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    broken_at_seq: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order; report the first event whose hash or link does not hold."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.seq, f"event #{event.seq} does not link to the one before it")
        if compute_hash(event) != event.hash:
            return ChainReport(False, checked, event.seq, f"event #{event.seq} was altered after it was written")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and head.seq != checked:
        return ChainReport(False, checked, checked + 1, f"events after #{checked} were removed")
    return ChainReport(True, checked)
