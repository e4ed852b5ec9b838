"""How the portal logs: one JSON object a line in production, and never a secret.

Every handler the portal configures (Django, Celery, runserver's and quicksight_local's request
lines, gunicorn's error and access logs: portal/gunicorn_conf.py) goes through RedactSecrets, which
takes out signed-link signatures and credentials, passwords, session ids and values of "Value" keys
(RLS tags travel as {"Key": ..., "Value": ...}) before any formatter sees the record. The botocore
guard stays too: below WARNING botocore would log whole request bodies, RLS tags included.

Stdlib only: the JSON formatter is a dozen lines, not worth another pinned dependency
(python-json-logger would also serialise every `extra`, such as Django's whole request object).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_str

REDACTED = "[redacted]"

# Query or form parameters whose values sign, authorize or identify: SigV4 and SigV2 presigned S3
# links, quicksight_local's links, tokens, passwords, Django's session cookie.
SECRET_PARAMETERS = (
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-signature",
    "signature",
    "awsaccesskeyid",
    "token",
    "access_token",
    "password",
    "sessionid",
    # The history's search: an auditor may search for an RLS tag value (exports.history.search).
    "q",
)
_NAMES = "|".join(re.escape(name) for name in SECRET_PARAMETERS)
_PARAMETER = re.compile(rf"(?i)(?<![\w-])({_NAMES})=[^&\s\"'<>;,]*")
# The same names as keys in JSON or a dict's repr, plus "Value": an RLS tag's value.
_KEYED = re.compile(rf"""(?i)(["']({_NAMES}|value|session_key)["']\s*:\s*)(["'])(?:\\.|(?!\3).)*\3""")
# user:password@ in a URL (DATABASE_URL, REDIS_URL in an error message).
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")


def redact(text: str) -> str:
    text = _PARAMETER.sub(lambda m: f"{m[1]}={REDACTED}", text)
    text = _KEYED.sub(lambda m: f"{m[1]}{m[3]}{REDACTED}{m[3]}", text)
    return _USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@", text)


class RedactSecrets(logging.Filter):
    """On handlers, so it sees every record that reaches them, whichever logger it came from."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, process, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, json_lines: bool, level: str = "INFO") -> dict:
    """The dictConfig for Django (settings.LOGGING) and gunicorn (logconfig_dict) alike."""
    own_handler = {"handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_secrets": {"()": RedactSecrets}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["redact_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django gives "django" a console handler of its own (DEBUG only) that no filter guards.
            "django": {**own_handler, "level": "INFO"},
            "django.db.backends": {"level": "WARNING"},
            # At DEBUG botocore logs request bodies, and those carry RLS tag values: never below INFO.
            "botocore": {"level": "INFO" if level == "DEBUG" else "WARNING"},
            "boto3": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # Request lines with their query strings: runserver and quicksight_local's own server
            # (django.server, which Django otherwise gives a handler of its own), and gunicorn.
            "django.server": {**own_handler, "level": "INFO"},
            "gunicorn.error": {**own_handler, "level": level},
            "gunicorn.access": {**own_handler, "level": "INFO"},
        },
    }


def logging_config_from_env() -> dict:
    """LOG_FORMAT (json or plain; json unless DEBUG is on) and LOG_LEVEL (INFO)."""
    log_format = (env_str("LOG_FORMAT") or ("plain" if env_bool("DEBUG", default=False) else "json")).lower()
    if log_format not in {"json", "plain"}:
        raise ImproperlyConfigured(f"LOG_FORMAT={log_format!r} must be json or plain")
    level = (env_str("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ImproperlyConfigured(f"LOG_LEVEL={level!r} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return logging_config(json_lines=log_format == "json", level=level)
