"""The one way to write history: append-only events, each signed over its content and the previous hash.

The signature is an HMAC keyed with AUDIT_CHAIN_KEY, which lives in the environment, not in the
database: whoever can write the database cannot recompute the chain after changing it, nor pass
off unsigned events (those from before the key verify only up to AUDIT_CHAIN_UNSIGNED_UNTIL). What a
database writer can still do without the key (drop the tail, or empty the log and put back a shorter
one) is caught by checkpoints: the head's sequence number and hash, signed, written on a schedule
to a sink outside the database (exports/checkpoints.py), and checked by verify_chain.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exports import checkpoints
from exports.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


class UnknownKeyError(Exception):
    pass


def key_id(key: str) -> str:
    """A short public name for a key (never the key itself): which key signed an event."""
    return hmac.new(key.encode(), b"exports.audit key id", hashlib.sha256).hexdigest()[:16]


def current_key_id() -> str:
    return next(iter(_keys()))


def _keys() -> dict[str, bytes]:
    return _keys_by_id(settings.AUDIT_CHAIN_KEY, tuple(settings.AUDIT_CHAIN_PREVIOUS_KEYS))


@functools.cache
def _keys_by_id(current: str, previous: tuple[str, ...]) -> dict[str, bytes]:
    # Cached: verify_chain signs every event again, and key ids cost an HMAC each.
    return {key_id(key): key.encode() for key in (current, *previous)}


def _sign(kid: str, domain: bytes, content: bytes) -> str:
    key = _keys().get(kid)
    if key is None:
        raise UnknownKeyError(kid)
    # The domain keeps an event's signature from ever passing for a checkpoint's, and back.
    return hmac.new(key, domain + content, hashlib.sha256).hexdigest()


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
    if event.key_id:
        content["key_id"] = event.key_id
    return json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def compute_hash(event: AuditEvent) -> str:
    """HMAC-SHA256 under the key the event names; events from before the key, plain SHA-256."""
    if not event.key_id:
        return hashlib.sha256(_canonical(event)).hexdigest()
    return _sign(event.key_id, b"event\n", _canonical(event))


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
            key_id=current_key_id(),
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, signed with the chain key: kept outside the database."""

    seq: int
    hash: str
    at: str
    key_id: str
    signature: str = ""
    location: str = ""

    def _content(self) -> bytes:
        content = {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()

    def signed(self) -> Checkpoint:
        signature = _sign(self.key_id, b"checkpoint\n", self._content())
        return Checkpoint(self.seq, self.hash, self.at, self.key_id, signature)

    def signature_holds(self) -> bool:
        try:
            return hmac.compare_digest(_sign(self.key_id, b"checkpoint\n", self._content()), self.signature)
        except UnknownKeyError:
            return False

    def to_json(self) -> bytes:
        fields = {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}
        return json.dumps({**fields, "signature": self.signature}, indent=1).encode()

    @classmethod
    def from_stored(cls, stored: checkpoints.Stored) -> Checkpoint:
        try:
            data = json.loads(stored.body)
            fields = (int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["key_id"]), str(data["signature"]))
        except (ValueError, TypeError, KeyError):
            return cls(0, "", "", "", "", stored.location)
        return cls(*fields, location=stored.location)


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    broken_at_seq: int | None = None
    reason: str = ""
    checkpoint: Checkpoint | None = None

    @property
    def summary(self) -> str:
        """The one line the command prints and the auditors' page shows."""
        if self.intact:
            sealed = (
                f" Latest checkpoint: event #{self.checkpoint.seq} at {self.checkpoint.at}."
                if self.checkpoint
                else " No checkpoint written yet."
            )
            return f"Audit chain intact: {self.checked} event{'' if self.checked == 1 else 's'} checked.{sealed}"
        where = f" at event #{self.broken_at_seq}" if self.broken_at_seq is not None else ""
        before = f"{self.checked} event{'' if self.checked == 1 else 's'} before it verified"
        return f"Audit chain BROKEN{where}: {self.reason} ({before})."


def verify_chain(batch_size: int = 2000, *, since_checkpoint: bool = False) -> ChainReport:
    """Walk the chain in order against the keys and the latest checkpoint; report the first event
    whose signature or link does not hold, a tail missing, or a history rewritten.

    since_checkpoint: start at the latest checkpoint's event instead of the first one (what a new
    checkpoint needs: the old one already vouches for everything before it)."""
    try:
        stored = checkpoints.latest()
    except checkpoints.CheckpointSinkError as exc:
        return ChainReport(False, 0, None, f"{exc}; the chain cannot be vouched for")
    checkpoint = Checkpoint.from_stored(stored) if stored else None
    if checkpoint and not checkpoint.signature_holds():
        return ChainReport(
            False, 0, None, f"the latest checkpoint {checkpoint.location} is not signed by any configured key"
        )
    report = _walk(batch_size, checkpoint, since_checkpoint=since_checkpoint)
    if report.intact and checkpoint and report.checked < checkpoint.seq:
        return ChainReport(
            False,
            report.checked,
            report.checked + 1,
            f"the tail is missing: {_events(report.checked + 1, checkpoint.seq)} removed "
            f"(the checkpoint of {checkpoint.at} vouches for {checkpoint.seq} events)",
        )
    return ChainReport(report.intact, report.checked, report.broken_at_seq, report.reason, checkpoint)


def _events(first: int, last: int) -> str:
    return f"event #{first} was" if first == last else f"events #{first} to #{last} were"


def _unsigned_reason(seq: int) -> str:
    # What an operator upgrading from the unkeyed chain needs to decide on AUDIT_CHAIN_UNSIGNED_UNTIL.
    signed = AuditEvent.objects.exclude(key_id="").filter(seq__gt=seq).order_by("seq").values_list("seq", flat=True)
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or seq
    run_to = (signed.first() or last + 1) - 1
    return (
        f"event #{seq} is not signed, and events from before the chain key are accepted only up to "
        f"AUDIT_CHAIN_UNSIGNED_UNTIL (now {settings.AUDIT_CHAIN_UNSIGNED_UNTIL}; the unsigned events run to #{run_to})"
    )


def _walk(batch_size: int, checkpoint: Checkpoint | None, *, since_checkpoint: bool) -> ChainReport:
    events = AuditEvent.objects.order_by("seq")
    expected_prev: str | None = GENESIS_HASH
    expected_seq, checked, signed_seen = 1, 0, False
    # The head as it was before the walk: events appended while it runs are not a removed tail.
    head_seq = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    if since_checkpoint and checkpoint:
        events = events.filter(seq__gte=checkpoint.seq)
        # The checkpointed event's own link was checked when that checkpoint was written.
        expected_prev, expected_seq, checked = None, checkpoint.seq, checkpoint.seq - 1
    for event in events.iterator(chunk_size=batch_size):
        seq = event.seq
        if seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event #{expected_seq} is missing")
        if expected_prev is not None and event.prev_hash != expected_prev:
            return ChainReport(False, checked, seq, f"event #{seq} does not link to the one before it")
        if not event.key_id and (signed_seen or seq > settings.AUDIT_CHAIN_UNSIGNED_UNTIL):
            if signed_seen:
                return ChainReport(False, checked, seq, f"event #{seq} is not signed, yet events before it are")
            return ChainReport(False, checked, seq, _unsigned_reason(seq))
        try:
            altered = not hmac.compare_digest(compute_hash(event), event.hash)
        except UnknownKeyError:
            return ChainReport(
                False,
                checked,
                seq,
                f"event #{seq} names a key that is not configured (key id {event.key_id}); "
                "after a key rotation the old key belongs in AUDIT_CHAIN_PREVIOUS_KEYS",
            )
        if altered:
            return ChainReport(False, checked, seq, f"event #{seq} was altered after it was written")
        if checkpoint and seq == checkpoint.seq and event.hash != checkpoint.hash:
            return ChainReport(
                False,
                checked,
                seq,
                f"the history was rewritten: event #{seq} is not the one the checkpoint of {checkpoint.at} "
                f"vouches for ({checkpoint.location})",
            )
        signed_seen = signed_seen or bool(event.key_id)
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if head_seq is not None and checked < head_seq:
        return ChainReport(False, checked, checked + 1, f"events after #{checked} were removed")
    return ChainReport(True, checked)


@dataclass(frozen=True)
class CheckpointResult:
    report: ChainReport
    checkpoint: Checkpoint | None = None
    written: bool = False


def checkpoint_write() -> CheckpointResult:
    """Verify the chain since the latest checkpoint, then seal its head outside the database. A
    broken chain is never sealed (that would vouch for the damage); an unchanged head is not sealed
    twice. Damage before the latest checkpoint stays visible to verify_chain(), which walks it all."""
    report = verify_chain(since_checkpoint=True)
    if not report.intact:
        return CheckpointResult(report)
    if report.checked == 0:
        return CheckpointResult(report)
    if report.checkpoint and report.checkpoint.seq == report.checked:
        return CheckpointResult(report, report.checkpoint, written=False)
    # The last event the walk verified, not whatever was appended since: only checked work is sealed.
    head_hash = AuditEvent.objects.values_list("hash", flat=True).get(seq=report.checked)
    checkpoint = Checkpoint(report.checked, head_hash, timezone.now().isoformat(), current_key_id()).signed()
    location = checkpoints.write(checkpoint.seq, checkpoint.to_json())
    return CheckpointResult(report, dataclasses.replace(checkpoint, location=location), written=True)
