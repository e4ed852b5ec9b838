"""The request builder: a user's export spec + the database -> the exact StartDashboardSnapshotJob kwargs.

Nothing in a spec sets the account, region, job id or RLS tags: those come from the dashboard row,
the Export's UUID and the user's server-side mappings. The API's rules live in snapshot_rules;
this module resolves the spec against the catalog, runs those rules, then botocore's own
validation, and words every problem for the person who caused it.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from django.core.exceptions import ValidationError

from exports import access, snapshot_rules
from exports.models import Dashboard, DashboardParameter, S3Destination, Visual
from exports.results import RequestedFile, group_files
from exports.rls import RlsIdentity, effective_identity, export_blocker
from exports.snapshot_rules import FORMATS, DashboardCatalog, ParameterDeclaration, Violation
from exports.validators import text_fault

SPEC_KEYS = ("dashboard", "files", "parameters", "destination")
FILE_KEYS = {"PDF": ("format", "sheet"), "EXCEL": ("format", "visuals"), "CSV": ("format", "visual")}
MASK = "•••"
INT64 = (-(2**63), 2**63 - 1)

# Keys people try to smuggle in, normalised (lower case, no '_' or '-'): each gets its own refusal.
_SERVER_SIDE = {
    "tags": "RLS tags come only from the administrators' mappings for your user",
    "rowlevelpermissiontags": "RLS tags come only from the administrators' mappings for your user",
    "rlstags": "RLS tags come only from the administrators' mappings for your user",
    "userconfiguration": "RLS tags come only from the administrators' mappings for your user",
    "account": "the AWS account is the dashboard's own",
    "awsaccountid": "the AWS account is the dashboard's own",
    "accountid": "the AWS account is the dashboard's own",
    "region": "the region is the dashboard's own",
    "jobid": "the job id is derived from the export's id",
    "snapshotjobid": "the job id is derived from the export's id",
}


@dataclass(frozen=True)
class Problem:
    """One reason a request cannot be sent: the spec field it concerns, the rule, plain words."""

    field: str  # spec path: "dashboard", "files", "files[2].visual", "parameters.Region", "destination", ...
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class SnapshotRequestInvalid(ValidationError):
    """Carries every problem; .messages gives them as text, .problems as Problem objects."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__([str(problem) for problem in self.problems])


# --- the spec ---


@dataclass(frozen=True)
class FileSpec:
    format: str
    sheet: str = ""  # PDF
    visuals: tuple[str, ...] = ()  # EXCEL (in the user's order) or CSV (one)

    def as_json(self) -> dict[str, Any]:
        if self.format == "PDF":
            return {"format": "PDF", "sheet": self.sheet}
        if self.format == "CSV":
            return {"format": "CSV", "visual": self.visuals[0] if self.visuals else ""}
        return {"format": "EXCEL", "visuals": list(self.visuals)}


@dataclass(frozen=True)
class ExportSpec:
    dashboard: str
    files: tuple[FileSpec, ...] = ()
    parameters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    destination: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dashboard": self.dashboard, "files": [f.as_json() for f in self.files]}
        if self.parameters:
            data["parameters"] = {name: list(values) for name, values in self.parameters.items()}
        if self.destination:
            data["destination"] = self.destination
        return data


def _refuse_keys(data: Mapping, allowed: tuple[str, ...], where: str) -> list[Problem]:
    problems = []
    for key in data:
        if key in allowed:
            continue
        path = f"{where}.{key}" if where else str(key)
        reason = _SERVER_SIDE.get(re.sub(r"[-_\s]", "", str(key)).lower())
        if reason:
            problems.append(Problem(path, "server-side-only", f"{key!r} cannot be set in a spec: {reason}"))
        else:
            problems.append(
                Problem(path, "unknown-key", f"unknown key {key!r}; {where or 'a spec'} takes {', '.join(allowed)}")
            )
    return problems


def _value_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value if isinstance(value, str) else repr(value)


# A spec is three levels deep ({"files": [{"visuals": [...]}]}); anything far deeper is not a spec,
# and json.loads would hit Python's recursion limit on it.
MAX_SPEC_DEPTH = 16
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def load_spec(raw: bytes | str) -> Any:
    """A spec file's content -> JSON data; SnapshotRequestInvalid when not UTF-8, not JSON or nested too deeply."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        problem = Problem("spec", "spec-json", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        raise SnapshotRequestInvalid([problem]) from None
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_SPEC_DEPTH:
        raise SnapshotRequestInvalid([_too_deep()])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotRequestInvalid([Problem("spec", "spec-json", f"not valid JSON ({exc})")]) from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise SnapshotRequestInvalid([Problem("spec", "spec-json", "a number is too long to read")]) from None


def _too_deep() -> Problem:
    return Problem("spec", "spec-depth", f"nested deeper than {MAX_SPEC_DEPTH} levels of lists and objects")


def _text_problems(data: Any) -> list[Problem]:
    """Every key and text value that is not storable text (validators.text_fault), by spec path.

    Walks without recursion and stops at MAX_SPEC_DEPTH, so no input can exhaust the stack.
    """
    problems = []
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_SPEC_DEPTH:
            return [_too_deep()]
        if isinstance(value, str):
            fault = text_fault(value)
            if fault:
                problems.append(Problem(path or "spec", fault[0], f"the text {fault[1]}"))
        elif isinstance(value, Mapping):
            for key, item in reversed(list(value.items())):
                key_fault = text_fault(key) if isinstance(key, str) else None
                if key_fault:
                    problems.append(Problem(path or "spec", key_fault[0], f"a key {key_fault[1]}"))
                else:
                    stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, list):
            stack += [(item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(value)))]
    return problems


def parse_spec(data: Any) -> ExportSpec:
    """Check the shape of a spec (keys and JSON types only); raise SnapshotRequestInvalid with every problem."""
    if not isinstance(data, Mapping):
        raise SnapshotRequestInvalid([Problem("spec", "spec-object", "a spec is a JSON object")])
    # First, alone: nothing below may look text up in the database or echo it back.
    problems = _text_problems(data)
    if problems:
        raise SnapshotRequestInvalid(problems)
    problems = _refuse_keys(data, SPEC_KEYS, "")
    dashboard = data.get("dashboard")
    if not isinstance(dashboard, str) or not dashboard:
        problems.append(Problem("dashboard", "dashboard-required", "name the dashboard by its DashboardId"))
    files: list[FileSpec] = []
    raw_files = data.get("files", [])
    if not isinstance(raw_files, list):
        problems.append(Problem("files", "files-list", "files is a list of {format, ...} objects"))
        raw_files = []
    for i, raw in enumerate(raw_files):
        where = f"files[{i}]"
        fmt = raw.get("format") if isinstance(raw, Mapping) else None
        if fmt not in FORMATS:
            problems.append(Problem(f"{where}.format", "format-type", "format must be PDF, EXCEL or CSV"))
            continue
        problems += _refuse_keys(raw, FILE_KEYS[fmt], where)
        if fmt == "PDF":
            sheet = raw.get("sheet", "")
            if not isinstance(sheet, str):
                problems.append(Problem(f"{where}.sheet", "sheet-id", "sheet is a SheetId (text)"))
                sheet = ""
            files.append(FileSpec("PDF", sheet=sheet))
        elif fmt == "CSV":
            visual = raw.get("visual", "")
            if not isinstance(visual, str):
                problems.append(Problem(f"{where}.visual", "visual-id", "visual is a VisualId (text)"))
                visual = ""
            files.append(FileSpec("CSV", visuals=(visual,) if visual else ()))
        else:
            visuals = raw.get("visuals", [])
            if not isinstance(visuals, list) or not all(isinstance(v, str) for v in visuals):
                problems.append(Problem(f"{where}.visuals", "visual-ids", "visuals is a list of VisualIds (text)"))
                visuals = []
            files.append(FileSpec("EXCEL", visuals=tuple(visuals)))
    parameters: dict[str, tuple[str, ...]] = {}
    raw_parameters = data.get("parameters") or {}
    if not isinstance(raw_parameters, Mapping):
        problems.append(Problem("parameters", "parameters-object", "parameters maps each name to a list of values"))
        raw_parameters = {}
    for name, values in raw_parameters.items():
        texts = [_value_text(v) for v in values] if isinstance(values, list) else [None]
        if None in texts:
            problems.append(
                Problem(f"parameters.{name}", "parameter-values-list", "give a list of text or number values")
            )
            continue
        parameters[str(name)] = tuple(texts)
    destination = data.get("destination") or ""
    if not isinstance(destination, str):
        problems.append(Problem("destination", "destination-name", "destination is the name of an S3 destination"))
        destination = ""
    if problems:
        raise SnapshotRequestInvalid(problems)
    return ExportSpec(dashboard=dashboard, files=tuple(files), parameters=parameters, destination=destination)


# --- the catalog as the rules and the form see it ---


@dataclass(frozen=True)
class CatalogVisual:
    visual_id: str
    title: str
    visual_type: str
    sheet_id: str
    sheet_name: str

    @property
    def is_tabular(self) -> bool:
        return self.visual_type in snapshot_rules.TABULAR_VISUAL_TYPES

    @property
    def kind(self) -> str:
        """The visual type in words: 'TableVisual' -> 'table', 'BarChartVisual' -> 'bar chart'."""
        if self.visual_type == "PivotTableVisual":
            return "pivot table"
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", self.visual_type.removesuffix("Visual")).lower()
        return words or "visual"


@dataclass(frozen=True)
class CatalogSheet:
    sheet_id: str
    name: str
    visuals: tuple[CatalogVisual, ...]


@dataclass(frozen=True)
class Catalog:
    """The live (not stale) sheets, visuals and parameters of one dashboard."""

    dashboard: Dashboard
    sheets: tuple[CatalogSheet, ...]
    parameters: tuple[DashboardParameter, ...]

    @functools.cached_property
    def visuals(self) -> dict[str, list[CatalogVisual]]:
        by_id: dict[str, list[CatalogVisual]] = {}
        for sheet in self.sheets:
            for visual in sheet.visuals:
                by_id.setdefault(visual.visual_id, []).append(visual)
        return by_id

    def visual(self, visual_id: str) -> CatalogVisual | None:
        found = self.visuals.get(visual_id, [])
        return found[0] if len(found) == 1 else None

    def sheet(self, sheet_id: str) -> CatalogSheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def parameter(self, name: str) -> DashboardParameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def for_rules(self) -> DashboardCatalog:
        return DashboardCatalog(
            region=self.dashboard.region,
            sheets={s.sheet_id: {v.visual_id: v.visual_type for v in s.visuals} for s in self.sheets},
            parameters={p.name: ParameterDeclaration(p.param_type, p.multi_valued) for p in self.parameters},
        )


def load_catalog(dashboard: Dashboard) -> Catalog:
    sheets = dashboard.sheets.filter(is_stale=False).order_by("position", "name")
    visuals_by_sheet: dict[int, list] = {}
    for visual in Visual.objects.filter(sheet__dashboard=dashboard, sheet__is_stale=False, is_stale=False).order_by(
        "position", "title"
    ):
        visuals_by_sheet.setdefault(visual.sheet_id, []).append(visual)
    return Catalog(
        dashboard=dashboard,
        sheets=tuple(
            CatalogSheet(
                sheet.sheet_id,
                sheet.name,
                tuple(
                    CatalogVisual(v.visual_id, v.title or v.visual_id, v.visual_type, sheet.sheet_id, sheet.name)
                    for v in visuals_by_sheet.get(sheet.pk, [])
                ),
            )
            for sheet in sheets
        ),
        parameters=tuple(dashboard.parameters.filter(is_stale=False).order_by("name")),
    )


# --- values typed per declaration ---


def parse_value(param_type: str, text: str) -> Any:
    """A text value -> the type the API wants; ValueError with plain words when it does not fit."""
    text = text.strip()
    if param_type == "STRING":
        return text
    if param_type == "INTEGER":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{text!r} is not a whole number")
        if len(text.lstrip("+-0")) > len(str(INT64[1])):
            # Before int(): Python refuses to convert more than 4300 digits, in words of its own.
            raise ValueError(f"{_short(text)} is too large")
        value = int(text)
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError(f"{text!r} is too large")
        return value
    if param_type == "DECIMAL":
        try:
            value = float(Decimal(text))
        except (InvalidOperation, ValueError):
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError(f"{text!r} is not a date and time (e.g. 2026-01-31T09:00)") from None
    # QuickSight reads parameter date-times as UTC; a value without an offset is taken as UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00: UTC falls outside years 1 to 9999.
        raise ValueError(f"{text!r} is out of range once converted to UTC (years 1 to 9999)") from None


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}…({len(text)} characters)"


# --- the build ---


def snapshot_job_id(export_id: uuid.UUID) -> str:
    return f"export-{export_id}"


@functools.cache
def _input_shape():
    model = botocore.session.get_session().get_service_model("quicksight")
    return model.operation_model("StartDashboardSnapshotJob").input_shape


@dataclass
class BuildResult:
    kwargs: dict[str, Any] | None
    problems: list[Problem]
    dashboard: Dashboard | None = None
    destination: S3Destination | None = None
    identity: RlsIdentity | None = None
    catalog: Catalog | None = None
    draft: dict[str, Any] | None = None  # what would be sent, even when it cannot be: for previews

    @property
    def ok(self) -> bool:
        return not self.problems and self.kwargs is not None


@dataclass
class _Paths:
    """Where each part of the built request came from in the spec, to word the rules' findings."""

    groups: dict[int, tuple[int, str]] = field(default_factory=dict)  # group index -> (file index, format)
    parameters: dict[str, str] = field(default_factory=dict)  # "StringParameters[0]" -> parameter name


def build_request(
    spec: ExportSpec,
    *,
    user,
    export_id: uuid.UUID,
    dashboard: Dashboard | None = None,
    catalog: Catalog | None = None,
) -> BuildResult:
    """The exact StartDashboardSnapshotJob kwargs for this spec and user, or every problem with it."""
    if dashboard is None:
        dashboard = access.granted_dashboard(user, spec.dashboard)
    if dashboard is None:
        problem = Problem("dashboard", "dashboard-granted", f"no dashboard {spec.dashboard!r} is shared with you")
        return BuildResult(None, [problem])
    catalog = catalog or load_catalog(dashboard)
    identity = effective_identity(user, dashboard)
    problems: list[Problem] = []
    blocker = export_blocker(identity, dashboard)
    if blocker:
        problems.append(Problem("identity", "rls-identity", blocker))

    paths = _Paths()
    groups = []
    for i, file in enumerate(spec.files):
        selections, file_problems = _selections(file, i, catalog)
        problems += file_problems
        paths.groups[len(groups)] = (i, file.format)
        groups.append({"Files": [{"SheetSelections": selections, "FormatType": file.format}]})

    parameters, parameter_problems = _parameters(spec.parameters, catalog, paths)
    problems += parameter_problems

    destination = None
    if spec.destination:
        destination = access.allowed_destinations(user, dashboard).filter(name=spec.destination).first()
        if destination is None:
            problems.append(
                Problem("destination", "destination-allowed", f"{spec.destination!r} is not a destination open to you")
            )

    anonymous_user: dict[str, Any] = {}
    if identity.tags:
        anonymous_user["RowLevelPermissionTags"] = identity.as_session_tags()
    snapshot_configuration: dict[str, Any] = {"FileGroups": groups}
    if parameters:
        snapshot_configuration["Parameters"] = parameters
    if destination is not None:
        snapshot_configuration["DestinationConfiguration"] = {
            "S3Destinations": [
                {
                    "BucketConfiguration": {
                        "BucketName": destination.bucket_name,
                        "BucketPrefix": destination.bucket_prefix,
                        "BucketRegion": destination.region,
                    }
                }
            ]
        }
    kwargs = {
        "AwsAccountId": dashboard.aws_account_id,
        "DashboardId": dashboard.dashboard_id,
        "SnapshotJobId": snapshot_job_id(export_id),
        "UserConfiguration": {"AnonymousUsers": [anonymous_user]},
        "SnapshotConfiguration": snapshot_configuration,
    }

    already = {p.field for p in problems}
    for violation in snapshot_rules.check(kwargs, catalog.for_rules()):
        problem = _word(violation, paths, catalog)
        # A spec field the builder already objected to (say, no sheet chosen) needs no second message.
        if problem.field not in already and problem not in problems:
            problems.append(problem)
    if not problems:
        try:
            validate_parameters(kwargs, _input_shape())
        except ParamValidationError as exc:
            problems.append(Problem("request", "botocore-validation", str(exc)))
    problems.sort(key=_spec_order)
    return BuildResult(
        None if problems else kwargs,
        problems,
        dashboard=dashboard,
        destination=destination,
        identity=identity,
        catalog=catalog,
        draft=kwargs,
    )


_SECTIONS = ("spec", "dashboard", "identity", "files", "parameters", "destination")


def _spec_order(problem: Problem) -> tuple[int, int]:
    """Problems in the order of the form: dashboard, identity, files one by one, parameters, destination."""
    head = re.split(r"[.\[]", problem.field)[0]
    file_index = re.match(r"files\[(\d+)\]", problem.field)
    section = _SECTIONS.index(head) if head in _SECTIONS else len(_SECTIONS)
    return section, int(file_index[1]) + 1 if file_index else 0


def _selections(file: FileSpec, i: int, catalog: Catalog) -> tuple[list[dict], list[Problem]]:
    where = f"files[{i}]"
    if file.format == "PDF":
        if not file.sheet:
            return [], [Problem(f"{where}.sheet", "pdf-one-sheet", "choose the sheet to print as PDF")]
        return [{"SheetId": file.sheet, "SelectionScope": "ALL_VISUALS"}], []
    problems = []
    resolved: list[CatalogVisual] = []
    name = "visual" if file.format == "CSV" else "visuals"
    for visual_id in file.visuals:
        found = catalog.visuals.get(visual_id, [])
        if len(found) == 1:
            resolved.append(found[0])
        elif found:
            problems.append(
                Problem(f"{where}.{name}", "visual-unique", f"{visual_id!r} names a visual on several sheets")
            )
        else:
            problems.append(
                Problem(f"{where}.{name}", "visual-exists", f"the dashboard has no visual {visual_id!r} (any more)")
            )
    if not file.visuals:
        what = "the table or pivot table to save as CSV" if file.format == "CSV" else "1 to 5 tables or pivot tables"
        rule = "csv-one-visual" if file.format == "CSV" else "excel-visual-ids"
        problems.append(Problem(f"{where}.{name}", rule, f"choose {what}"))
    # Visuals of one sheet share one selection (the API's rule); sheets keep the order of first mention.
    by_sheet: dict[str, list[str]] = {}
    for visual in resolved:
        by_sheet.setdefault(visual.sheet_id, []).append(visual.visual_id)
    selections = [
        {"SheetId": sheet_id, "SelectionScope": "SELECTED_VISUALS", "VisualIds": visual_ids}
        for sheet_id, visual_ids in by_sheet.items()
    ]
    return selections, problems


def excel_order(visual_ids: list[str], catalog: Catalog) -> list[str]:
    """The worksheet order the workbook will really have: visuals grouped by sheet, sheets by first mention."""
    by_sheet: dict[str, list[str]] = {}
    for visual_id in visual_ids:
        visual = catalog.visual(visual_id)
        by_sheet.setdefault(visual.sheet_id if visual else f"?{visual_id}", []).append(visual_id)
    return [v for ids in by_sheet.values() for v in ids]


def _parameters(
    values: Mapping[str, tuple[str, ...]], catalog: Catalog, paths: _Paths
) -> tuple[dict[str, list], list[Problem]]:
    lists: dict[str, list] = {}
    problems = []
    list_names = {type_: name for name, type_ in snapshot_rules.PARAMETER_LISTS.items()}
    for name, texts in values.items():
        declaration = catalog.parameter(name)
        if declaration is None:
            problems.append(
                Problem(f"parameters.{name}", "parameter-declared", f"the dashboard declares no parameter {name!r}")
            )
            continue
        typed = []
        for text in texts:
            try:
                typed.append(parse_value(declaration.param_type, text))
            except ValueError as exc:
                problems.append(
                    Problem(
                        f"parameters.{name}",
                        "parameter-value-type",
                        f"{exc}; {name} takes {declaration.get_param_type_display().lower()} values",
                    )
                )
        list_name = list_names[declaration.param_type]
        entries = lists.setdefault(list_name, [])
        paths.parameters[f"{list_name}[{len(entries)}]"] = name
        entries.append({"Name": name, "Values": typed})
    return lists, problems


# --- rule findings in the words of the person who filled the form ---

_GROUP = re.compile(r"^SnapshotConfiguration\.FileGroups\[(\d+)\](.*)$")
_PARAMETER = re.compile(r"^SnapshotConfiguration\.Parameters\.(\w+\[\d+\])")


def _word(violation: Violation, paths: _Paths, catalog: Catalog) -> Problem:
    path = violation.field
    field_name = "request"
    if path == "SnapshotConfiguration.FileGroups":
        field_name = "files"
    elif match := _GROUP.match(path):
        i, fmt = paths.groups.get(int(match[1]), (int(match[1]), ""))
        rest = match[2]
        field_name = f"files[{i}]"
        if ".SheetId" in rest or (fmt == "PDF" and ".SheetSelections" in rest):
            field_name += ".sheet"
        elif fmt == "CSV" and ".SheetSelections" in rest:
            field_name += ".visual"
        elif fmt == "EXCEL" and ".SheetSelections" in rest:
            field_name += ".visuals"
    elif match := _PARAMETER.match(path):
        name = paths.parameters.get(match[1])
        field_name = f"parameters.{name}" if name else "parameters"
    elif path.startswith("SnapshotConfiguration.Parameters"):
        field_name = "parameters"
    elif path.startswith("SnapshotConfiguration.DestinationConfiguration"):
        field_name = "destination"
    elif path.startswith("UserConfiguration"):
        field_name = "identity"
    elif path in ("AwsAccountId", "DashboardId"):
        field_name = "dashboard"
    return Problem(field_name, violation.rule, _business_message(violation, catalog))


# Words for the rules a spec cannot break on its own (the builder or the admin's validation stands
# before them): should one fire, it reads as the portal's fault, not the user's.
_NOT_YOURS = "the portal built a request QuickSight would refuse; ask an administrator"
_WORDS: dict[str, str] = {
    "account-id-format": _NOT_YOURS,
    "id-format": _NOT_YOURS,
    "user-configuration-required": _NOT_YOURS,
    "one-anonymous-user": _NOT_YOURS,
    "rls-tag-count": "your RLS identity holds {count} tags, more than QuickSight's {limit}; ask an administrator",
    "rls-tag-key-length": "one of your RLS tag keys is empty or too long; ask an administrator",
    "rls-tag-value-length": "one of your RLS tag values is empty or too long; ask an administrator",
    "rls-tag-key-unique": "your RLS tag {key} is mapped {count} times; ask an administrator",
    "one-file-per-group": _NOT_YOURS,
    "format-type": "choose PDF, Excel or CSV",
    "pdf-one-sheet": "a PDF prints exactly one sheet{this_one}",
    "pdf-all-visuals": "a PDF prints a whole sheet",
    "pdf-no-visual-ids": "a PDF prints a whole sheet",
    "csv-one-sheet": "a CSV holds one table or pivot table",
    "csv-selected-visuals": _NOT_YOURS,
    "csv-one-visual": "a CSV holds exactly one table or pivot table{this_one}",
    "excel-sheet-count": "an Excel workbook takes 1 to {limit} sheets (it has {count})",
    "excel-selected-visuals": _NOT_YOURS,
    "excel-visual-ids": "choose 1 to 5 tables or pivot tables",
    "excel-visual-cap": "an Excel workbook holds at most {limit} tables{this_one}",
    "excel-sheet-once": _NOT_YOURS,
    "excel-visual-once": "each table can be a worksheet only once",
    "sheet-exists": "this sheet is not on the dashboard (any more)",
    "visual-exists": "this visual is not on the dashboard (any more)",
    "parameter-count": "at most {limit} parameters of one type{this_one}",
    "parameter-declared": "the dashboard declares no parameter {name!r}",
    "parameter-type": _NOT_YOURS,
    "parameter-values": "give a value, or leave it empty to use the dashboard's default",
    "parameter-single-value": "takes one value{this_one}",
    "parameter-value-type": "{value!r} is not a {type_word} value",
    "parameter-once": "give {name!r} once",
    "one-destination": "choose one destination",
    "bucket-field-required": (
        "this destination lacks a bucket name, prefix or region; ask an administrator to complete it"
    ),
}


def _business_message(violation: Violation, catalog: Catalog) -> str:
    """A broken rule in the words of the person who filled the form, made from the rule's id and values.

    Never from the rule's own message: that is the API's English, and rewording it must not change
    what users read.
    """
    rule, values = violation.rule, violation.values
    this_one = f" (this one has {values['count']})" if "count" in values else ""
    if rule == "file-group-count":
        if values["count"] == 0:
            return "add at least one file: a PDF, an Excel workbook or a CSV"
        return f"an export holds at most {values['limit']} files{this_one}"
    if rule in ("pdf-cap", "excel-cap", "csv-cap"):
        cap = values["limit"]
        what = {"PDF": "one PDF", "EXCEL": "one Excel workbook", "CSV": f"{cap} CSV files"}[values["format"]]
        return f"an export holds at most {what}{this_one}"
    if rule == "visual-tabular":
        visual = catalog.visual(str(values["visual_id"]))
        name = f"{visual.title!r} is a {visual.kind}" if visual else "that visual is a chart"
        return f"{name}; CSV and Excel export only tables and pivot tables"
    if rule == "bucket-region":
        return f"this destination's bucket is not in {catalog.dashboard.region}, the dashboard's region"
    return _WORDS.get(rule, _NOT_YOURS).format_map({**values, "this_one": this_one})


# --- JSON for Export.request and the AWS CLI, and what business users may see of it ---


def request_to_json(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The kwargs as JSON data (date-times as ISO 8601); also valid `aws ... --cli-input-json`."""

    def convert(value):
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(kwargs)


def request_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Export.request back into kwargs for boto3: date-time parameter values become datetimes again."""
    kwargs = copy.deepcopy(dict(data))
    for entry in kwargs.get("SnapshotConfiguration", {}).get("Parameters", {}).get("DateTimeParameters", []):
        entry["Values"] = [datetime.fromisoformat(v) if isinstance(v, str) else v for v in entry["Values"]]
    return kwargs


def redact(request: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with every RLS tag value masked: what business users are shown."""
    redacted = copy.deepcopy(dict(request))
    for anonymous_user in redacted.get("UserConfiguration", {}).get("AnonymousUsers", []):
        for tag in anonymous_user.get("RowLevelPermissionTags", []):
            tag["Value"] = MASK
    return redacted


# --- the stored request read back: the one place that reads into Export.request ---


@dataclass(frozen=True)
class SentParameter:
    name: str
    values: tuple[Any, ...]  # as stored: date-times as ISO 8601 text


@dataclass(frozen=True)
class SentRequest:
    """What an export asked QuickSight for, as typed values: its files, parameters and RLS tags."""

    files: tuple[RequestedFile, ...]
    parameters: tuple[SentParameter, ...]
    rls_tags: dict[str, str]  # values: show them only to auditors and admins
    parameters_as_sent: dict[str, Any]  # SnapshotConfiguration.Parameters verbatim, for the audit record

    @property
    def formats(self) -> list[str]:
        return [file.format for file in self.files]


def sent_request(request: Mapping[str, Any] | None) -> SentRequest:
    """Export.request (the exact Start kwargs, kept as the audit record) as typed values.

    Everything the portal needs from the request it sent goes through here, so its AWS shape is
    read in this function only; an empty or partial request gives empty parts."""
    request = request or {}
    configuration = request.get("SnapshotConfiguration") or {}
    parameters = configuration.get("Parameters") or {}
    users = (request.get("UserConfiguration") or {}).get("AnonymousUsers") or [{}]
    return SentRequest(
        files=tuple(group_files(configuration.get("FileGroups"))),
        parameters=tuple(
            SentParameter(str(entry.get("Name", "?")), tuple(entry.get("Values") or ()))
            for list_name in snapshot_rules.PARAMETER_LISTS
            for entry in parameters.get(list_name) or []
        ),
        rls_tags={tag.get("Key"): tag.get("Value") for tag in users[0].get("RowLevelPermissionTags") or []},
        parameters_as_sent=dict(parameters),
    )
