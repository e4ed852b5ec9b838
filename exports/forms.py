"""The export form's state: POSTed fields <-> an ExportSpec, the buttons' actions, and what the template shows;
the schedule form; the filters of My exports and the history.

Everything the user chose travels in the form's own fields; RLS tags never do: the request is
always rebuilt on the server by exports.snapshot.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from django import forms
from django.db import connections
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.utils.safestring import SafeString

from exports.history import SEARCH_MIN_LENGTH, sql_before
from exports.markup import escaped, format_safe
from exports.models import Dashboard, Export, ExportFile
from exports.recurrence import LAST_DAY, Recurrence, RecurrenceInvalid
from exports.recurrence import build as build_recurrence
from exports.snapshot import (
    Catalog,
    CatalogSheet,
    CatalogVisual,
    ExportSpec,
    FileSpec,
    Problem,
    excel_order,
    parse_value,
)
from exports.snapshot_rules import FORMAT_CAPS, FORMAT_NAMES, FORMATS, MAX_FILE_GROUPS

# More than the API's cap so that a no-JS POST over the cap still shows the rule it breaks.
MAX_FORM_FILES = 12
INPUT_TYPES = {"DATETIME": "datetime-local", "INTEGER": "number", "DECIMAL": "number", "STRING": "text"}
STEPS = {"INTEGER": "1", "DECIMAL": "any"}


def parameter_field(name: str) -> str:
    return f"param-{name}"


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def submit_token(post: QueryDict) -> uuid.UUID:
    """The form's one-time submission token: the one it carries, or a new one for a new form."""
    try:
        return uuid.UUID(post.get("submit_token", ""))
    except ValueError:
        return uuid.uuid4()


def spec_from_post(post: QueryDict, catalog: Catalog) -> ExportSpec:
    files = []
    for i in range(MAX_FORM_FILES):
        fmt = post.get(f"files-{i}-format")
        if fmt == "PDF":
            files.append(FileSpec("PDF", sheet=post.get(f"files-{i}-sheet", "")))
        elif fmt == "CSV":
            visual = post.get(f"files-{i}-visual", "")
            files.append(FileSpec("CSV", visuals=(visual,) if visual else ()))
        elif fmt == "EXCEL":
            checked = _unique(post.getlist(f"files-{i}-visuals"))
            previous = _unique(post.getlist(f"files-{i}-order"))
            # Keep the order the user arranged; newly ticked visuals go to the end.
            ordered = [v for v in previous if v in checked] + [v for v in checked if v not in previous]
            files.append(FileSpec("EXCEL", visuals=tuple(excel_order(ordered, catalog))))
        else:
            break
    parameters = {}
    for parameter in catalog.parameters:
        values = [v.strip() for v in post.getlist(parameter_field(parameter.name)) if v.strip()]
        if values:
            parameters[parameter.name] = tuple(values)
    return ExportSpec(
        dashboard=catalog.dashboard.dashboard_id,
        files=tuple(files),
        parameters=parameters,
        destination=post.get("destination", ""),
    )


def apply_action(spec: ExportSpec, action: str, catalog: Catalog) -> ExportSpec:
    """add:<FORMAT>, remove:<i>, up:<i>:<position>, down:<i>:<position>; anything else changes nothing."""
    kind, _, rest = action.partition(":")
    files = list(spec.files)
    if kind == "add" and rest in FORMATS and len(files) < MAX_FORM_FILES:
        files.append(_new_file(rest, spec, catalog))
    elif kind == "remove" and rest.isdigit() and int(rest) < len(files):
        del files[int(rest)]
    elif kind in ("up", "down"):
        index, _, position = rest.partition(":")
        if index.isdigit() and position.isdigit() and int(index) < len(files):
            file = files[int(index)]
            moved = move_visual(list(file.visuals), int(position), -1 if kind == "up" else 1, catalog)
            files[int(index)] = replace(file, visuals=tuple(moved))
    return replace(spec, files=tuple(files))


def _new_file(fmt: str, spec: ExportSpec, catalog: Catalog) -> FileSpec:
    """A new file with a sensible first choice, so that a PDF or CSV is often one click."""
    if fmt == "PDF":
        return FileSpec("PDF", sheet=catalog.sheets[0].sheet_id if catalog.sheets else "")
    if fmt == "CSV":
        taken = {v for f in spec.files if f.format == "CSV" for v in f.visuals}
        tabular = [v for s in catalog.sheets for v in s.visuals if v.is_tabular and v.visual_id not in taken]
        return FileSpec("CSV", visuals=(tabular[0].visual_id,) if tabular else ())
    return FileSpec("EXCEL")


def move_visual(order: list[str], position: int, delta: int, catalog: Catalog) -> list[str]:
    """Move one worksheet up or down. Visuals of one sheet stay together (one sheet selection each),
    so at the edge of its sheet's block a visual moves its whole block past the neighbouring one."""
    if not 0 <= position < len(order):
        return order
    blocks: list[list[str]] = []
    for visual_id in order:
        visual = catalog.visual(visual_id)
        sheet = visual.sheet_id if visual else visual_id
        if blocks and _sheet(blocks[-1][0], catalog) == sheet:
            blocks[-1].append(visual_id)
        else:
            blocks.append([visual_id])
    b, offset = 0, position
    while offset >= len(blocks[b]):
        offset -= len(blocks[b])
        b += 1
    block = blocks[b]
    if 0 <= offset + delta < len(block):
        block[offset], block[offset + delta] = block[offset + delta], block[offset]
    elif 0 <= b + delta < len(blocks):
        blocks[b], blocks[b + delta] = blocks[b + delta], blocks[b]
    return [v for blk in blocks for v in blk]


def _sheet(visual_id: str, catalog: Catalog) -> str:
    visual = catalog.visual(visual_id)
    return visual.sheet_id if visual else visual_id


# --- which fields the user has touched: only theirs show errors before Check or Create ---

_TOUCHABLE = re.compile(r"files\[(\d{1,2})\]|parameters\.[^\x00]{1,256}|destination")


def touched_from_post(post: QueryDict, action: str = "") -> set[str]:
    """The fields (problem paths: "files[1]", "parameters.Country", "destination") the user changed so
    far, as the form carries them, moved along with a removed file's neighbours."""
    touched = {name for name in post.getlist("touched") if _TOUCHABLE.fullmatch(name)}
    kind, _, rest = action.partition(":")
    index = rest.partition(":")[0]
    if kind == "remove" and index.isdigit():
        gone = int(index)
        moved = set()
        for name in touched:
            match = re.fullmatch(r"files\[(\d+)\]", name)
            if match is None:
                moved.add(name)
            elif int(match[1]) != gone:
                n = int(match[1])
                moved.add(f"files[{n - 1 if n > gone else n}]")
        touched = moved
    elif kind in ("up", "down") and index.isdigit():
        touched.add(f"files[{index}]")
    return touched


def every_field(spec: ExportSpec, catalog: Catalog) -> set[str]:
    """What Check and Create touch: every field the form has now."""
    files = {f"files[{i}]" for i in range(len(spec.files))}
    return files | {f"parameters.{p.name}" for p in catalog.parameters} | {"destination"}


def touched_problems(problems: list[Problem], touched: set[str]) -> list[Problem]:
    """The problems of touched fields, and the identity's (no field to touch: it always shows)."""
    shown = []
    for problem in problems:
        owner = re.match(r"files\[\d+\]|parameters\..+|destination", problem.field)
        if problem.field == "identity" or (owner and owner[0] in touched):
            shown.append(problem)
    return shown


# --- what the template shows ---


@dataclass
class AddButton:
    format: str
    label: str
    reason: str = ""  # why it is disabled; empty when enabled


def add_buttons(spec: ExportSpec) -> list[AddButton]:
    counts = {fmt: sum(1 for f in spec.files if f.format == fmt) for fmt in FORMATS}
    reasons = {
        "PDF": "An export holds one PDF, and this one has it.",
        "EXCEL": "An export holds one Excel workbook, and this one has it.",
        "CSV": f"An export holds at most {FORMAT_CAPS['CSV']} CSV files, and this one has {FORMAT_CAPS['CSV']}.",
    }
    buttons = []
    for fmt in FORMATS:
        reason = ""
        if len(spec.files) >= MAX_FILE_GROUPS:
            reason = f"An export holds at most {MAX_FILE_GROUPS} files, and this one has {MAX_FILE_GROUPS}."
        elif counts[fmt] >= FORMAT_CAPS[fmt]:
            reason = reasons[fmt]
        buttons.append(AddButton(fmt, FORMAT_NAMES[fmt], reason))
    return buttons


@dataclass
class VisualChoice:
    visual: CatalogVisual
    chosen: bool
    reason: str = ""  # why it cannot be chosen


@dataclass
class SheetChoices:
    sheet: CatalogSheet
    visuals: list[VisualChoice]


@dataclass
class FileRow:
    index: int
    format: str
    label: str
    sheet: str
    visuals: list[str]
    sheet_choices: list[SheetChoices]
    ordered: list[CatalogVisual | str]
    errors: list[Problem] = field(default_factory=list)
    touched: bool = False


def _choices(catalog: Catalog, chosen: list[str]) -> list[SheetChoices]:
    return [
        SheetChoices(
            sheet,
            [
                VisualChoice(
                    v,
                    v.visual_id in chosen,
                    "" if v.is_tabular else f"a {v.kind}: CSV and Excel export only tables and pivot tables",
                )
                for v in sheet.visuals
            ],
        )
        for sheet in catalog.sheets
    ]


def file_rows(
    spec: ExportSpec, catalog: Catalog, problems: list[Problem], touched: set[str] = frozenset()
) -> list[FileRow]:
    rows = []
    for i, file in enumerate(spec.files):
        prefix = f"files[{i}]"
        rows.append(
            FileRow(
                index=i,
                format=file.format,
                label=FORMAT_NAMES[file.format],
                sheet=file.sheet,
                visuals=list(file.visuals),
                sheet_choices=_choices(catalog, list(file.visuals)) if file.format != "PDF" else [],
                ordered=[catalog.visual(v) or v for v in file.visuals],
                errors=[p for p in problems if p.field == prefix or p.field.startswith(f"{prefix}.")],
                touched=prefix in touched,
            )
        )
    return rows


@dataclass
class ParameterRow:
    index: int
    name: str
    field_name: str
    type_label: str
    input_type: str
    step: str
    multi_valued: bool
    values: list[str]
    errors: list[Problem]
    touched: bool = False


def _display_value(param_type: str, text: str) -> str:
    """datetime-local inputs want 2026-01-31T09:00: show stored ISO values that way."""
    if param_type != "DATETIME":
        return text
    try:
        value: datetime = parse_value("DATETIME", text)
    except ValueError:
        return text
    return value.strftime("%Y-%m-%dT%H:%M")


def parameter_rows(
    spec: ExportSpec, catalog: Catalog, problems: list[Problem], touched: set[str] = frozenset()
) -> list[ParameterRow]:
    rows = []
    for k, parameter in enumerate(catalog.parameters):
        values = [_display_value(parameter.param_type, v) for v in spec.parameters.get(parameter.name, ())]
        if parameter.multi_valued or not values:
            values.append("")  # one empty input for the next value
        rows.append(
            ParameterRow(
                index=k,
                name=parameter.name,
                field_name=parameter_field(parameter.name),
                type_label=parameter.get_param_type_display().lower(),
                input_type=INPUT_TYPES[parameter.param_type],
                step=STEPS.get(parameter.param_type, ""),
                multi_valued=parameter.multi_valued,
                values=values,
                errors=[p for p in problems if p.field == f"parameters.{parameter.name}"],
                touched=f"parameters.{parameter.name}" in touched,
            )
        )
    return rows


def errors_for(problems: list[Problem], *names: str) -> list[Problem]:
    return [p for p in problems if p.field in names]


def unplaced(problems: list[Problem]) -> list[Problem]:
    """Problems that belong to no single field (the identity, botocore's own findings)."""
    return [p for p in problems if p.field in ("identity", "request", "dashboard", "parameters")]


# --- the schedule form (templates/exports/schedule_form.html): fields as typed; the rules are
# exports.recurrence's and exports.schedules', never repeated here ---

SCHEDULE_KINDS = (
    ("DAILY", "Every day"),
    ("WEEKLY", "On chosen weekdays"),
    ("MONTHLY", "On a day of the month"),
    ("CRON", "A cron expression"),
)
WEEKDAY_CHOICES = tuple(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
# Where each problem's field is shown: the form's error lists, by the field the user touches.
SCHEDULE_ERROR_PLACES = {
    "kind": ("kind", "recurrence", "every"),
    "time": ("time",),
    "weekdays": ("weekdays",),
    "month_day": ("month_day",),
    "cron": ("cron",),
    "timezone": ("timezone",),
    "recipients": ("recipients",),
    "delivery": ("delivery",),
}
# Touching one of these fields shows the errors of these places (the recurrence is read as a whole).
SCHEDULE_TOUCHES = {
    "kind": ("kind", "time", "weekdays", "month_day", "cron"),
    "time": ("time", "kind"),
    "weekdays": ("weekdays", "kind"),
    "month_day": ("month_day", "kind"),
    "cron": ("cron",),
    "timezone": ("timezone",),
    "recipients": ("recipients",),
    "receive_myself": ("recipients",),
    "delivery": ("delivery",),
}


@dataclass
class ScheduleForm:
    kind: str = "WEEKLY"
    time: str = "07:00"
    weekdays: list[int] = field(default_factory=lambda: [0])
    month_day: str = "1"
    cron: str = ""
    timezone: str = ""
    recipients: str = ""
    receive_myself: bool = True
    delivery: str = "LINK"
    touched: set[str] = field(default_factory=set)

    @classmethod
    def from_post(cls, post: QueryDict, *, default_timezone: str, trigger: str = "") -> ScheduleForm:
        weekdays = []
        for value in post.getlist("weekdays"):
            # A value no checkbox sends stays, so the weekday rule names it.
            weekdays.append(int(value) if value.isdigit() else -1)
        touched = {name for name in post.getlist("touched") if name in SCHEDULE_ERROR_PLACES}
        touched |= set(SCHEDULE_TOUCHES.get(trigger, ()))
        return cls(
            kind=post.get("kind", "").upper(),
            time=post.get("time", "").strip(),
            weekdays=weekdays,
            month_day=post.get("month_day", "").strip().lower(),
            cron=post.get("cron", "").strip(),
            timezone=post.get("timezone", "").strip() or default_timezone,
            recipients=post.get("recipients", "").strip(),
            receive_myself=post.get("receive_myself") == "on",
            delivery=post.get("delivery", "").upper(),
            touched=touched,
        )

    @classmethod
    def from_schedule(cls, schedule) -> ScheduleForm:
        users = sorted(schedule.recipient_users.values_list("username", flat=True))
        groups = sorted(f"group:{name}" for name in schedule.recipient_groups.values_list("name", flat=True))
        month_day = schedule.month_day
        return cls(
            kind=schedule.kind,
            time=f"{schedule.at_time:%H:%M}" if schedule.at_time else "07:00",
            weekdays=list(schedule.weekdays or []),
            month_day="last" if month_day == LAST_DAY else str(month_day or 1),
            cron=schedule.cron,
            timezone=schedule.timezone,
            recipients=", ".join(users + groups),
            receive_myself=not schedule.owner_opted_out,
            delivery=schedule.delivery,
        )

    def recurrence(self) -> tuple[Recurrence | None, list]:
        """The checked recurrence, or None and every problem with it (exports.recurrence's rules)."""
        month_day = LAST_DAY if self.month_day == "last" else int(self.month_day) if self.month_day.isdigit() else 0
        try:
            rec = build_recurrence(
                kind=self.kind,
                timezone=self.timezone,
                at_time=self.time,
                weekdays=self.weekdays,
                month_day=month_day,
                cron=self.cron,
            )
        except RecurrenceInvalid as invalid:
            return None, invalid.problems
        return rec, []

    def recipient_names(self) -> tuple[list[str], list]:
        """The names typed, and a problem for each that no user or group could have (never looked up:
        PostgreSQL refuses NUL in a query)."""
        names, problems = [], []
        for name in (n.strip() for n in self.recipients.replace(";", ",").split(",")):
            if not name:
                continue
            if "\x00" in name or len(name) > 150 + len("group:"):
                problems.append(
                    SchedulePageProblem("recipients", "recipient-exists", f"no user or group {name[:40]!r}")
                )
            else:
                names.append(name)
        return names, problems

    def shown(self, problems: list, *, all_fields: bool) -> dict[str, list]:
        """The problems to show, by place: those of touched fields, or all after the button was pressed.
        Problems of no field of this form (the spec's, the limits') go to "general" and always show."""
        places: dict[str, list] = {place: [] for place in (*SCHEDULE_ERROR_PLACES, "general")}
        for problem in problems:
            place = next((p for p, fields in SCHEDULE_ERROR_PLACES.items() if problem.field in fields), "general")
            if all_fields or place == "general" or place in self.touched:
                label = SCHEDULE_FIELD_LABELS.get(problem.field, problem.field)
                places[place].append(ShownProblem(label, problem.message, problem.rule))
        return places


SCHEDULE_FIELD_LABELS = {
    "kind": "Repeat",
    "recurrence": "Repeat",
    "every": "Repeat",
    "time": "Time",
    "weekdays": "Weekdays",
    "month_day": "Day of the month",
    "cron": "Cron expression",
    "timezone": "Time zone",
    "recipients": "Recipients",
    "delivery": "Delivery",
    "schedules": "Schedules",
}


@dataclass(frozen=True)
class ShownProblem:
    """A problem as the form shows it: the field's label, the words, the rule's name."""

    label: str
    message: str
    rule: str


@dataclass(frozen=True)
class SchedulePageProblem:
    field: str
    rule: str
    message: str


# --- filters of My exports and the history (the selectors: exports.history.apply_filters) ---


def _attrs(attrs: dict) -> SafeString:
    """Django's widgets/attrs.html: ` name="value"`, a bare ` name` for True, nothing for False."""
    return SafeString(
        "".join(
            f" {escaped(k)}" if v is True else f' {escaped(k)}="{escaped(v)}"'
            for k, v in attrs.items()
            if v is not False
        )
    )


class QuickSelect(forms.Select):
    """Django's select markup, byte for byte (tests/test_list_pages.py compares), built without its
    templates: they render an include per option, and the filter forms show about 40 options."""

    def _render(self, template_name, context, renderer=None):
        widget = context["widget"]
        options = "".join(
            format_safe(
                '\n  <option value="{}"{}>{}</option>\n', option["value"], _attrs(option["attrs"]), option["label"]
            )
            for _, group, _ in widget["optgroups"]
            for option in group
        )
        return format_safe(
            '<select name="{}"{}>{}\n</select>', widget["name"], _attrs(widget["attrs"]), SafeString(options)
        )


class QuickInput:
    """The same for <input> (Django's widgets/input.html)."""

    def _render(self, template_name, context, renderer=None):
        widget = context["widget"]
        value = format_safe(' value="{}"', widget["value"]) if widget["value"] is not None else ""
        return format_safe(
            '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], value, _attrs(widget["attrs"])
        )


class QuickTextInput(QuickInput, forms.TextInput):
    pass


class QuickDateInput(QuickInput, forms.DateInput):
    pass


# Filter values nobody could pick from the lists (an edited or stale address): the rule in words.
NOT_LISTED = {
    "status": {"invalid_choice": "Choose one of the listed statuses; “%(value)s” is not one."},
    "format": {"invalid_choice": "Choose PDF, Excel or CSV; “%(value)s” is not one of them."},
    "dashboard": {"invalid_choice": "Choose one of the listed dashboards; “%(value)s” is not one of them."},
}


def status_filter() -> forms.ChoiceField:
    choices = [("", "Any status"), *Export.Status.choices]
    return forms.ChoiceField(required=False, choices=choices, widget=QuickSelect, error_messages=NOT_LISTED["status"])


def format_filter() -> forms.ChoiceField:
    choices = [("", "Any format"), *ExportFile.Format.choices]
    return forms.ChoiceField(required=False, choices=choices, widget=QuickSelect, error_messages=NOT_LISTED["format"])


def dashboards_exported_by(user_id: int | None) -> QuerySet[Dashboard]:
    # EXISTS per dashboard (a few), not a join through all of the user's exports (50,000 at scale).
    return Dashboard.objects.filter(Exists(Export.objects.filter(user_id=user_id, dashboard=OuterRef("pk"))))


STAND_IN_USER_ID = 987651  # a user's listing is compiled for it: a number no other parameter of it is


@lru_cache(maxsize=8)
def _listing_sql(listing) -> tuple[str, list]:
    """The SQL of the (pk, name, QuickSight id) rows by name of every dashboard (listing None) or of
    listing(a user's id), compiled once, and its parameters before the user's id. Building the
    queryset (Exists, OuterRef) and compiling it on each page, then reading through the ORM, cost My
    exports 0.5 to 1.6 ms a page and the history 0.6 to 1.0 ms (BENCHMARKS.md, "List pages")."""
    dashboards, stand_ins = (
        (Dashboard.objects.all(), []) if listing is None else (listing(STAND_IN_USER_ID), [STAND_IN_USER_ID])
    )
    return sql_before(dashboards.order_by("name").values_list("pk", "name", "dashboard_id"), stand_ins)


class ListedDashboardField(forms.ModelChoiceField):
    """A dashboard filter whose options are read once a request, as (pk, name, QuickSight id) rows, for
    the widget and for validation alike. The stock field renders through queryset.iterator() (on
    PostgreSQL a server-side cursor: DECLARE, FETCH, CLOSE; a model instance per option) and checks
    the chosen pk with queryset.get(): one more query on every page filtered by dashboard.

    Every dashboard is offered, or with `listing` those of listing(user_id), the form setting
    `user_id` (My exports: the user's own); read with SQL compiled once (_listing_sql)."""

    def __init__(self, *, listing=None, **kwargs):
        self.listing, self.user_id = listing, None
        super().__init__(queryset=Dashboard.objects.all(), **kwargs)

    def _set_queryset(self, queryset):
        self._queryset, self._listed = (None if queryset is None else queryset.all()), None
        self.choices = self._options  # a callable: read when the widget renders, not before

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def _rows(self) -> dict:
        if self._listed is None:
            sql, fixed = _listing_sql(self.listing)
            with connections[self.queryset.db].cursor() as cursor:
                cursor.execute(sql, fixed if self.listing is None else [*fixed, self.user_id])
                self._listed = {pk: (name, dashboard_id) for pk, name, dashboard_id in cursor.fetchall()}
        return self._listed

    def _options(self) -> list[tuple]:
        return [("", self.empty_label), *((pk, name) for pk, (name, _) in self._rows().items())]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        try:
            pk = Dashboard._meta.pk.to_python(value)
        except forms.ValidationError:
            pk = None
        if pk not in self._rows():
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        # A Dashboard as queryset.get() would give it, with the columns the filters use (the pk for
        # the query, the QuickSight id for a history export's audit record); the rest deferred.
        name, dashboard_id = self._rows()[pk]
        row = {"id": pk, "name": name, "dashboard_id": dashboard_id}
        names = [f.attname for f in Dashboard._meta.concrete_fields if f.attname in row]
        return Dashboard.from_db(self.queryset.db, names, [row[name] for name in names])


class MyExportsFilter(forms.Form):
    status = status_filter()
    dashboard = ListedDashboardField(
        required=False,
        listing=dashboards_exported_by,
        empty_label="Any dashboard",
        widget=QuickSelect,
        error_messages=NOT_LISTED["dashboard"],
    )
    format = format_filter()

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dashboard"].user_id = None if user is None else user.pk


# One day short of date's own range: a day's start and end in any time zone stay representable
# (date.max + 1 day, or year 1 at +01:00 in UTC, raise OverflowError).
FIRST_FILTER_DAY, LAST_FILTER_DAY = date.min + timedelta(days=1), date.max - timedelta(days=1)


class DayField(forms.DateField):
    default_error_messages = {"invalid": "Give a date as YYYY-MM-DD (a real day of the calendar)."}

    def validate(self, value):
        super().validate(value)
        if value and not FIRST_FILTER_DAY <= value <= LAST_FILTER_DAY:
            raise forms.ValidationError(f"Give a date from {FIRST_FILTER_DAY} to {LAST_FILTER_DAY}.", code="date-range")


class HistoryFilter(forms.Form):
    user = forms.CharField(required=False, label="User", help_text="Username", widget=QuickTextInput)
    dashboard = ListedDashboardField(
        required=False,
        empty_label="Any dashboard",
        widget=QuickSelect,
        error_messages=NOT_LISTED["dashboard"],
    )
    status = status_filter()
    format = format_filter()
    date_from = DayField(required=False, label="From", widget=QuickDateInput(attrs={"type": "date"}))
    date_to = DayField(required=False, label="To", widget=QuickDateInput(attrs={"type": "date"}))
    q = forms.CharField(
        widget=QuickTextInput,
        required=False,
        label="Search",
        min_length=SEARCH_MIN_LENGTH,
        max_length=200,
        help_text="Job id, request id, ARN, error, dashboard, user, RLS tag value",
        error_messages={
            "min_length": "Give at least %(limit_value)d characters (this has %(show_value)d).",
            "max_length": "Give at most %(limit_value)d characters (this has %(show_value)d).",
        },
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "To must be on or after From.")
        return data
