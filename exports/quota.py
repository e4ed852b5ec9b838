"""QuickSight's call quota, shared by every process: a token bucket per AWS account.

With REDIS_URL the bucket lives in Redis (one Lua script, Redis's own clock), so every worker,
web process and beat on every host draws from the same bucket. Without it (the embedded default,
one host) the bucket is a small file updated under an exclusive file lock.

The limiter never waits: when no token is left it raises QuotaWait (a retryable error) saying
how long to wait, and the caller's Celery task comes back after that countdown.
"""

from __future__ import annotations

import fcntl
import functools
import json
import re
import time
from pathlib import Path

from django.conf import settings

from exports.aws import RetryableAwsError

# The bucket holds a single token and refills at calls_per_second / SPACING_MARGIN: calls are
# spread evenly, so even with up to 100 ms of network jitter between our clock and QuickSight's,
# no one-second window there sees more calls than the quota.
BURST = 1
SPACING_MARGIN = 1.1
KEY_PREFIX = "portal:qs-bucket:"

_ACCOUNT_IN_PATH = re.compile(r"/accounts/(\d{12})(?:/|$|\?)")

# KEYS[1]: the bucket. ARGV: capacity, refill rate per second. Returns "0" when a token was
# taken, otherwise the seconds until one will be there (as a string: Lua numbers become integers).
TOKEN_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
-- string.format, not tostring: tostring keeps 14 digits, which rounds the clock to 0.1 ms, and
-- over thousands of refused calls per grant that rounding let the bucket refill ~10% too fast.
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return string.format('%.17g', wait)
"""


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


def _take_redis(key: str, capacity: float, rate: float) -> float:
    return float(_redis_script(settings.REDIS_URL)(keys=[KEY_PREFIX + key], args=[capacity, rate]))


def _take_file(key: str, capacity: float, rate: float) -> float:
    folder = Path(settings.VAR_DIR) / "quota"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key}.bucket", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        handle.seek(0)
        try:
            state = json.loads(handle.read() or "{}")
        except ValueError:
            state = {}
        now = time.time()
        tokens = min(capacity, state.get("tokens", capacity) + max(0.0, now - state.get("ts", now)) * rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"tokens": tokens, "ts": now}))
    return wait


def take(account: str, *, capacity: float = BURST, rate: float | None = None) -> float:
    """Take one token for the account's bucket: 0.0 when granted, else seconds until one is free."""
    key = re.sub(r"[^\w-]", "_", account) or "_"
    rate = rate or refill_rate()
    return _take_redis(key, capacity, rate) if settings.REDIS_URL else _take_file(key, capacity, rate)


def acquire(account: str) -> None:
    """Take a token or raise QuotaWait; never sleeps."""
    wait = take(account)
    if wait > 0:
        raise QuotaWait(account, wait)


def call_waiting(fn, /, *args, max_wait: float, **kwargs):
    """Call fn, waiting up to max_wait seconds in all for tokens. For code that serves a person or
    a command (a download, a sync); never in a Celery task, which takes a countdown instead."""
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
