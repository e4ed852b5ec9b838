"""Render one SnapshotFile of a StartDashboardSnapshotJob request: CSV, Excel or PDF.

Rows stream from quicksight_local.data in batches straight into the file writer, so memory
stays flat however many rows a visual has (bench/render_memory.py measures it). A file is
written next to out_path and renamed into place, so a failed render never leaves half a file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from quicksight_local.catalog import Dashboard, Sheet, Visual, load_catalog
from quicksight_local.data import QueryError, visual_query

TABULAR_KINDS = {"table", "pivot"}


class RenderError(Exception):
    """One file of a job could not be rendered; the message is shown as the file's ErrorInfo."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _dashboard(dashboard: Dashboard | str) -> Dashboard:
    if isinstance(dashboard, Dashboard):
        return dashboard
    found = load_catalog().dashboards.get(dashboard)
    if found is None:
        raise RenderError(f"Dashboard {dashboard} is not in the catalog.")
    return found


def selected_visuals(dashboard: Dashboard, selections: Sequence[Mapping[str, Any]]) -> list[tuple[Sheet, Visual]]:
    """(sheet, visual) pairs in the requested order: selection order, then visual order inside each."""
    chosen: list[tuple[Sheet, Visual]] = []
    for selection in selections:
        sheet = dashboard.sheet(selection.get("SheetId", ""))
        if sheet is None:
            raise RenderError(f"Sheet {selection.get('SheetId')} is not on dashboard {dashboard.dashboard_id}.")
        if selection.get("SelectionScope") == "ALL_VISUALS":
            chosen.extend((sheet, visual) for visual in sheet.visuals)
            continue
        for visual_id in selection.get("VisualIds") or []:
            visual = sheet.visual(visual_id)
            if visual is None:
                raise RenderError(f"Visual {visual_id} is not on sheet {sheet.sheet_id}.")
            chosen.append((sheet, visual))
    return chosen


def _require_tabular(visuals: Sequence[tuple[Sheet, Visual]], format_type: str) -> None:
    for _, visual in visuals:
        if visual.kind not in TABULAR_KINDS:
            raise RenderError(
                f"{format_type} exports only table and pivot-table visuals; {visual.visual_id} is a {visual.type}."
            )


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _render_csv(dashboard: Dashboard, visuals, tags, parameters, tmp_path: Path) -> None:
    if len(visuals) != 1:
        raise RenderError(f"A CSV file holds exactly one visual; {len(visuals)} were selected.")
    _require_tabular(visuals, "CSV")
    _, visual = visuals[0]
    with (
        visual_query(dashboard, visual, tags=tags, parameters=parameters) as result,
        open(tmp_path, "w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(result.headers)
        for batch in result.batches():
            writer.writerows([_csv_value(v) for v in row] for row in batch)


def render_snapshot_file(
    *,
    dashboard: Dashboard | str,
    file: Mapping[str, Any],
    tags: Mapping[str, str],
    parameters: Mapping[str, Sequence[Any]],
    out_path: Path,
    generated_at: datetime,
) -> None:
    """Write one SnapshotFile ({"FormatType", "SheetSelections"}) to out_path, or raise RenderError."""
    dashboard = _dashboard(dashboard)
    out_path = Path(out_path)
    format_type = file.get("FormatType")
    renderer = {"CSV": _render_csv, "EXCEL": _render_excel, "PDF": _render_pdf}.get(format_type)
    if renderer is None:
        raise RenderError(f"FormatType {format_type!r} is not CSV, EXCEL or PDF.")
    visuals = selected_visuals(dashboard, file.get("SheetSelections") or [])
    if not visuals:
        raise RenderError("The file selects no visual.")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
    try:
        if renderer is _render_pdf:
            renderer(dashboard, file, visuals, tags, parameters, tmp_path, generated_at)
        else:
            renderer(dashboard, visuals, tags, parameters, tmp_path)
        os.replace(tmp_path, out_path)
    except QueryError as exc:
        raise RenderError(str(exc)) from exc
    finally:
        tmp_path.unlink(missing_ok=True)


def _render_excel(dashboard: Dashboard, visuals, tags, parameters, tmp_path: Path) -> None:
    raise RenderError("Excel rendering is not available yet.")


def _render_pdf(dashboard: Dashboard, file, visuals, tags, parameters, tmp_path: Path, generated_at) -> None:
    raise RenderError("PDF rendering is not available yet.")
