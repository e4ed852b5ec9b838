"""The catalog (what can be exported), who may export it with which RLS identity, and the exports."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import Q

from exports import links
from exports.search_text import SearchText
from exports.snapshot_rules import FORMAT_WORDS, MAX_RLS_TAGS, TABULAR_VISUAL_TYPES

# The API's own patterns (botocore's service model): see exports/snapshot_rules.py.
aws_account_id_validator = RegexValidator(r"^[0-9]{12}$", "An AWS account id is exactly 12 digits.")
resource_id_validator = RegexValidator(r"^[\w-]{1,512}$", "Use 1 to 512 letters, digits, '_' or '-'.")


class Dashboard(models.Model):
    aws_account_id = models.CharField("AWS account id", max_length=12, validators=[aws_account_id_validator])
    region = models.CharField(max_length=32, help_text="The AWS region the dashboard lives in, e.g. eu-west-1.")
    dashboard_id = models.CharField(max_length=512, validators=[resource_id_validator])
    name = models.CharField(max_length=2048)
    arn = models.CharField("ARN", max_length=2048, blank=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    # Tag keys of the RLS rules on the dashboard's datasets; empty when no dataset uses RLS.
    rls_tag_keys = models.JSONField("RLS tag keys", default=list, blank=True)
    # Each data set of the published version as the last sync described it, one entry per data set
    # (rules are never merged across data sets): {"data_set_id", "name", "rls": its
    # RowLevelPermissionTagConfiguration as DescribeDataSet gives it, or null, "error_code", "error"}.
    # An entry with an error_code blocks exports until a sync reads it (exports/rls.py).
    data_sets = models.JSONField("data sets", default=list, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    is_stale = models.BooleanField(default=False, help_text="Gone from QuickSight at the last sync.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["aws_account_id", "region", "dashboard_id"],
                name="dashboard_unique_id",
                violation_error_message="This dashboard (account, region and dashboard id) is already in the catalog.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def uses_rls(self) -> bool:
        return bool(self.rls_tag_keys)


class Sheet(models.Model):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="sheets")
    sheet_id = models.CharField(max_length=512, validators=[resource_id_validator])
    name = models.CharField(max_length=2048)
    position = models.PositiveIntegerField(default=0)
    is_stale = models.BooleanField(default=False)

    class Meta:
        ordering = ["dashboard", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dashboard", "sheet_id"],
                name="sheet_unique_per_dashboard",
                violation_error_message="This dashboard already has a sheet with this id.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Visual(models.Model):
    # Types as DescribeDashboardDefinition names them; only these export as CSV or Excel.
    TABULAR_TYPES = TABULAR_VISUAL_TYPES

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="visuals")
    visual_id = models.CharField(max_length=512, validators=[resource_id_validator])
    title = models.CharField(max_length=2048, blank=True)
    visual_type = models.CharField(max_length=64, help_text="e.g. TableVisual, PivotTableVisual, BarChartVisual")
    position = models.PositiveIntegerField(default=0)
    is_stale = models.BooleanField(default=False)

    class Meta:
        ordering = ["sheet", "position", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "visual_id"],
                name="visual_unique_per_sheet",
                violation_error_message="This sheet already has a visual with this id.",
            )
        ]

    def __str__(self) -> str:
        return self.title or self.visual_id

    @property
    def is_tabular(self) -> bool:
        return self.visual_type in self.TABULAR_TYPES


class DashboardParameter(models.Model):
    class Type(models.TextChoices):
        STRING = "STRING", "Text"
        INTEGER = "INTEGER", "Integer"
        DECIMAL = "DECIMAL", "Decimal"
        DATETIME = "DATETIME", "Date and time"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="parameters")
    name = models.CharField(max_length=2048)
    param_type = models.CharField("type", max_length=8, choices=Type.choices)
    multi_valued = models.BooleanField(default=False)
    default_values = models.JSONField(default=list, blank=True)
    is_stale = models.BooleanField(default=False)

    class Meta:
        ordering = ["dashboard", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dashboard", "name"],
                name="parameter_unique_per_dashboard",
                violation_error_message="This dashboard already has a parameter with this name.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_param_type_display()})"


class _UserOrGroup(models.Model):
    """A subject: exactly one of user and group."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        abstract = True

    @property
    def subject(self) -> str:
        return f"user {self.user}" if self.user_id else f"group {self.group}"

    @property
    def who(self) -> str:
        """The subject as a sentence starts with it: "alice", "The group Analysts"."""
        return self.user.get_username() if self.user_id else f"The group {self.group}"

    def _clean_subject(self) -> None:
        if self.user_id and self.group_id:
            raise ValidationError({"group": "Choose a user or a group, not both."})
        if not self.user_id and not self.group_id:
            raise ValidationError({"user": "Choose a user or a group."})


class Grant(_UserOrGroup):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="grants")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="grant_user_xor_group",
                violation_error_message="A grant is for a user or a group: choose exactly one.",
            ),
            models.UniqueConstraint(
                fields=["dashboard", "user"],
                condition=Q(user__isnull=False),
                name="grant_user_once",
                violation_error_message="This user already has a grant on this dashboard.",
            ),
            models.UniqueConstraint(
                fields=["dashboard", "group"],
                condition=Q(group__isnull=False),
                name="grant_group_once",
                violation_error_message="This group already has a grant on this dashboard.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dashboard} to {self.subject}"

    def clean(self) -> None:
        self._clean_subject()
        same = Grant.objects.filter(dashboard_id=self.dashboard_id, user_id=self.user_id, group_id=self.group_id)
        if self.dashboard_id and same.exclude(pk=self.pk).exists():
            field = "user" if self.user_id else "group"
            raise ValidationError({field: f"{self.who} already has a grant on {self.dashboard}."})


class RlsTagMapping(_UserOrGroup):
    """One RLS tag for a user or group, for every dashboard or only one."""

    dashboard = models.ForeignKey(
        Dashboard, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: applies to every dashboard."
    )
    tag_key = models.CharField(max_length=128, validators=[MinLengthValidator(1), MaxLengthValidator(128)])
    tag_value = models.CharField(
        max_length=256,
        validators=[MinLengthValidator(1), MaxLengthValidator(256)],
        help_text="Several values: join them with the dataset's delimiter, e.g. EMEA,APAC.",
    )

    class Meta:
        verbose_name = "RLS tag mapping"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="rls_user_xor_group",
                violation_error_message="An RLS tag mapping is for a user or a group: choose exactly one.",
            ),
            # One mapping per subject, key and scope (NULL scope needs its own constraints).
            models.UniqueConstraint(
                fields=["user", "tag_key"],
                condition=Q(user__isnull=False, dashboard__isnull=True),
                name="rls_user_global",
                violation_error_message="This user already has a mapping of this tag key for every dashboard.",
            ),
            models.UniqueConstraint(
                fields=["user", "dashboard", "tag_key"],
                condition=Q(user__isnull=False, dashboard__isnull=False),
                name="rls_user_dashboard",
                violation_error_message="This user already has a mapping of this tag key for this dashboard.",
            ),
            models.UniqueConstraint(
                fields=["group", "tag_key"],
                condition=Q(group__isnull=False, dashboard__isnull=True),
                name="rls_group_global",
                violation_error_message="This group already has a mapping of this tag key for every dashboard.",
            ),
            models.UniqueConstraint(
                fields=["group", "dashboard", "tag_key"],
                condition=Q(group__isnull=False, dashboard__isnull=False),
                name="rls_group_dashboard",
                violation_error_message="This group already has a mapping of this tag key for this dashboard.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.dashboard or "every dashboard"
        return f"{self.subject}: {self.tag_key} ({scope})"

    def clean(self) -> None:
        self._clean_subject()
        if not self.tag_key.strip():
            raise ValidationError({"tag_key": "A tag key needs 1 to 128 characters, not only spaces."})
        if not self.tag_value.strip():
            raise ValidationError({"tag_value": "A tag value needs 1 to 256 characters, not only spaces."})
        same = RlsTagMapping.objects.filter(
            user_id=self.user_id, group_id=self.group_id, dashboard_id=self.dashboard_id, tag_key=self.tag_key
        ).exclude(pk=self.pk)
        if same.exists():
            scope = f"for {self.dashboard}" if self.dashboard_id else "for every dashboard"
            raise ValidationError(
                {"tag_key": f"{self.who} already has a '{self.tag_key}' tag {scope}: change that mapping instead."}
            )
        problem = tag_limit_problem(
            user=self.user if self.user_id else None,
            group=self.group if self.group_id else None,
            dashboard=self.dashboard if self.dashboard_id else None,
            tag_key=self.tag_key,
            exclude_pk=self.pk,
        )
        if problem:
            raise ValidationError({"tag_key": problem})


class S3Destination(models.Model):
    name = models.CharField(max_length=128, unique=True)
    bucket_name = models.CharField(max_length=63)
    bucket_prefix = models.CharField(max_length=1024, blank=True)
    region = models.CharField(max_length=32)
    allowed_groups = models.ManyToManyField(Group, blank=True, related_name="s3_destinations")

    class Meta:
        verbose_name = "S3 destination"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket_name or ""):
            errors["bucket_name"] = "An S3 bucket name has 3 to 63 lowercase letters, digits, '.' or '-'."
        # StartDashboardSnapshotJob requires a BucketPrefix with a non-space character.
        if not (self.bucket_prefix or "").strip():
            errors["bucket_prefix"] = "QuickSight needs a prefix with a visible character, e.g. snapshots/."
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", self.region or ""):
            errors["region"] = "Use an AWS region code, e.g. eu-west-1."
        if errors:
            raise ValidationError(errors)


class Export(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting"
        SUBMITTING = "SUBMITTING", "Submitting"
        QUEUED = "QUEUED", "Queued in QuickSight"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        # QuickSight's job completed but some of its files could not be produced (error_message says
        # which): a state of its own, so that lists, filters and the API never show it as a success.
        COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with errors"
        FAILED = "FAILED", "Failed"
        TIMED_OUT = "TIMED_OUT", "Timed out"
        CANCELLED = "CANCELLED", "Cancelled"

    TERMINAL = frozenset(
        {Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED, Status.TIMED_OUT, Status.CANCELLED}
    )
    # Ended with files to download (all of them, or some).
    WITH_FILES = frozenset({Status.COMPLETED, Status.COMPLETED_WITH_ERRORS})
    # Holding one of QuickSight's running-job slots for the account.
    IN_FLIGHT = frozenset({Status.SUBMITTING, Status.QUEUED, Status.RUNNING})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports")
    dashboard = models.ForeignKey(Dashboard, on_delete=models.PROTECT, related_name="exports")
    destination = models.ForeignKey(S3Destination, null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True)
    # What the user chose (for Re-run), and the exact StartDashboardSnapshotJob kwargs we send
    # (datetimes as ISO 8601). The request holds RLS tag values: show it only through redaction.
    spec = models.JSONField()
    request = models.JSONField()
    # The request's formats in its order, space-separated ("PDF CSV CSV"): what lists show and
    # filter on before any file exists, without reading into the request. No format's name is
    # part of another's, so `formats__contains` is exact.
    formats = models.CharField(max_length=64, blank=True, default="")
    aws_account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    snapshot_job_id = models.CharField(max_length=512, unique=True)
    job_arn = models.CharField(max_length=2048, blank=True)
    start_request_id = models.CharField(max_length=128, blank=True)
    aws_job_status = models.CharField(max_length=16, blank=True)
    # ResourceNotFoundException answers to DescribeDashboardSnapshotJob so far (just after Start).
    not_found_polls = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True, help_text="What the requester is told.")
    error_detail = models.TextField(blank=True, help_text="The raw AWS error, for admins and auditors.")
    # The AWS request id of the call that failed (or of the result with failed files): what the
    # requester quotes to support, with the export's id.
    error_request_id = models.CharField("AWS request id of the error", max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # QuickSight's own run time of the job (its LastUpdatedTime - CreatedTime at the end): what
    # exports/estimates.py learns from, free of how late the portal's poll noticed the end.
    run_seconds = models.FloatField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    # When the worker should next act on it; the reconciler re-enqueues what is overdue.
    next_action_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    # Made by a schedule's run (exports/schedules.py); the flag outlives a deleted schedule.
    schedule_run = models.ForeignKey(
        "ScheduleRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    is_scheduled = models.BooleanField(default=False)
    # The one-time token of the form that created it: a repeat of that submission (a double click)
    # finds this export instead of creating another. Empty for exports made without the form.
    submit_token = models.UUIDField(null=True, blank=True, editable=False)

    class EndNotice(models.IntegerChoices):
        """An export that ended while its requester was elsewhere: a notice on their next page, once, and
        a count on "My exports" until they look at it (exports/notices.py)."""

        NONE = 0, "seen"
        NEW = 1, "to announce"
        SHOWN = 2, "announced, not yet looked at"

    end_notice = models.PositiveSmallIntegerField(choices=EndNotice.choices, default=EndNotice.NONE)
    # What the history's search looks in, kept by the database (exports/search_text.py).
    search_text = models.GeneratedField(expression=SearchText(), output_field=models.TextField(), db_persist=True)

    class Meta:
        ordering = ["-created_at"]
        # The list pages' orders and filters (exports.history): newest first with pk as the tie-break,
        # for everyone's exports (history, admin) and for one user's (My exports); a partial index per
        # format so a format filter walks only that format's rows. The history's text search has a
        # trigram index of its own on search_text, PostgreSQL only (migration 0020).
        indexes = [
            models.Index(fields=["aws_account_id", "status", "created_at"], name="export_queue_idx"),
            # search_text included: a frequent word's matching ids (newest first, capped; they count
            # and page a search) are read from this index alone instead of the table's wide rows (six
            # to a page): the capped count 3.1-3.7 -> 1.4-1.9 ms at 100,000 exports.
            models.Index(fields=["-created_at", "-id"], name="export_newest_idx", include=["search_text"]),
            models.Index(fields=["user", "-created_at", "-id"], name="export_user_newest_idx"),
            models.Index(fields=["user", "status", "-created_at", "-id"], name="export_user_status_idx"),
            # My exports of one dashboard: the page and its capped count read only matching entries
            # (with the user's and the dashboard's own indexes ANDed, the count read 5,000 rows).
            models.Index(fields=["user", "dashboard", "-created_at", "-id"], name="export_user_dashboard_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="export_status_newest_idx"),
            *(
                models.Index(fields=[*lead, "-created_at", "-id"], condition=Q(formats__contains=fmt), name=name)
                for fmt in FORMAT_WORDS
                for lead, name in (([], f"export_{fmt.lower()}_idx"), (["user"], f"export_user_{fmt.lower()}_idx"))
            ),
            # exports/estimates.py: the latest run times of one dashboard and formats, read from the
            # index alone (run_seconds included): the bench's 55 keys, 20 runs each, 1.44 -> 0.89 ms.
            models.Index(
                fields=["dashboard", "formats", "-finished_at"],
                name="export_run_seconds_idx",
                condition=models.Q(status="COMPLETED", run_seconds__isnull=False),
                include=["run_seconds"],
            ),
            # Every page asks for the user's unseen ends: a small partial index keeps it one cheap lookup.
            models.Index(fields=["user"], condition=Q(end_notice__gt=0), name="export_unseen_end_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "submit_token"],
                name="export_unique_submit_token",
                violation_error_message="This form was already submitted: its export exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dashboard} by {self.user} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    # Row addresses through exports.links: the same as {% url %}, without a reverse() per row.
    @property
    def detail_url(self) -> str:
        return links.url("exports:detail", self.pk)

    @property
    def row_url(self) -> str:
        return links.url("exports:row", self.pk)

    @property
    def cancel_url(self) -> str:
        return links.url("exports:cancel", self.pk)

    @property
    def rerun_url(self) -> str:
        return f"{links.url('exports:new')}?dashboard={quote(self.dashboard.dashboard_id)}&rerun={self.pk}"


class ExportFile(models.Model):
    class Format(models.TextChoices):
        # Spelled as people write them: TextChoices' default labels would read "Pdf" and "Csv".
        PDF = "PDF", FORMAT_WORDS["PDF"]
        EXCEL = "EXCEL", FORMAT_WORDS["EXCEL"]
        CSV = "CSV", FORMAT_WORDS["CSV"]

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="files")
    index = models.PositiveSmallIntegerField(help_text="Position of its file group in the request.")
    # A file group's S3Results may hold several objects (exports/results.py): one row for each.
    part = models.PositiveSmallIntegerField(default=0, help_text="Position among its file group's S3 results.")
    parts = models.PositiveSmallIntegerField(default=1, help_text="How many S3 results its file group has.")
    format = models.CharField(max_length=8, choices=Format.choices)
    sheet_ids = models.JSONField(default=list)
    visual_ids = models.JSONField(default=list)
    # Server-side only: never rendered into HTML, logs or history.
    s3_uri = models.TextField(blank=True)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    # The name the user receives (exports/file_names.py), fixed when the result is stored.
    name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    archived_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)

    class Meta:
        ordering = ["export", "index", "part"]
        constraints = [
            models.UniqueConstraint(
                fields=["export", "index", "part"],
                name="file_unique_index_part",
                violation_error_message="This export already has this file.",
            )
        ]

    def __str__(self) -> str:
        name = f"{self.format} #{self.index + 1}"
        return f"{name}, part {self.part + 1} of {self.parts}" if self.parts > 1 else name

    @property
    def download_url(self) -> str:
        # A file group with one object keeps the short address (links in mails and bookmarks).
        if self.parts > 1:
            return links.url("exports:download_part", self.export_id, self.index, self.part)
        return links.url("exports:download", self.export_id, self.index)

    @property
    def is_ready(self) -> bool:
        return bool(self.s3_uri or self.archived_file) and not self.error_code


class AuditEvent(models.Model):
    """Append-only, hash-chained history. Written only by exports.audit.record()."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    # Plain columns, not constraints: a deleted user or export must not rewrite history.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    export = models.ForeignKey(
        Export, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # Which AUDIT_CHAIN_KEY signed this event (exports.audit.key_id), so keys can rotate; empty
    # only for events written before the chain was keyed (plain SHA-256, accepted as a prefix).
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["action", "-seq"], name="auditevent_action_seq_idx")]
        permissions = [("view_history", "Can browse the full export history (auditors)")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_username or 'system'}"


class AuditChainHead(models.Model):
    """One row: the last hash. Updating it first serializes writers on SQLite and PostgreSQL."""

    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain at #{self.seq}"


class WorkerHeartbeat(models.Model):
    """Written by every worker on a beat schedule, so the health page can say whether work gets done."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


# --- schedules (exports/schedules.py): recurring exports, one per recipient under their own identity ---


class Schedule(models.Model):
    class Kind(models.TextChoices):
        DAILY = "DAILY", "Every day"
        WEEKLY = "WEEKLY", "Weekly"
        MONTHLY = "MONTHLY", "Monthly"
        CRON = "CRON", "Cron expression"

    class Delivery(models.TextChoices):
        LINK = "LINK", "Email with a link to the export"
        ATTACH = "ATTACH", "Email with a link, and the files attached when they fit"
        S3 = "S3", "The spec's S3 destination"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedules")
    dashboard = models.ForeignKey(Dashboard, on_delete=models.PROTECT, related_name="schedules")
    # Exactly what build_snapshot_request and export_create take (exports.snapshot.parse_spec).
    spec = models.JSONField()
    # The recurrence (exports/recurrence.py): a preset at a local time, or a cron expression.
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at_time = models.TimeField(null=True, blank=True, help_text="Local time of a preset.")
    weekdays = models.JSONField(default=list, blank=True, help_text="Weekly: 0 = Monday ... 6 = Sunday.")
    month_day = models.SmallIntegerField(null=True, blank=True, help_text="Monthly: 1 to 28, or -1 for the last day.")
    cron = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Paris.")
    recipient_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="schedules_received")
    recipient_groups = models.ManyToManyField(Group, blank=True, related_name="schedules_received")
    owner_opted_out = models.BooleanField(default=False, help_text="The owner does not receive the export.")
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.LINK)
    is_paused = models.BooleanField(default=False)
    pause_reason = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The first occurrence not yet run; the beat tick looks only at schedules due by now.
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "created_at"]

    def __str__(self) -> str:
        return f"{self.dashboard} for {self.owner}"


class ScheduleOptOut(models.Model):
    """A recipient who no longer wants a schedule's export (as a user or through a group)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="opt_outs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "user"],
                name="schedule_opt_out_once",
                violation_error_message="This person already opted out of this schedule.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} opted out of {self.schedule}"


class ScheduleRun(models.Model):
    """One occurrence of a schedule. The unique (schedule, scheduled_for) row is the claim: it exists once."""

    class Status(models.TextChoices):
        MAKING = "MAKING", "Making exports"
        WAITING = "WAITING", "Waiting for the exports"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        BLOCKED = "BLOCKED", "Blocked: the schedule paused itself"

    ENDED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.BLOCKED})

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    scheduled_for = models.DateTimeField()
    claimed_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.MAKING)
    is_late = models.BooleanField(default=False, help_text="Ran after downtime, later than its time.")
    missed = models.PositiveIntegerField(default=0, help_text="Earlier occurrences skipped by this late run.")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-scheduled_for"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "scheduled_for"],
                name="schedule_run_once_per_occurrence",
                violation_error_message="This schedule already ran at this time.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule} at {self.scheduled_for:%Y-%m-%d %H:%M} UTC"


class ScheduleRunRecipient(models.Model):
    """What one recipient got from a run: their own export, or the reason they were skipped."""

    run = models.ForeignKey(ScheduleRun, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    export = models.OneToOneField(
        Export, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule_recipient"
    )
    skip_code = models.CharField(max_length=32, blank=True)
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "user"],
                name="schedule_run_recipient_once",
                violation_error_message="This run already has this recipient.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {'export ' + str(self.export_id) if self.export_id else self.skip_reason}"


class ApiToken(models.Model):
    """A personal access token for the JSON API. Only a SHA-256 of the secret is kept: the token is
    shown once, at creation; `prefix` (not secret) finds the row and tells tokens apart in lists."""

    SCOPES = ("exports:read", "exports:write", "schedules")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The last request that wrote an `api.used` event: reads are audited at most once a minute per token.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"


def tag_limit_problem(
    *, user=None, group=None, dashboard: Dashboard | None = None, tag_key: str, exclude_pk: int | None = None
) -> str | None:
    """Would one more mapping (subject, key, scope) give someone more than MAX_RLS_TAGS tags on a dashboard?

    The identity QuickSight receives is one list of at most 50 session tags, so the limit holds
    per user and dashboard, across the user's own mappings and all their groups'.
    """
    User = get_user_model()
    memberships = User.groups.through.objects
    if user is not None:
        users = [user.pk]
    else:
        users = list(memberships.filter(group_id=group.pk).values_list("user_id", flat=True))
    groups_of: dict[int | None, set[int]] = {pk: set() for pk in users}
    for user_id, group_id in memberships.filter(user_id__in=users).values_list("user_id", "group_id"):
        groups_of[user_id].add(group_id)
    if group is not None:
        for user_groups in groups_of.values():
            user_groups.add(group.pk)
        if not users:
            groups_of[None] = {group.pk}  # no member yet: the group's own tags must fit too

    all_groups = set().union(*groups_of.values()) if groups_of else set()
    rows = (
        RlsTagMapping.objects.filter(Q(user_id__in=users) | Q(group_id__in=all_groups))
        .exclude(pk=exclude_pk)
        .values_list("user_id", "group_id", "dashboard_id", "tag_key")
    )
    rows = list(rows)
    scope = dashboard.pk if dashboard is not None else None
    for subject_pk, subject_groups in groups_of.items():
        keys_by_scope: dict[int | None, set[str]] = {None: set()}
        for row_user, row_group, row_dashboard, key in rows:
            if (row_user is not None and row_user == subject_pk) or row_group in subject_groups:
                keys_by_scope.setdefault(row_dashboard, set()).add(key)
        scopes = [scope] if scope is not None else list(keys_by_scope)
        for dashboard_pk in scopes:
            keys = keys_by_scope[None] | keys_by_scope.get(dashboard_pk, set()) | {tag_key}
            if len(keys) > MAX_RLS_TAGS:
                who = User.objects.get(pk=subject_pk).get_username() if subject_pk else f"group {group}"
                where = Dashboard.objects.get(pk=dashboard_pk).name if dashboard_pk else "every dashboard"
                return (
                    f"{who} would have {len(keys)} row-level security tags for {where}; "
                    f"QuickSight accepts at most {MAX_RLS_TAGS} per identity."
                )
    return None


class UserPreference(models.Model):
    """What one person chose for the portal's pages; blank time_zone: their browser's zone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. Europe/Paris.")

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'browser time zone'}"
