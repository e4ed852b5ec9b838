"""The portal's one settings module, read from the environment (12-factor).

With nothing set it runs on embedded defaults: SQLite and a filesystem broker under var/,
quicksight_local mounted in the portal, media under var/. See README "Configuration".
"""

from __future__ import annotations

import ipaddress
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_base_url, env_bool, env_float, env_int, env_list, env_str, parse_database_url
from portal.logging import logging_config_from_env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)
TESTING = "pytest" in sys.modules or env_bool("TESTING", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (for development: DEBUG=true)")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

# The audit chain's HMAC key lives here, outside the database, so that database access alone
# cannot recompute the hashes of a rewritten history (exports/audit.py). Rotate by moving the old
# key to AUDIT_CHAIN_PREVIOUS_KEYS: events and checkpoints name the key that signed them.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY")
if not AUDIT_CHAIN_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY must be set when DEBUG is off (for development: DEBUG=true)")
    AUDIT_CHAIN_KEY = "dev-only-audit-chain-key-never-use-in-production"
AUDIT_CHAIN_PREVIOUS_KEYS = env_list("AUDIT_CHAIN_PREVIOUS_KEYS", [])
for _name, _keys in (("AUDIT_CHAIN_KEY", [AUDIT_CHAIN_KEY]), ("AUDIT_CHAIN_PREVIOUS_KEYS", AUDIT_CHAIN_PREVIOUS_KEYS)):
    if any(len(_key) < 32 for _key in _keys):
        raise ImproperlyConfigured(f"{_name}: each key must be at least 32 characters long")
# Events written before the chain had a key are unsigned; they verify only up to this sequence
# number, which an operator sets once on upgrade (verify_audit_log names it). 0: none are.
AUDIT_CHAIN_UNSIGNED_UNTIL = env_int("AUDIT_CHAIN_UNSIGNED_UNTIL", 0, minimum=0)
# Signed checkpoints of the chain's head go outside the database: file:///dir or s3://bucket/prefix
# (an S3 bucket with object lock keeps each checkpoint for AUDIT_CHECKPOINT_RETENTION_DAYS).
AUDIT_CHECKPOINT_SINK = env_str("AUDIT_CHECKPOINT_SINK") or f"file://{VAR_DIR.resolve() / 'audit-checkpoints'}"
if not AUDIT_CHECKPOINT_SINK.startswith(("file:///", "s3://")) or AUDIT_CHECKPOINT_SINK.rstrip("/") == "s3:/":
    raise ImproperlyConfigured(
        f"AUDIT_CHECKPOINT_SINK={AUDIT_CHECKPOINT_SINK!r} must be file:///absolute/dir or s3://bucket[/prefix]"
    )
AUDIT_CHECKPOINT_RETENTION_DAYS = env_int("AUDIT_CHECKPOINT_RETENTION_DAYS", 400, minimum=1)
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env_int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=10)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The port this portal listens on (make run, gunicorn): the embedded QuickSight endpoint follows it.
PORT = env_int("PORT", 8000, minimum=1)
# Where users reach the portal, for the links in mails (which have no request to take a host from).
# Production must set it (`check --deploy` says so); development uses the local server.
PORTAL_BASE_URL = env_base_url("PORTAL_BASE_URL", f"http://127.0.0.1:{PORT}" if DEBUG or TESTING else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "ninja",  # the API docs page's templates and vendored Swagger UI (no CDN)
    "exports",
    "quicksight_local",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and forms: a NUL or broken UTF-8 in any field is a 400, not a database error.
    "portal.middleware.RefuseUnstorableTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    }
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": parse_database_url("DATABASE_URL", _database_url)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default must start on a fresh clone
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("SQLITE_PATH") or VAR_DIR / "portal.sqlite3"),
            # Several processes (web, worker, beat) share the file: wait for locks, use WAL.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # A file, not memory, so that a worker process started by a test sees the test data.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# W040: SQLite leaves an index's INCLUDE columns out (export_run_seconds_idx and export_newest_idx
# are index-only on PostgreSQL, plain indexes there); Django printed it on every manage.py command
# of the embedded default.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Demo users are created in many tests: PBKDF2 would cost about a second each time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# django-axes first: it refuses a locked-out username or address before any password is checked.
# PortalBackend is ModelBackend reading the navigation's two questions with the user (exports/backends.py);
# sessions signed in under ModelBackend are renamed to it by migration 0019, so the deploy signs nobody out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "exports.backends.PortalBackend"]
# After LOGIN_FAILURE_LIMIT wrong passwords for one username, or from one client address, that
# username or address is locked for LOGIN_LOCKOUT_MINUTES (each further failure restarts the
# wait); an admin unlocks earlier by deleting its access attempts (admin, or `axes_reset_username`).
# Proxies in front of the portal that each append the address they were reached from to
# X-Forwarded-For (0: clients connect directly, REMOTE_ADDR is theirs).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The client's address as every audit event and limit reads it: REMOTE_ADDR, or behind
# TRUSTED_PROXY_COUNT proxies the address the outermost one saw (a client cannot pick it).
AXES_CLIENT_IP_CALLABLE = "exports.views.http.client_address"
AXES_LOCKOUT_CALLABLE = "exports.signins.lockout_response"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The DEBUG error page lists settings: ours also hides credential tuples and passwords inside URLs.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.debug.CredentialSafeExceptionReporterFilter"
# Security: strict by default, relaxed only for local development over plain http.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
# The mounted quicksight_local is called by the portal itself over http (the embedded default).
SECURE_REDIRECT_EXEMPT = [r"^quicksight-local/"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG and not TESTING)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, read with a plain SELECT on every request (portal/sessions.py).
SESSION_ENGINE = "portal.sessions"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "frame-ancestors": ["'none'"],
}
MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")

# Django 6.1's MAILERS (EMAIL_BACKEND and friends are deprecated): the console in development,
# SMTP otherwise (a local relay unless EMAIL_HOST says where).
_dev_mail = DEBUG or TESTING
MAILERS = {
    "default": {
        "BACKEND": env_str(
            "EMAIL_BACKEND",
            "django.core.mail.backends.console.EmailBackend"
            if _dev_mail
            else "django.core.mail.backends.smtp.EmailBackend",
        ),
        "OPTIONS": {}
        if _dev_mail
        else {
            "host": env_str("EMAIL_HOST", "localhost"),
            "port": env_int("EMAIL_PORT", 25, minimum=1),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", default=False),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "exports@localhost")

# --- Celery: the database row is the truth, messages only wake code up. ---
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost//"  # a host, or kombu warns on every connection
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule lives here, not in django-celery-beat (see TIPS: it caps Django below 6.1).
CELERY_BEAT_SCHEDULE: dict = {
    "worker-heartbeat": {"task": "exports.tasks.heartbeat", "schedule": 30.0},
    # Re-sends lost wake-ups and starts waiting exports as slots free (exports/jobs.py reconcile).
    "reconcile-exports": {"task": "exports.tasks.reconcile_exports", "schedule": 30.0},
    # Claims and runs the schedules' due occurrences (exports/schedules.py run_due); once each.
    "run-due-schedules": {"task": "exports.tasks.run_due_schedules", "schedule": 60.0},
    # Seals the audit chain's head outside the database (exports/audit.py checkpoint_write).
    "audit-checkpoint": {"task": "exports.tasks.audit_checkpoint", "schedule": AUDIT_CHECKPOINT_INTERVAL_SECONDS},
}

# --- QuickSight and AWS ---
AWS_REGION = env_str("AWS_REGION", "us-east-1")
# Unset: the embedded quicksight_local mounted in this portal. "aws": AWS's own endpoint.
QUICKSIGHT_ENDPOINT_URL = env_str("QUICKSIGHT_ENDPOINT_URL", f"http://127.0.0.1:{PORT}/quicksight-local")
# Serve quicksight_local inside the portal only when the portal uses it: never beside real AWS.
QUICKSIGHT_LOCAL_MOUNTED = env_bool(
    "QUICKSIGHT_LOCAL_MOUNTED", default=QUICKSIGHT_ENDPOINT_URL.rstrip("/").endswith("/quicksight-local")
)
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL") or None
AWS_MAX_ATTEMPTS = env_int("AWS_MAX_ATTEMPTS", 3, minimum=1)
AWS_CONNECT_TIMEOUT = env_float("AWS_CONNECT_TIMEOUT", 5, minimum=0.1)
AWS_READ_TIMEOUT = env_float("AWS_READ_TIMEOUT", 30, minimum=0.1)

# quicksight_local: the access keys it accepts ("id:secret,id:secret"), and the demo account.
# The demo pair is published (README, .env.example): fine on a developer's machine, never on a server.
_DEMO_KEY_ID, _DEMO_SECRET = "AKIALOCALDEMO0000000", "local-demo-secret"  # noqa: S105
QUICKSIGHT_LOCAL_ACCESS_KEYS = env_str("QUICKSIGHT_LOCAL_ACCESS_KEYS", f"{_DEMO_KEY_ID}:{_DEMO_SECRET}")
QUICKSIGHT_LOCAL_ACCOUNT_ID = env_str("QUICKSIGHT_LOCAL_ACCOUNT_ID", "111122223333")
QUICKSIGHT_LOCAL_DATA_DIR = Path(env_str("QUICKSIGHT_LOCAL_DATA_DIR") or VAR_DIR / "quicksight_local")
# A PDF shows at most this many rows per table visual (CSV and Excel carry every row).
QUICKSIGHT_LOCAL_PDF_MAX_TABLE_ROWS = env_int("QUICKSIGHT_LOCAL_PDF_MAX_TABLE_ROWS", 5000, minimum=1)
# quicksight_local's region, quotas, job pacing, link lifetime and injected faults (README "quicksight_local").
QUICKSIGHT_LOCAL_REGION = env_str("QUICKSIGHT_LOCAL_REGION") or AWS_REGION
QUICKSIGHT_LOCAL_MAX_RUNNING_JOBS = env_int("QUICKSIGHT_LOCAL_MAX_RUNNING_JOBS", 12, minimum=1)
QUICKSIGHT_LOCAL_MAX_CALLS_PER_SECOND = env_int("QUICKSIGHT_LOCAL_MAX_CALLS_PER_SECOND", 10, minimum=1)
QUICKSIGHT_LOCAL_JOB_ID_REUSE_SECONDS = env_float("QUICKSIGHT_LOCAL_JOB_ID_REUSE_SECONDS", 86400, minimum=0)
QUICKSIGHT_LOCAL_WORKERS = env_int("QUICKSIGHT_LOCAL_WORKERS", 4, minimum=1)
QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS = env_float("QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS", 1, minimum=0)
QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS = env_float("QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS", 1, minimum=0)
# DescribeDashboardSnapshotJobResult before the job ends: "error" answers as AWS documents it
# (PreconditionNotMetException, "... has not reached a terminal state"), "status" a 200 with JobStatus.
QUICKSIGHT_LOCAL_RESULT_BEFORE_END = env_str("QUICKSIGHT_LOCAL_RESULT_BEFORE_END", "error")
if QUICKSIGHT_LOCAL_RESULT_BEFORE_END not in ("error", "status"):
    raise ImproperlyConfigured(
        f"QUICKSIGHT_LOCAL_RESULT_BEFORE_END={QUICKSIGHT_LOCAL_RESULT_BEFORE_END!r} is not one of error, status"
    )
QUICKSIGHT_LOCAL_LINK_TTL_SECONDS = env_int("QUICKSIGHT_LOCAL_LINK_TTL_SECONDS", 300, minimum=1)
# Base of download links when browsers reach the service by another name than the portal does
# (compose: the portal calls http://quicksight-local:8400, browsers http://localhost:8400).
QUICKSIGHT_LOCAL_PUBLIC_URL = env_str("QUICKSIGHT_LOCAL_PUBLIC_URL", "")
QUICKSIGHT_LOCAL_FAULT_LATENCY = env_float("QUICKSIGHT_LOCAL_FAULT_LATENCY", 0, minimum=0)
QUICKSIGHT_LOCAL_FAULT_THROTTLE_RATE = env_float("QUICKSIGHT_LOCAL_FAULT_THROTTLE_RATE", 0, minimum=0)
QUICKSIGHT_LOCAL_FAULT_JOB_FAILURE = env_str("QUICKSIGHT_LOCAL_FAULT_JOB_FAILURE", "")  # "ErrorType: message"
QUICKSIGHT_LOCAL_FAULT_FILE_FAILURE = env_str("QUICKSIGHT_LOCAL_FAULT_FILE_FAILURE", "")  # "ErrorType: message"
if QUICKSIGHT_LOCAL_MOUNTED and not (DEBUG or TESTING):
    _pairs = [pair.split(":", 1) for pair in QUICKSIGHT_LOCAL_ACCESS_KEYS.split(",") if ":" in pair]
    if _DEMO_SECRET in {secret.strip() for _key_id, secret in _pairs}:
        # Anyone holding the published pair could call the mounted service and ask for every row.
        raise ImproperlyConfigured(
            f"QUICKSIGHT_LOCAL_ACCESS_KEYS accepts the published demo key pair ({_DEMO_KEY_ID}) while "
            "quicksight_local is mounted at /quicksight-local/ and DEBUG is off: set it to your own "
            "id:secret, or point QUICKSIGHT_ENDPOINT_URL at a real endpoint"
        )


def _is_local_endpoint(url: str) -> bool:
    """quicksight_local mounted in this portal, or any endpoint on a loopback address."""
    if url == "aws":
        return False
    parts = urlsplit(url)
    if QUICKSIGHT_LOCAL_MOUNTED and parts.path.rstrip("/").endswith("/quicksight-local"):
        return True
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


if _is_local_endpoint(QUICKSIGHT_ENDPOINT_URL) and not env_str("AWS_ACCESS_KEY_ID"):
    # boto3 needs credentials to sign; quicksight_local accepts its first key pair. Any other
    # endpoint (aws, a VPC or FIPS endpoint) gets boto3's own chain: variables, profile, role.
    AWS_LOCAL_CREDENTIALS: tuple[str, str] | None = tuple(QUICKSIGHT_LOCAL_ACCESS_KEYS.split(",")[0].split(":", 1))
else:
    AWS_LOCAL_CREDENTIALS = None

# --- Export rules and quotas (QuickSight's defaults) ---
SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT = env_int("SNAPSHOT_MAX_RUNNING_JOBS_PER_ACCOUNT", 12, minimum=1)
QUICKSIGHT_MAX_CALLS_PER_SECOND = env_int("QUICKSIGHT_MAX_CALLS_PER_SECOND", 10, minimum=1)
EXPORT_DEADLINE = timedelta(seconds=env_int("EXPORT_DEADLINE_SECONDS", 7200, minimum=1))
# Job lifecycle (exports/jobs.py): polls 2 s after Start, doubling to a 30 s cap; Celery retries alike.
EXPORT_POLL_FIRST_SECONDS = env_float("EXPORT_POLL_FIRST_SECONDS", 2, minimum=0.05)
EXPORT_POLL_MAX_SECONDS = env_float("EXPORT_POLL_MAX_SECONDS", 30, minimum=0.05)
# Once the dashboard and formats have finished exports, the first poll comes just after the expected
# end (exports/estimates.py), then polls every EXPORT_POLL_TIGHT_SECONDS for a few, then back off.
# "doubling" keeps the 2, 4, 8, 16, 30 s schedule everywhere (the benchmark's baseline).
EXPORT_POLL_SCHEDULE = env_str("EXPORT_POLL_SCHEDULE", "estimate")
if EXPORT_POLL_SCHEDULE not in ("estimate", "doubling"):
    raise ImproperlyConfigured(f"EXPORT_POLL_SCHEDULE={EXPORT_POLL_SCHEDULE!r} is not one of estimate, doubling")
EXPORT_POLL_TIGHT_SECONDS = env_float("EXPORT_POLL_TIGHT_SECONDS", 1, minimum=0.05)
# What an export is expected to take before its dashboard and formats have finished ones to learn from.
EXPORT_ESTIMATE_DEFAULT_SECONDS = env_float("EXPORT_ESTIMATE_DEFAULT_SECONDS", 60, minimum=1)
# How many of the latest finished exports of the same dashboard and formats the estimate reads.
EXPORT_ESTIMATE_SAMPLES = env_int("EXPORT_ESTIMATE_SAMPLES", 20, minimum=1)
# How long one worker step may hold an export before it is presumed dead (2 calls, botocore's retries).
EXPORT_STEP_LEASE_SECONDS = env_float(
    "EXPORT_STEP_LEASE_SECONDS", 2 * AWS_MAX_ATTEMPTS * (AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT) + 10, minimum=1
)
# DescribeDashboardSnapshotJob may not see a job yet just after Start accepted it (eventual
# consistency): a ResourceNotFoundException is polled again this many times, within this many
# seconds of the Start, before the export fails.
EXPORT_NOT_FOUND_RETRIES = env_int("EXPORT_NOT_FOUND_RETRIES", 3, minimum=0)
EXPORT_NOT_FOUND_WINDOW_SECONDS = env_float("EXPORT_NOT_FOUND_WINDOW_SECONDS", 30, minimum=0)
# The reconciler re-sends a step only once it is this late, so slow queues do not get duplicates.
EXPORT_RECONCILE_GRACE_SECONDS = env_float("EXPORT_RECONCILE_GRACE_SECONDS", 10, minimum=0)
# --- Schedules (exports/schedules.py): limits and how runs fail ---
# Scheduled exports may hold at most this share of the account's running slots (at least one), so a
# burst of schedules never leaves an interactive export waiting (exports/jobs.py queue_advance).
SCHEDULED_MAX_RUNNING_SHARE = env_float("SCHEDULED_MAX_RUNNING_SHARE", 0.5, minimum=0)
if SCHEDULED_MAX_RUNNING_SHARE > 1:
    raise ImproperlyConfigured(f"SCHEDULED_MAX_RUNNING_SHARE={SCHEDULED_MAX_RUNNING_SHARE} is above the maximum of 1")
SCHEDULES_PER_USER = env_int("SCHEDULES_PER_USER", 20, minimum=1)
SCHEDULE_MAX_RECIPIENTS = env_int("SCHEDULE_MAX_RECIPIENTS", 25, minimum=1)
# No schedule runs more often than this (wall-clock minutes between two runs).
SCHEDULE_MIN_INTERVAL_MINUTES = env_int("SCHEDULE_MIN_INTERVAL_MINUTES", 60, minimum=1)
# After this many failed runs in a row a schedule pauses itself and tells its owner.
SCHEDULE_MAX_CONSECUTIVE_FAILURES = env_int("SCHEDULE_MAX_CONSECUTIVE_FAILURES", 3, minimum=1)
# A run claimed this long after its time is marked late (the tick comes every minute).
SCHEDULE_LATE_AFTER_SECONDS = env_int("SCHEDULE_LATE_AFTER_SECONDS", 120, minimum=1)
# A run still making its exports after this long (its process died) is taken up again by a tick.
SCHEDULE_RUN_LEASE_SECONDS = env_int("SCHEDULE_RUN_LEASE_SECONDS", 300, minimum=1)
# Delivery "ATTACH": files are attached to the mail only when together they fit this size.
SCHEDULE_ATTACHMENT_MAX_BYTES = env_int("SCHEDULE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=0)

# Fairness of QuickSight's call quota: this share of the calls per second is kept for the export
# lifecycle (Start, polls, results); downloads and catalog syncs share the rest, and each person
# may use at most QUICKSIGHT_USER_CALLS_PER_SECOND of it.
QUICKSIGHT_LIFECYCLE_RESERVE = env_float("QUICKSIGHT_LIFECYCLE_RESERVE", 0.6, minimum=0)
if QUICKSIGHT_LIFECYCLE_RESERVE >= 1:
    raise ImproperlyConfigured(f"QUICKSIGHT_LIFECYCLE_RESERVE={QUICKSIGHT_LIFECYCLE_RESERVE} must be below 1")
QUICKSIGHT_USER_CALLS_PER_SECOND = env_float("QUICKSIGHT_USER_CALLS_PER_SECOND", 2, minimum=0.01)
# Per-person limits, shared by every web process (exports/quota.py): refused with 429 and audited.
EXPORT_SUBMISSIONS_PER_HOUR = env_int("EXPORT_SUBMISSIONS_PER_HOUR", 30, minimum=1)
DOWNLOADS_PER_MINUTE = env_int("DOWNLOADS_PER_MINUTE", 30, minimum=1)
# Requests per minute one API token may make (exports/tokens.py), shared by every process; above it 429.
API_TOKEN_REQUESTS_PER_MINUTE = env_int("API_TOKEN_REQUESTS_PER_MINUTE", 120, minimum=1)
AUDITORS_CAN_DOWNLOAD = env_bool("AUDITORS_CAN_DOWNLOAD", default=False)
ARCHIVE_EXPORTS = env_bool("ARCHIVE_EXPORTS", default=False)

# JSON lines with DEBUG off (LOG_FORMAT), secrets redacted on every handler: portal/logging.py.
LOGGING = logging_config_from_env()
