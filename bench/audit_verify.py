"""How long verify_audit_log takes over a long chain (HMAC per event, plus the latest checkpoint).

    .venv/bin/python -m bench.audit_verify [--events 100000] [--runs 3]

Builds the chain in a throwaway SQLite file (or DATABASE_URL if set: use a scratch database) with
the file checkpoint sink in a temporary directory, writes one checkpoint, and prints the median
time of a full verification and of an incremental checkpoint after one more event.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from bench import Row, runs_note, setup_scratch_django


def _build(count: int) -> None:
    from django.utils import timezone

    from exports import audit
    from exports.models import AuditChainHead, AuditEvent

    prev, batch, now, kid = audit.GENESIS_HASH, [], timezone.now(), audit.current_key_id()
    for seq in range(1, count + 1):
        event = AuditEvent(
            seq=seq,
            created_at=now,
            actor_username="bench",
            action="bench.event",
            data={"n": seq},
            prev_hash=prev,
            key_id=kid,
        )
        event.hash = prev = audit.compute_hash(event)
        batch.append(event)
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"seq": count, "last_hash": prev})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    return parser


def run(quick: bool = False) -> list[Row]:
    return _measure(_parser().parse_args(["--events", "10000", "--runs", "1"] if quick else []))


def main() -> None:
    _measure(_parser().parse_args())


def _measure(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        setup_scratch_django(tmp)
        from django.conf import settings

        from exports import audit

        settings.AUDIT_CHECKPOINT_SINK = f"file://{tmp}/checkpoints"
        _build(args.events)
        assert audit.checkpoint_write().written
        verify, seal = [], []
        for _ in range(args.runs):
            began = time.perf_counter()
            report = audit.verify_chain()
            verify.append(time.perf_counter() - began)
            assert report.intact, report.summary
            audit.record("bench.one_more")
            began = time.perf_counter()
            assert audit.checkpoint_write().written
            seal.append(time.perf_counter() - began)
        print(
            f"{args.events:,} events: verify_audit_log median {statistics.median(verify):.2f} s, "
            f"checkpoint (verify + write) median {statistics.median(seal):.2f} s"
        )
    return [
        Row(f"verify_audit_log, {args.events:,} events", statistics.median(verify), "s", note=runs_note(args.runs)),
        Row(
            "checkpoint after one more event",
            statistics.median(seal),
            "s",
            statistics.median(verify),
            "full verification",
            runs_note(args.runs),
        ),
    ]


if __name__ == "__main__":
    main()
