"""Typed readers for environment variables: a bad value fails loudly and names the variable."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(name: str, url: str) -> dict:
    """postgres://user:password@host:port/dbname?sslmode=require -> Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"{name} must be a postgres:// URL, not {parts.scheme or 'no'} scheme")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ImproperlyConfigured(f"{name} names no database (postgres://host:port/DBNAME)")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number") from None
    options = dict(parse_qsl(parts.query))
    # Parameters sent apart from the SQL, and a statement run 5 times on a connection prepared once, so
    # PostgreSQL stops parsing and planning the same few queries on every page (Django turns both off
    # for connection poolers). Behind a pooler that cannot keep prepared statements (PgBouncer's
    # transaction mode before 1.21), add ?prepare_threshold=none to the URL.
    options["server_side_binding"] = _url_flag(name, "server_side_binding", options.get("server_side_binding", "true"))
    options["prepare_threshold"] = _url_count(name, "prepare_threshold", options.get("prepare_threshold", "5"))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": dbname,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def _url_flag(name: str, key: str, raw: str) -> bool:
    if raw.lower() not in {"true", "false"}:
        raise ImproperlyConfigured(f"{name}: {key} must be true or false, not {raw!r}")
    return raw.lower() == "true"


def _url_count(name: str, key: str, raw: str) -> int | None:
    if raw.lower() == "none":
        return None
    if not raw.isdigit():
        raise ImproperlyConfigured(f"{name}: {key} must be a whole number or none, not {raw!r}")
    return int(raw)


def env_base_url(name: str, default: str) -> str:
    """An absolute http(s) URL without its trailing slash (links are built as base + path)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an absolute http(s) URL (like https://exports.example.com)")
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}={raw!r} must not carry a query or fragment")
    return raw.strip().rstrip("/")
