"""Render one SnapshotFile of a StartDashboardSnapshotJob request: CSV, Excel or PDF.

Rows stream from quicksight_local.data in batches straight into the file writer, so memory
stays flat however many rows a visual has (bench/render_memory.py measures it). A file is
written next to out_path and renamed into place, so a failed render never leaves half a file.
"""

from __future__ import annotations

import csv
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import reportlab
import xlsxwriter
from django.conf import settings
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    LayoutError,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from xlsxwriter.exceptions import XlsxWriterException

from quicksight_local.catalog import Dashboard, Sheet, Visual, load_catalog
from quicksight_local.data import QueryError, coerce_value, visual_query, visual_row_count

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


# Engine types whose values csv.writer already writes as _csv_value would (None as "", str() of the
# rest), so the CSV writer converts only the other columns: a Python call per cell was most of
# the time CSV took beyond the bare csv module (BENCHMARKS.md).
_CSV_AS_IS = re.compile(
    r"^(VARCHAR|BOOLEAN|(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?)|DOUBLE|FLOAT|REAL|DATE|DECIMAL\(\d+, ?[0-6]\))$"
)  # str(Decimal) switches to exponent notation only beyond 6 decimal places; str(date) is isoformat


def _csv_rows(engine_types: Sequence[str], batch: list[tuple]) -> Any:
    convert = [i for i, name in enumerate(engine_types) if not _CSV_AS_IS.match(name)]
    if not convert:
        return batch

    def row_of(row: tuple) -> list:
        cells = list(row)
        for i in convert:
            cells[i] = _csv_value(cells[i])
        return cells

    return map(row_of, batch)


@dataclass(frozen=True)
class RenderJob:
    dashboard: Dashboard
    visuals: list[tuple[Sheet, Visual]]
    tags: Mapping[str, str]
    parameters: Mapping[str, Sequence[Any]]
    generated_at: datetime


def _render_csv(job: RenderJob, tmp_path: Path) -> None:
    if len(job.visuals) != 1:
        raise RenderError(f"A CSV file holds exactly one visual; {len(job.visuals)} were selected.")
    _require_tabular(job.visuals, "CSV")
    _, visual = job.visuals[0]
    with (
        visual_query(job.dashboard, visual, tags=job.tags, parameters=job.parameters) as result,
        open(tmp_path, "w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(result.headers)
        for batch in result.batches():
            writer.writerows(_csv_rows(result.engine_types, batch))


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
    tmp_path = out_path.with_name(f".{out_path.name}.{os.getpid()}.{threading.get_ident()}.part")
    job = RenderJob(dashboard, visuals, tags, parameters, generated_at)
    try:
        renderer(job, tmp_path)
        os.replace(tmp_path, out_path)
    except QueryError as exc:
        raise RenderError(str(exc)) from exc
    except (XlsxWriterException, LayoutError) as exc:
        raise RenderError(f"The {format_type} file could not be laid out: {exc}") from exc
    finally:
        tmp_path.unlink(missing_ok=True)


# --- Excel ---

EXCEL_MAX_ROWS = 1_048_576
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def worksheet_names(titles: Sequence[str]) -> list[str]:
    """Excel-safe worksheet names: no []:*?/\\, at most 31 characters, unique ignoring case."""
    names: list[str] = []
    taken: set[str] = set()
    for title in titles:
        base = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'").strip() or "Visual"
        if base.lower() == "history":  # reserved by Excel
            base = "History visual"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)].rstrip() + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def _render_excel(job: RenderJob, tmp_path: Path) -> None:
    _require_tabular(job.visuals, "EXCEL")
    workbook = xlsxwriter.Workbook(str(tmp_path), {"constant_memory": True})
    workbook.set_properties({"title": job.dashboard.name, "created": _naive(job.generated_at)})
    header = workbook.add_format({"bold": True, "bottom": 1, "bg_color": "#EEF2F7"})
    cell_formats = {
        "DATETIME": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "DATE": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "DECIMAL": workbook.add_format({"num_format": "#,##0.00"}),
        "INTEGER": workbook.add_format({"num_format": "0"}),
    }
    try:
        names = worksheet_names([visual.title for _, visual in job.visuals])
        for name, (_, visual) in zip(names, job.visuals, strict=True):
            with visual_query(job.dashboard, visual, tags=job.tags, parameters=job.parameters) as result:
                _write_worksheet(workbook.add_worksheet(name), result, header, cell_formats)
    finally:
        workbook.close()


def _write_worksheet(sheet, result, header, cell_formats) -> None:
    types = result.column_types
    for col, (title, kind) in enumerate(zip(result.headers, types, strict=True)):
        width = {"DATETIME": 19, "DATE": 11, "DECIMAL": 14, "INTEGER": 10}.get(kind, 18)
        sheet.set_column(col, col, max(width, min(len(title) + 2, 40)), cell_formats.get(kind))
    sheet.write_row(0, 0, result.headers, header)
    sheet.freeze_panes(1, 0)
    # One (writer, converter, format) per column, chosen once from the column type.
    columns = []
    for kind in types:
        if kind in ("DATETIME", "DATE"):
            columns.append((sheet.write_datetime, None, cell_formats[kind]))
        elif kind in ("DECIMAL", "INTEGER"):
            columns.append((sheet.write_number, float, cell_formats[kind]))
        elif kind == "BOOLEAN":
            columns.append((sheet.write_boolean, None, None))
        else:
            columns.append((sheet.write_string, str, None))  # never a formula or a URL, whatever the text
    row_number = 0
    for batch in result.batches():
        if row_number + len(batch) >= EXCEL_MAX_ROWS:
            raise RenderError(f"Visual has more than {EXCEL_MAX_ROWS - 1} rows, the most an Excel worksheet holds.")
        for row in batch:
            row_number += 1
            for col, value in enumerate(row):
                if value is not None:
                    write, convert, fmt = columns[col]
                    write(row_number, col, convert(value) if convert else value, fmt)
    sheet.autofilter(0, 0, row_number, len(types) - 1)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# --- PDF ---

PDF_CHUNK_ROWS = 500  # one reportlab Table per 500 rows: one huge table lays out worse than linearly
_INK = colors.HexColor("#1F2937")
_MUTED = colors.HexColor("#6B7280")
_RULE = colors.HexColor("#D1D5DB")
_HEAD_BG = colors.HexColor("#1E3A5F")
_ZEBRA = colors.HexColor("#F3F6FA")
_SERIES = colors.HexColor("#2F6DB5")


@cache
def _fonts() -> tuple[str, str]:
    """A Unicode TrueType pair (DejaVu when installed, else reportlab's own Vera)."""
    candidates = [
        (
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        ),
        (
            Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
            Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
        ),
    ]
    for regular, bold in candidates:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("QSSans", str(regular)))
            pdfmetrics.registerFont(TTFont("QSSans-Bold", str(bold)))
            return "QSSans", "QSSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, textColor=_INK, spaceAfter=4),
        "meta": ParagraphStyle("meta", fontName=regular, fontSize=9, leading=12, textColor=_MUTED),
        "visual": ParagraphStyle(
            "visual",
            fontName=bold,
            fontSize=12,
            leading=15,
            textColor=_INK,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "note": ParagraphStyle(
            "note",
            fontName=regular,
            fontSize=8.5,
            leading=11,
            textColor=colors.HexColor("#92400E"),
            spaceAfter=4,
        ),
        "empty": ParagraphStyle("empty", fontName=regular, fontSize=9, leading=12, textColor=_MUTED),
    }


def _pdf_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "DECIMAL" and isinstance(value, Decimal | float):
        return f"{value:,}"
    return str(value)


def _parameter_text(parameter_type: str, value: Any) -> str:
    try:
        value = coerce_value(parameter_type, value)
    except QueryError:
        return str(value)
    if isinstance(value, datetime):
        return _naive(value).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _parameters_used(job: RenderJob) -> str:
    parts = []
    for parameter in job.dashboard.parameters:
        values = job.parameters.get(parameter.name)
        if values:
            shown = ", ".join(_parameter_text(parameter.type, v) for v in values)
        elif values is None and parameter.default_values:
            shown = ", ".join(_parameter_text(parameter.type, v) for v in parameter.default_values) + " (default)"
        else:
            shown = "all"
        parts.append(f"<b>{escape(parameter.name)}</b>: {escape(shown)}")
    return "; ".join(parts) if parts else "none"


class _NumberedCanvas(canvas.Canvas):
    """Holds every page until the end, so each footer can say "Page N of M"."""

    header_left = ""
    header_right = ""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(number, total)
            super().showPage()
        super().save()

    def _decorate(self, number: int, total: int) -> None:
        regular, _ = _fonts()
        width, height = self._pagesize
        self.saveState()
        self.setStrokeColor(_RULE)
        self.setLineWidth(0.5)
        self.line(_MARGIN, height - _MARGIN + 4 * mm, width - _MARGIN, height - _MARGIN + 4 * mm)
        self.line(_MARGIN, _MARGIN - 4 * mm, width - _MARGIN, _MARGIN - 4 * mm)
        self.setFont(regular, 8)
        self.setFillColor(_MUTED)
        self.drawString(_MARGIN, height - _MARGIN + 6 * mm, self.header_left)
        self.drawRightString(width - _MARGIN, height - _MARGIN + 6 * mm, self.header_right)
        self.drawRightString(width - _MARGIN, _MARGIN - 8 * mm, f"Page {number} of {total}")
        self.restoreState()


_MARGIN = 16 * mm
_ORPHAN_GUARD = 45 * mm
_FRAME_PADDING = 12  # SimpleDocTemplate's frame pads 6 pt on each side


def _render_pdf(job: RenderJob, tmp_path: Path) -> None:
    styles = _styles()
    generated = _naive(job.generated_at).strftime("%Y-%m-%d %H:%M UTC")
    doc = SimpleDocTemplate(
        str(tmp_path),
        pagesize=landscape(A4),
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN + 4 * mm,
        bottomMargin=_MARGIN,
        title=job.dashboard.name,
        author="quicksight_local",
        subject=", ".join(dict.fromkeys(sheet.name for sheet, _ in job.visuals)),
    )
    story: list[Any] = []
    sections: dict[str, list[Visual]] = {}
    sheets: dict[str, Sheet] = {}
    for sheet, visual in job.visuals:
        sections.setdefault(sheet.sheet_id, []).append(visual)
        sheets[sheet.sheet_id] = sheet
    for index, (sheet_id, visuals) in enumerate(sections.items()):
        if index:
            story.append(PageBreak())
        story.append(Paragraph(escape(sheets[sheet_id].name), styles["title"]))
        story.append(Paragraph(f"<b>Dashboard</b>: {escape(job.dashboard.name)}", styles["meta"]))
        story.append(Paragraph(f"<b>Parameters</b>: {_parameters_used(job)}", styles["meta"]))
        story.append(Paragraph(f"<b>Generated</b>: {generated}", styles["meta"]))
        story.append(Spacer(1, 4 * mm))
        for visual in visuals:
            story.append(CondPageBreak(_ORPHAN_GUARD))  # a visual's title never sits alone at a page foot
            story.append(Paragraph(escape(visual.title), styles["visual"]))
            if visual.kind in TABULAR_KINDS:
                story.extend(_table_flowables(job, visual, doc.width - _FRAME_PADDING, styles))
            else:
                story.append(_chart_flowable(job, visual, doc.width - _FRAME_PADDING, styles))

    class PageCanvas(_NumberedCanvas):
        header_left = job.dashboard.name
        header_right = f"Generated {generated}"

    doc.build(story, canvasmaker=PageCanvas)


def _column_widths(headers: Sequence[str], types: Sequence[str], width: float) -> list[float]:
    weights = [
        max({"STRING": 3.0, "DATETIME": 2.4, "DATE": 1.6, "DECIMAL": 2.0, "INTEGER": 1.3}.get(kind, 2.0), len(h) * 0.22)
        for h, kind in zip(headers, types, strict=True)
    ]
    total = sum(weights)
    return [width * w / total for w in weights]


def _table_flowables(job: RenderJob, visual: Visual, width: float, styles) -> list[Any]:
    cap = settings.QUICKSIGHT_LOCAL_PDF_MAX_TABLE_ROWS
    regular, bold = _fonts()
    flowables: list[Any] = []
    with visual_query(job.dashboard, visual, tags=job.tags, parameters=job.parameters) as result:
        headers, types = result.headers, result.column_types
        widths = _column_widths(headers, types, width)
        max_chars = [max(4, int(w / (7.5 * 0.55))) for w in widths]
        numeric = [i for i, kind in enumerate(types) if kind in ("DECIMAL", "INTEGER")]
        style = TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), bold, 7.5),
                ("FONT", (0, 1), (-1, -1), regular, 7.5),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _ZEBRA]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *[("ALIGN", (i, 0), (i, -1), "RIGHT") for i in numeric],
            ]
        )
        shown = 0
        chunk: list[list[str]] = []
        cut = False

        def flush() -> None:
            if chunk:
                flowables.append(Table([headers, *chunk], colWidths=widths, repeatRows=1, style=style))
                chunk.clear()

        for row in result:
            if shown == cap:
                cut = True
                break
            shown += 1
            cells = []
            for i, value in enumerate(row):
                text = _pdf_cell(value, types[i])
                cells.append(text if len(text) <= max_chars[i] else text[: max_chars[i] - 1] + "…")
            chunk.append(cells)
            if len(chunk) == PDF_CHUNK_ROWS:
                flush()
        flush()
    if cut:
        total = visual_row_count(job.dashboard, visual, tags=job.tags, parameters=job.parameters)
        note = f"Showing the first {shown:,} of {total:,} rows; export CSV or Excel for every row."
        flowables.insert(0, Paragraph(note, styles["note"]))
        flowables.append(Paragraph(note, styles["empty"]))
    if not shown:
        flowables.append(Paragraph("No rows for these parameters.", styles["empty"]))
    return flowables


def _compact(value: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value % 1 else f"{value:.0f}"


def nice_axis(low: float, high: float, ticks: int = 5) -> tuple[float, float, float]:
    """(min, max, step) of a value axis: round steps (1, 2, 2.5 or 5 times a power of ten) and a top
    tick at or above the largest value, so no bar or line point rises above the last grid line."""
    low, high = min(0.0, low), max(0.0, high)
    if high - low <= 0:
        high = low + 1
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    axis_min, axis_max = math.floor(low / step) * step, math.ceil(high / step) * step
    if axis_max < high:  # a floating-point hair below the value
        axis_max += step
    return axis_min, axis_max, step


def _chart_flowable(job: RenderJob, visual: Visual, width: float, styles) -> Any:
    regular, bold = _fonts()
    with visual_query(job.dashboard, visual, tags=job.tags, parameters=job.parameters) as result:
        category_name, value_name = result.headers
        pairs = [(str(c), float(v or 0)) for c, v in result]
    if not pairs:
        return Paragraph("No rows for these parameters.", styles["empty"])
    height = 95 * mm
    drawing = Drawing(width, height)
    line = "Line" in visual.type
    chart = HorizontalLineChart() if line else VerticalBarChart()
    many = len(pairs) > 12
    chart.x, chart.y = 22 * mm, (30 if not many else 40) * mm / 2.2
    chart.width, chart.height = width - 30 * mm, height - chart.y - 10 * mm
    chart.data = [[value for _, value in pairs]]
    step = max(1, len(pairs) // 26)
    chart.categoryAxis.categoryNames = [c if i % step == 0 else "" for i, (c, _) in enumerate(pairs)]
    labels = chart.categoryAxis.labels
    labels.fontName, labels.fontSize, labels.fillColor = regular, 7, _INK
    if many:
        labels.angle, labels.boxAnchor, labels.dx, labels.dy = 35, "ne", 0, -2
    values = [v for _, v in pairs]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = nice_axis(min(values), max(values))
    chart.valueAxis.labelTextFormat = _compact
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = regular, 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _RULE
    chart.valueAxis.gridStrokeWidth = 0.4
    chart.valueAxis.strokeColor = _RULE
    chart.categoryAxis.strokeColor = _RULE
    if line:
        chart.lines[0].strokeColor = _SERIES
        chart.lines[0].strokeWidth = 1.8
        chart.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=_SERIES, strokeColor=_SERIES)
        chart.joinedLines = 1
    else:
        chart.bars[0].fillColor = _SERIES
        chart.bars[0].strokeColor = None
        chart.barSpacing = 1
    drawing.add(chart)
    drawing.add(String(0, height - 4 * mm, value_name, fontName=bold, fontSize=8, fillColor=_MUTED))
    drawing.add(String(width, 0, category_name, fontName=bold, fontSize=8, fillColor=_MUTED, textAnchor="end"))
    return drawing
