"""quicksight_local's catalog: datasets, dashboards, sheets, visuals and parameters from a JSON file.

The shared contract inside quicksight_local: the API layer answers Describe* from it, the data
layer builds queries from it, and to_rules_catalog() feeds the one copy of the API rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from exports.rls_rules import TagConfiguration
from exports.snapshot_rules import DashboardCatalog, ParameterDeclaration

DEMO_CATALOG = Path(__file__).with_name("demo_catalog.json")


@dataclass(frozen=True)
class Dataset:
    dataset_id: str
    name: str
    rows: int
    columns: dict[str, str]  # column -> STRING / INTEGER / DECIMAL / DATETIME
    rls: TagConfiguration | None = None  # RowLevelPermissionTagConfiguration


@dataclass(frozen=True)
class Visual:
    visual_id: str
    type: str  # TableVisual, PivotTableVisual, BarChartVisual, LineChartVisual, ...
    title: str
    dataset: str
    spec: dict[str, Any]  # {"Table": ...} | {"Pivot": ...} | {"Chart": ...}

    @property
    def kind(self) -> str:
        return next(iter(self.spec)).lower()


@dataclass(frozen=True)
class Sheet:
    sheet_id: str
    name: str
    visuals: tuple[Visual, ...]

    def visual(self, visual_id: str) -> Visual | None:
        return next((v for v in self.visuals if v.visual_id == visual_id), None)


@dataclass(frozen=True)
class ParameterFilter:
    dataset: str
    column: str
    operator: str  # IN, >=, <=


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    multi_valued: bool
    default_values: tuple = ()
    filters: tuple[ParameterFilter, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    dashboard_id: str
    name: str
    version_number: int
    sheets: tuple[Sheet, ...]
    parameters: tuple[Parameter, ...] = ()
    dataset_ids: tuple[str, ...] = field(default=())

    def sheet(self, sheet_id: str) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def to_rules_catalog(self, region: str) -> DashboardCatalog:
        return DashboardCatalog(
            region=region,
            sheets={s.sheet_id: {v.visual_id: v.type for v in s.visuals} for s in self.sheets},
            parameters={p.name: ParameterDeclaration(p.type, p.multi_valued) for p in self.parameters},
        )


@dataclass(frozen=True)
class Catalog:
    account_id: str
    region: str
    datasets: dict[str, Dataset]
    dashboards: dict[str, Dashboard]


def parse_catalog(raw: dict[str, Any]) -> Catalog:
    datasets = {
        dataset_id: Dataset(
            dataset_id=dataset_id,
            name=d["name"],
            rows=d["rows"],
            columns=dict(d["columns"]),
            rls=TagConfiguration.from_api(d.get("RowLevelPermissionTagConfiguration")),
        )
        for dataset_id, d in raw["datasets"].items()
    }
    dashboards = {}
    for d in raw["dashboards"]:
        sheets = tuple(
            Sheet(
                s["SheetId"],
                s["Name"],
                tuple(
                    Visual(
                        v["VisualId"],
                        v["Type"],
                        v["Title"],
                        v["DataSet"],
                        {k: v[k] for k in ("Table", "Pivot", "Chart") if k in v},
                    )
                    for v in s["visuals"]
                ),
            )
            for s in d["sheets"]
        )
        parameters = tuple(
            Parameter(
                p["Name"],
                p["Type"],
                p["MultiValued"],
                tuple(p.get("DefaultValues", [])),
                tuple(ParameterFilter(f["DataSet"], f["Column"], f["Operator"]) for f in p.get("Filters", [])),
            )
            for p in d.get("parameters", [])
        )
        dataset_ids = tuple(dict.fromkeys(v.dataset for s in sheets for v in s.visuals))
        dashboards[d["DashboardId"]] = Dashboard(
            d["DashboardId"], d["Name"], d.get("VersionNumber", 1), sheets, parameters, dataset_ids
        )
    return Catalog(raw["account_id"], raw["region"], datasets, dashboards)


@cache
def load_catalog(path: Path = DEMO_CATALOG) -> Catalog:
    return parse_catalog(json.loads(Path(path).read_text()))
