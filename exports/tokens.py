"""Personal access tokens for the JSON API: create, find by the presented secret, revoke, audit use.

A token reads `sep_<prefix>_<secret>`. The prefix (8 hex characters) is stored in clear to find the
row and to tell tokens apart in lists; of the secret only a SHA-256 is kept (a random 256-bit
secret needs no slow hash: nobody can guess it, and a stolen table gives nothing to replay).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exports import events, quota
from exports.models import ApiToken
from exports.validators import text_fault

TOKEN_PREFIX = "sep_"
MAX_EXPIRY_DAYS = 366
DEFAULT_EXPIRY_DAYS = 90
# Reads write at most one `api.used` event per token in this window; writes and downloads always do.
READ_AUDIT_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenProblem:
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class TokenInvalid(ValueError):
    def __init__(self, problems: list[TokenProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class TokenRefused(Exception):
    """The presented token does not authenticate; the message says why, for its holder."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    return [s.strip() for s in items if isinstance(s, str) and s.strip()]


def _problems(name: str, scopes: list[str], expires_days: int) -> list[TokenProblem]:
    problems = []
    fault = text_fault(name)
    if fault:
        problems.append(TokenProblem("name", fault[0], f"the name {fault[1]}"))
    elif not name.strip() or len(name) > 100:
        problems.append(TokenProblem("name", "name-length", "give the token a name of 1 to 100 characters"))
    unknown = [s for s in scopes if s not in ApiToken.SCOPES]
    if unknown or not scopes:
        problems.append(
            TokenProblem(
                "scopes",
                "scopes-known",
                f"choose one or more of {', '.join(ApiToken.SCOPES)}"
                + (f" (unknown: {', '.join(repr(s) for s in unknown)})" if unknown else ""),
            )
        )
    if isinstance(expires_days, bool) or not isinstance(expires_days, int) or not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        problems.append(
            TokenProblem("expires_days", "expiry-days", f"a token expires after 1 to {MAX_EXPIRY_DAYS} days")
        )
    return problems


def token_create(
    *,
    user,
    name: str,
    scopes: list[str],
    expires_days: int = DEFAULT_EXPIRY_DAYS,
    actor=None,
    ip_address: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` and its clear text (shown once, never stored); TokenInvalid names each problem."""
    problems = _problems(name, scopes, expires_days)
    if problems:
        raise TokenInvalid(problems)
    scopes = [s for s in ApiToken.SCOPES if s in scopes]
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=prefix,
            secret_sha256=_digest(secret),
            scopes=scopes,
            expires_at=timezone.now() + timedelta(days=expires_days),
        )
        events.api_token_created(token=token, actor=actor or user, ip_address=ip_address)
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def token_revoke(*, token: ApiToken, actor, ip_address: str | None = None) -> bool:
    """Revoke at once (every later request with it gets 401); False when it was revoked already."""
    with transaction.atomic():
        now = timezone.now()
        if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now) != 1:
            return False
        token.revoked_at = now
        events.api_token_revoked(token=token, actor=actor, ip_address=ip_address)
    return True


def token_authenticate(presented: str) -> ApiToken:
    """The live token this text names, with its user; TokenRefused saying why not."""
    body = presented[len(TOKEN_PREFIX) :] if presented.startswith(TOKEN_PREFIX) else ""
    prefix, _, secret = body.partition("_")
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first() if prefix and secret else None
    # compare_digest: the time taken does not tell how much of a guessed secret was right.
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        raise TokenRefused("the token is not valid")
    if token.revoked_at is not None:
        raise TokenRefused("the token was revoked")
    if token.expires_at <= timezone.now():
        raise TokenRefused("the token has expired")
    if not token.user.is_active:
        raise TokenRefused("the token's user is inactive")
    return token


def token_rate_wait(token: ApiToken) -> float:
    """Take one request from the token's allowance (API_TOKEN_REQUESTS_PER_MINUTE, shared by every
    process, exports/quota.py's buckets): 0 when allowed, else seconds until the next one is."""
    allowed = settings.API_TOKEN_REQUESTS_PER_MINUTE
    return quota.take_all([quota.Bucket(f"api-token-{token.pk}", allowed, allowed / 60)])


def token_used(token: ApiToken, *, operation: str, write: bool, ip_address: str | None, export=None) -> None:
    """Audit a use: every write and download; a read only when the token's last audited use is
    READ_AUDIT_INTERVAL old (one conditional UPDATE decides, so parallel reads write one event)."""
    now = timezone.now()
    recent = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - READ_AUDIT_INTERVAL)
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk).filter(Q() if write else recent).update(last_used_at=now)
        if not updated:
            return
        events.api_used(token=token, operation=operation, write=write, ip_address=ip_address, export=export)
