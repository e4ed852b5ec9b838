"""QuickSight's call quota, shared by every process: a token bucket per AWS account.

With REDIS_URL the bucket lives in Redis (one Lua script, Redis's own clock), so every worker,
web process and beat on every host draws from the same bucket. Without it (the embedded default,
one host) the bucket is a small file updated under an exclusive file lock.

The limiter never waits: when no token is left it raises QuotaWait (a retryable error) saying
how long to wait, and the caller's Celery task comes back after that countdown.

Fairness: the export lifecycle draws on the account's bucket alone; a call made for a person (a
download, a sync; `with interactive(who)`) must also find a token in the interactive share and in
that person's own bucket, so people clicking can neither starve the lifecycle nor each other.
The same buckets hold each person's limits (export submissions per hour, download clicks per minute).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import math
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from exports import events
from exports.aws import RetryableAwsError

# The bucket holds a single token and refills at calls_per_second / SPACING_MARGIN: calls are
# spread evenly, so even with up to 100 ms of network jitter between our clock and QuickSight's,
# no one-second window there sees more calls than the quota.
BURST = 1
SPACING_MARGIN = 1.1
KEY_PREFIX = "portal:qs-bucket:"

_ACCOUNT_IN_PATH = re.compile(r"/accounts/(\d{12})(?:/|$|\?)")

# KEYS: the buckets a call draws on; ARGV: capacity and refill rate per second of each, in turn.
# A token is taken from every bucket or from none. Returns "0" when taken, otherwise the seconds
# until each bucket has one (as a string: Lua numbers become integers).
TOKEN_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local ts = tonumber(state[2]) or now
  tokens[i] = math.min(capacity, (tonumber(state[1]) or capacity) + math.max(0, now - ts) * rate)
  if tokens[i] < 1 then
    wait = math.max(wait, (1 - tokens[i]) / rate)
  end
end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  if wait == 0 then
    tokens[i] = tokens[i] - 1
  end
  -- string.format, not tostring: tostring keeps 14 digits, which rounds the clock to 0.1 ms, and
  -- over thousands of refused calls per grant that rounding let the bucket refill ~10% too fast.
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens[i]), 'ts', string.format('%.6f', now))
  redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 1000)
end
return string.format('%.17g', wait)
"""


@dataclass(frozen=True)
class Bucket:
    key: str
    capacity: float
    rate: float  # tokens per second


class QuotaWait(RetryableAwsError):
    """Our own limiter said not yet; no call left the process."""

    def __init__(self, account: str, retry_after: float):
        super().__init__("PortalRateLimit", f"QuickSight call quota reached; retry in {retry_after:.2f}s")
        self.account, self.retry_after = account, retry_after


def refill_rate() -> float:
    return settings.QUICKSIGHT_MAX_CALLS_PER_SECOND / SPACING_MARGIN


@functools.cache
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(TOKEN_BUCKET_LUA)


def _take_redis(buckets: list[Bucket]) -> float:
    args = [number for bucket in buckets for number in (bucket.capacity, bucket.rate)]
    keys = [KEY_PREFIX + bucket.key for bucket in buckets]
    return float(_redis_script(settings.REDIS_URL)(keys=keys, args=args))


def _take_file(buckets: list[Bucket]) -> float:
    folder = Path(settings.VAR_DIR) / "quota"
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        # Locked in one order by every process, so that two callers can never deadlock.
        handles = {}
        for key in sorted({bucket.key for bucket in buckets}):
            handle = stack.enter_context(open(folder / f"{key}.bucket", "a+"))
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            handles[key] = handle
        now, wait, tokens = time.time(), 0.0, []
        for bucket in buckets:
            handle = handles[bucket.key]
            handle.seek(0)
            try:
                state = json.loads(handle.read() or "{}")
            except ValueError:
                state = {}
            level = state.get("tokens", bucket.capacity) + max(0.0, now - state.get("ts", now)) * bucket.rate
            tokens.append(min(bucket.capacity, level))
            if tokens[-1] < 1:
                wait = max(wait, (1 - tokens[-1]) / bucket.rate)
        for bucket, level in zip(buckets, tokens, strict=True):
            handle = handles[bucket.key]
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"tokens": level - 1 if wait == 0 else level, "ts": now}))
            handle.flush()
    return wait


def _key(name: str) -> str:
    return re.sub(r"[^\w-]", "_", name) or "_"


def take_all(buckets: list[Bucket]) -> float:
    """Take one token from every bucket, or from none: 0.0 when taken, else seconds until all have one."""
    buckets = [Bucket(_key(b.key), b.capacity, b.rate) for b in buckets]
    return _take_redis(buckets) if settings.REDIS_URL else _take_file(buckets)


def take(account: str, *, capacity: float = BURST, rate: float | None = None) -> float:
    """Take one token for the account's bucket: 0.0 when granted, else seconds until one is free."""
    return take_all([Bucket(account, capacity, rate or refill_rate())])


# --- fairness: the lifecycle keeps its share; downloads and syncs share the rest, per person ---

# Set around the calls made for a person (a download, a sync); unset, a call is the lifecycle's.
_interactive_for: ContextVar[str | None] = ContextVar("quota_interactive_for", default=None)
# `who` of a bulk job an admin starts (a catalog sync): it keeps out of the lifecycle's reserve but
# is not held to one person's budget, which would make a 50-dashboard sync 5x slower.
SHARED = ""


@contextlib.contextmanager
def interactive(who: str) -> Iterator[None]:
    """QuickSight calls made inside draw on the interactive share and on `who`'s own budget."""
    reset = _interactive_for.set(str(who))
    try:
        yield
    finally:
        _interactive_for.reset(reset)


def interactive_rate() -> float:
    return refill_rate() * (1 - settings.QUICKSIGHT_LIFECYCLE_RESERVE)


def user_rate() -> float:
    return min(interactive_rate(), settings.QUICKSIGHT_USER_CALLS_PER_SECOND)


def buckets_for(account: str, who: str | None = None) -> list[Bucket]:
    """The account's bucket for every call (QuickSight's quota); for a person's call also the
    interactive share, which the lifecycle's reserve is kept out of, and that person's budget."""
    buckets = [Bucket(account, BURST, refill_rate())]
    if who is not None:
        buckets.append(Bucket(f"interactive-{account}", BURST, interactive_rate()))
    if who:
        buckets.append(Bucket(f"user-{account}-{who}", BURST, user_rate()))
    return buckets


def acquire(account: str) -> None:
    """Take a token or raise QuotaWait; never sleeps."""
    wait = take_all(buckets_for(account, _interactive_for.get()))
    if wait > 0:
        raise QuotaWait(account, wait)


def call_waiting(fn, /, *args, max_wait: float, **kwargs):
    """Call fn, waiting up to max_wait seconds in all for tokens. For code that serves a person or
    a command (a download, a sync); a Celery task waits a fraction of a second at most
    (quicksight.TASK_QUOTA_WAIT_SECONDS), then takes a countdown instead."""
    deadline = time.monotonic() + max_wait
    while True:
        try:
            return fn(*args, **kwargs)
        except QuotaWait as wait:
            if time.monotonic() + wait.retry_after > deadline:
                raise
            time.sleep(wait.retry_after)


def _before_send(request, **kwargs):
    # Runs for every HTTP attempt, botocore's own retries included.
    match = _ACCOUNT_IN_PATH.search(request.url)
    acquire(match.group(1) if match else "_")


def install(client) -> None:
    """Make every HTTP request of this QuickSight client take a token first (idempotent)."""
    client.meta.events.register("before-send.quicksight", _before_send, unique_id="portal-quota")


# --- per-person limits: a bucket per user holding the allowance of one period ---


@dataclass(frozen=True)
class UserLimit:
    name: str  # in the audit event and the bucket's key
    words: str
    setting: str  # how many per period
    period_seconds: int
    period_words: str

    @property
    def allowed(self) -> int:
        return getattr(settings, self.setting)


EXPORT_SUBMISSIONS = UserLimit("export_submissions", "export submissions", "EXPORT_SUBMISSIONS_PER_HOUR", 3600, "hour")
DOWNLOADS = UserLimit("downloads", "download clicks", "DOWNLOADS_PER_MINUTE", 60, "minute")


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


class LimitReached(Exception):
    """A person used up one of their allowances; the message says which and when to come back."""

    def __init__(self, limit: UserLimit, retry_after: int):
        self.limit, self.retry_after = limit, retry_after
        super().__init__(
            f"You have reached the limit of {limit.allowed} {limit.words} per {limit.period_words}. "
            f"Try again in {_in_words(retry_after)}."
        )


def user_limit_take(limit: UserLimit, *, user, ip_address: str | None = None, export=None, target=None) -> None:
    """Count one use of `limit` for the user, shared by every process; over it, audit the refusal
    (one event per refused request) and raise LimitReached."""
    allowed = limit.allowed
    wait = take_all([Bucket(f"limit-{limit.name}-{user.pk}", allowed, allowed / limit.period_seconds)])
    if wait <= 0:
        return
    refused = LimitReached(limit, max(1, math.ceil(wait)))
    with transaction.atomic():
        events.limit_refused(
            actor=user,
            limit=limit.name,
            allowed=allowed,
            period_seconds=limit.period_seconds,
            retry_after_seconds=refused.retry_after,
            export=export,
            target=target,
            ip_address=ip_address,
        )
    raise refused
