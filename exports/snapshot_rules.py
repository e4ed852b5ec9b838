"""Every rule of StartDashboardSnapshotJob, as small pure checks on a request dict.

The contract is shared/reference/start_dashboard_snapshot_job.txt: where it is stricter than
botocore's model (6 file groups, not 7; UserConfiguration required), the reference wins.
No Django here: the portal's request builder and quicksight_local both call check().

A broken rule is data: its id, the path it concerns and the values that break it. MESSAGES
words them in the API's terms (what quicksight_local answers); the portal words them for its
users from the values (exports.snapshot), so rewording a message here changes only the former.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

MAX_FILE_GROUPS = 6
FORMAT_CAPS = {"PDF": 1, "EXCEL": 1, "CSV": 5}
MAX_EXCEL_SHEET_SELECTIONS = 5
MAX_EXCEL_VISUALS = 5
MAX_PARAMETERS_PER_TYPE = 100
MAX_RLS_TAGS = 50
TABULAR_VISUAL_TYPES = frozenset({"TableVisual", "PivotTableVisual"})
PARAMETER_LISTS = {
    "StringParameters": "STRING",
    "IntegerParameters": "INTEGER",
    "DecimalParameters": "DECIMAL",
    "DateTimeParameters": "DATETIME",
}
# The API's formats, and their words and file extensions: defined here once for the whole portal.
FORMATS = tuple(FORMAT_CAPS)
FORMAT_WORDS = {"PDF": "PDF", "EXCEL": "Excel", "CSV": "CSV"}  # in lists, file rows, mails
FORMAT_NAMES = {"PDF": "PDF", "EXCEL": "Excel workbook", "CSV": "CSV"}  # what a user adds to an export
FILE_EXTENSIONS = {"PDF": "pdf", "EXCEL": "xlsx", "CSV": "csv"}
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_RESOURCE_ID = re.compile(r"^[\w-]{1,512}$")

Request = Mapping[str, Any]


@dataclass(frozen=True)
class ParameterDeclaration:
    type: str  # STRING, INTEGER, DECIMAL or DATETIME
    multi_valued: bool = False


@dataclass(frozen=True)
class DashboardCatalog:
    """What the rules need to know about one dashboard, and the region the call is made in."""

    region: str
    sheets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # sheet id -> {visual id: type}
    parameters: Mapping[str, ParameterDeclaration] = field(default_factory=dict)


# The API's words for each rule, filled from a violation's values.
MESSAGES: dict[str, str] = {
    "account-id-format": "must be exactly 12 digits",
    "id-format": "must be 1 to 512 letters, digits, '_' or '-'",
    "user-configuration-required": "is required",
    "one-anonymous-user": "must hold exactly one user (it has {count})",
    "rls-tag-count": "must hold 1 to {limit} tags (it has {count})",
    "rls-tag-key-length": "must be 1 to 128 characters",
    "rls-tag-value-length": "must be 1 to 256 characters",
    "rls-tag-key-unique": "tag key {key!r} appears {count} times",
    "file-group-count": "must hold 1 to {limit} file groups (it has {count})",
    "one-file-per-group": "must hold exactly one file (it has {count})",
    "format-type": "must be PDF, EXCEL or CSV",
    "pdf-cap": "at most {limit} PDF per request (it has {count})",
    "excel-cap": "at most {limit} Excel workbook per request (it has {count})",
    "csv-cap": "at most {limit} CSV files per request (it has {count})",
    "pdf-one-sheet": "a PDF takes exactly one sheet (it has {count})",
    "pdf-all-visuals": "a PDF must use ALL_VISUALS",
    "pdf-no-visual-ids": "a PDF takes no visual ids",
    "csv-one-sheet": "a CSV takes exactly one sheet (it has {count})",
    "csv-selected-visuals": "a CSV must use SELECTED_VISUALS",
    "csv-one-visual": "a CSV takes exactly one visual (it has {count})",
    "excel-sheet-count": "an Excel workbook takes 1 to {limit} sheets (it has {count})",
    "excel-selected-visuals": "an Excel workbook must use SELECTED_VISUALS",
    "excel-visual-ids": "name at least one visual per sheet",
    "excel-visual-cap": "an Excel workbook takes at most {limit} visuals in all (it has {count})",
    "excel-sheet-once": "sheet {sheet_id!r} is selected {count} times; list all its visuals in one selection",
    "excel-visual-once": "visual {visual_id!r} appears {count} times in one workbook",
    "sheet-exists": "the dashboard has no sheet {sheet_id!r}",
    "visual-exists": "sheet {sheet_id!r} has no visual {visual_id!r}",
    "visual-tabular": "visual {visual_id!r} is a {visual_type}; CSV and Excel take only tables and pivot tables",
    "parameter-count": "at most {limit} per type (it has {count})",
    "parameter-declared": "the dashboard declares no parameter {name!r}",
    "parameter-type": "{name!r} is declared {declared_type}, so it belongs in {list_name}",
    "parameter-values": "{name!r} needs at least one value",
    "parameter-single-value": "{name!r} takes one value (it has {count})",
    "parameter-value-type": "{value!r} is not a valid {type_word} value for {name!r}",
    "parameter-once": "parameter {name!r} is given {count} times",
    "one-destination": "must hold exactly one S3 destination (it has {count})",
    "bucket-field-required": "is required and not blank",
    "bucket-region": "the bucket must be in {region}, the region of the call (not {bucket_region})",
}


@dataclass(frozen=True)
class Violation:
    """One broken rule: the request path it concerns, the rule's id and the values that break it."""

    field: str
    rule: str
    values: Mapping[str, Any] = dataclass_field(default_factory=dict, hash=False)
    not_found: bool = False  # names a sheet or visual the dashboard does not have

    @property
    def message(self) -> str:
        return MESSAGES[self.rule].format_map(self.values)

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


Rule = Callable[[Request, DashboardCatalog], Iterator[Violation]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(request: Request, catalog: DashboardCatalog) -> list[Violation]:
    """Every broken rule, in a stable order; empty when the request is valid."""
    return [violation for check_rule in RULES for violation in check_rule(request, catalog)]


# --- helpers that tolerate malformed input: the service side receives anything ---


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _file_groups(request: Request) -> list:
    return _list(_dict(request.get("SnapshotConfiguration")).get("FileGroups"))


def _files(request: Request) -> Iterator[tuple[str, Mapping]]:
    """(path, file) for the first file of every group; the group rules report the rest."""
    for g, group in enumerate(_file_groups(request)):
        files = _list(_dict(group).get("Files"))
        if files:
            yield f"SnapshotConfiguration.FileGroups[{g}].Files[0]", _dict(files[0])


def _selections(file: Mapping) -> list[Mapping]:
    return [_dict(s) for s in _list(file.get("SheetSelections"))]


# --- identity of the call ---


@rule
def account_id_is_12_digits(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    if not _ACCOUNT_ID.match(str(request.get("AwsAccountId", ""))):
        yield Violation("AwsAccountId", "account-id-format")


@rule
def ids_are_restrictive(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for name in ("DashboardId", "SnapshotJobId"):
        value = request.get(name)
        if not isinstance(value, str) or not _RESOURCE_ID.match(value):
            yield Violation(name, "id-format")


# --- UserConfiguration: one anonymous user, RLS tags from the server ---


@rule
def one_anonymous_user(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    config = request.get("UserConfiguration")
    if not isinstance(config, Mapping):
        yield Violation("UserConfiguration", "user-configuration-required")
        return
    users = _list(config.get("AnonymousUsers"))
    if len(users) != 1:
        yield Violation("UserConfiguration.AnonymousUsers", "one-anonymous-user", {"count": len(users)})


@rule
def rls_tags_within_limits(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for u, user in enumerate(_list(_dict(request.get("UserConfiguration")).get("AnonymousUsers"))):
        user = _dict(user)
        if "RowLevelPermissionTags" not in user:
            continue
        path = f"UserConfiguration.AnonymousUsers[{u}].RowLevelPermissionTags"
        tags = _list(user.get("RowLevelPermissionTags"))
        if not 1 <= len(tags) <= MAX_RLS_TAGS:
            yield Violation(path, "rls-tag-count", {"limit": MAX_RLS_TAGS, "count": len(tags)})
        keys = [str(_dict(tag).get("Key", "")) for tag in tags]
        for t, tag in enumerate(tags):
            key, value = _dict(tag).get("Key"), _dict(tag).get("Value")
            if not isinstance(key, str) or not 1 <= len(key) <= 128:
                yield Violation(f"{path}[{t}].Key", "rls-tag-key-length")
            if not isinstance(value, str) or not 1 <= len(value) <= 256:
                yield Violation(f"{path}[{t}].Value", "rls-tag-value-length")
        for key, count in Counter(keys).items():
            if count > 1:
                yield Violation(path, "rls-tag-key-unique", {"key": key, "count": count})


# --- file groups and formats ---


@rule
def file_group_count(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    groups = _file_groups(request)
    if not 1 <= len(groups) <= MAX_FILE_GROUPS:
        yield Violation(
            "SnapshotConfiguration.FileGroups", "file-group-count", {"limit": MAX_FILE_GROUPS, "count": len(groups)}
        )


@rule
def one_file_per_group(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for g, group in enumerate(_file_groups(request)):
        files = _list(_dict(group).get("Files"))
        if len(files) != 1:
            yield Violation(f"SnapshotConfiguration.FileGroups[{g}].Files", "one-file-per-group", {"count": len(files)})


@rule
def format_caps(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    counts: Counter[str] = Counter()
    for path, file in _files(request):
        fmt = file.get("FormatType")
        if fmt not in FORMAT_CAPS:
            yield Violation(f"{path}.FormatType", "format-type")
        else:
            counts[fmt] += 1
    for fmt, cap in FORMAT_CAPS.items():
        if counts[fmt] > cap:
            yield Violation(
                "SnapshotConfiguration.FileGroups",
                f"{fmt.lower()}-cap",
                {"format": fmt, "limit": cap, "count": counts[fmt]},
            )


@rule
def pdf_is_one_whole_sheet(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for path, file in _files(request):
        if file.get("FormatType") != "PDF":
            continue
        selections = _selections(file)
        if len(selections) != 1:
            yield Violation(f"{path}.SheetSelections", "pdf-one-sheet", {"count": len(selections)})
        for s, selection in enumerate(selections):
            if selection.get("SelectionScope") != "ALL_VISUALS":
                yield Violation(f"{path}.SheetSelections[{s}].SelectionScope", "pdf-all-visuals")
            if selection.get("VisualIds"):
                yield Violation(f"{path}.SheetSelections[{s}].VisualIds", "pdf-no-visual-ids")


@rule
def csv_is_one_visual(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for path, file in _files(request):
        if file.get("FormatType") != "CSV":
            continue
        selections = _selections(file)
        if len(selections) != 1:
            yield Violation(f"{path}.SheetSelections", "csv-one-sheet", {"count": len(selections)})
        for s, selection in enumerate(selections):
            if selection.get("SelectionScope") != "SELECTED_VISUALS":
                yield Violation(f"{path}.SheetSelections[{s}].SelectionScope", "csv-selected-visuals")
            visual_ids = _list(selection.get("VisualIds"))
            if len(visual_ids) != 1:
                yield Violation(f"{path}.SheetSelections[{s}].VisualIds", "csv-one-visual", {"count": len(visual_ids)})


@rule
def excel_is_up_to_five_visuals(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for path, file in _files(request):
        if file.get("FormatType") != "EXCEL":
            continue
        selections = _selections(file)
        if not 1 <= len(selections) <= MAX_EXCEL_SHEET_SELECTIONS:
            yield Violation(
                f"{path}.SheetSelections",
                "excel-sheet-count",
                {"limit": MAX_EXCEL_SHEET_SELECTIONS, "count": len(selections)},
            )
        total = 0
        for s, selection in enumerate(selections):
            if selection.get("SelectionScope") != "SELECTED_VISUALS":
                yield Violation(f"{path}.SheetSelections[{s}].SelectionScope", "excel-selected-visuals")
            visual_ids = _list(selection.get("VisualIds"))
            if not visual_ids:
                yield Violation(f"{path}.SheetSelections[{s}].VisualIds", "excel-visual-ids")
            total += len(visual_ids)
        if total > MAX_EXCEL_VISUALS:
            yield Violation(f"{path}.SheetSelections", "excel-visual-cap", {"limit": MAX_EXCEL_VISUALS, "count": total})
        sheet_counts = Counter(str(s.get("SheetId")) for s in selections)
        for sheet_id, count in sheet_counts.items():
            if count > 1:
                yield Violation(f"{path}.SheetSelections", "excel-sheet-once", {"sheet_id": sheet_id, "count": count})
        visual_counts = Counter(str(v) for s in selections for v in _list(s.get("VisualIds")))
        for visual_id, count in visual_counts.items():
            if count > 1:
                yield Violation(
                    f"{path}.SheetSelections", "excel-visual-once", {"visual_id": visual_id, "count": count}
                )


# --- the request names what the dashboard has ---


@rule
def sheets_and_visuals_exist(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    for path, file in _files(request):
        for s, selection in enumerate(_selections(file)):
            sheet_id = selection.get("SheetId")
            if sheet_id not in catalog.sheets:
                yield Violation(
                    f"{path}.SheetSelections[{s}].SheetId", "sheet-exists", {"sheet_id": sheet_id}, not_found=True
                )
                continue
            visuals = catalog.sheets[sheet_id]
            for v, visual_id in enumerate(_list(selection.get("VisualIds"))):
                visual_type = visuals.get(visual_id)
                field_path = f"{path}.SheetSelections[{s}].VisualIds[{v}]"
                if visual_type is None:
                    yield Violation(
                        field_path, "visual-exists", {"sheet_id": sheet_id, "visual_id": visual_id}, not_found=True
                    )
                elif file.get("FormatType") in ("CSV", "EXCEL") and visual_type not in TABULAR_VISUAL_TYPES:
                    yield Violation(field_path, "visual-tabular", {"visual_id": visual_id, "visual_type": visual_type})


# --- parameters: only as declared, typed ---


def _value_fits(type_: str, value: Any) -> bool:
    if type_ == "STRING":
        return isinstance(value, str)
    if type_ == "INTEGER":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "DECIMAL":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, datetime)


@rule
def parameters_as_declared(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    parameters = _dict(_dict(request.get("SnapshotConfiguration")).get("Parameters"))
    seen: Counter[str] = Counter()
    for list_name, type_ in PARAMETER_LISTS.items():
        entries = _list(parameters.get(list_name))
        path = f"SnapshotConfiguration.Parameters.{list_name}"
        if len(entries) > MAX_PARAMETERS_PER_TYPE:
            yield Violation(path, "parameter-count", {"limit": MAX_PARAMETERS_PER_TYPE, "count": len(entries)})
        for p, entry in enumerate(entries):
            entry = _dict(entry)
            name, values = entry.get("Name"), _list(entry.get("Values"))
            seen[str(name)] += 1
            declaration = catalog.parameters.get(name) if isinstance(name, str) else None
            if declaration is None:
                yield Violation(f"{path}[{p}].Name", "parameter-declared", {"name": name})
                continue
            if declaration.type != type_:
                list_name = next(k for k, t in PARAMETER_LISTS.items() if t == declaration.type)
                yield Violation(
                    f"{path}[{p}]",
                    "parameter-type",
                    {"name": name, "declared_type": declaration.type, "list_name": list_name},
                )
                continue
            if not values:
                yield Violation(f"{path}[{p}].Values", "parameter-values", {"name": name})
            elif len(values) > 1 and not declaration.multi_valued:
                yield Violation(f"{path}[{p}].Values", "parameter-single-value", {"name": name, "count": len(values)})
            for v, value in enumerate(values):
                if not _value_fits(type_, value):
                    yield Violation(
                        f"{path}[{p}].Values[{v}]",
                        "parameter-value-type",
                        {"value": value, "name": name, "type": type_, "type_word": type_.lower()},
                    )
    for name, count in seen.items():
        if count > 1:
            yield Violation("SnapshotConfiguration.Parameters", "parameter-once", {"name": name, "count": count})


# --- destination ---


@rule
def one_destination_in_region(request: Request, catalog: DashboardCatalog) -> Iterator[Violation]:
    config = _dict(request.get("SnapshotConfiguration")).get("DestinationConfiguration")
    if config is None:
        return
    path = "SnapshotConfiguration.DestinationConfiguration.S3Destinations"
    destinations = _list(_dict(config).get("S3Destinations"))
    if len(destinations) != 1:
        yield Violation(path, "one-destination", {"count": len(destinations)})
    for d, destination in enumerate(destinations):
        bucket = _dict(_dict(destination).get("BucketConfiguration"))
        for key in ("BucketName", "BucketPrefix", "BucketRegion"):
            # The model's NonEmptyString pattern, which botocore does not check on the client side.
            value = bucket.get(key)
            if not isinstance(value, str) or not value.strip():
                yield Violation(f"{path}[{d}].BucketConfiguration.{key}", "bucket-field-required", {"key": key})
        region = bucket.get("BucketRegion")
        if isinstance(region, str) and region != catalog.region:
            yield Violation(
                f"{path}[{d}].BucketConfiguration.BucketRegion",
                "bucket-region",
                {"region": catalog.region, "bucket_region": region},
            )
