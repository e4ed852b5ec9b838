"""Benchmarks that print figures: run one with `.venv/bin/python -m bench.<name>`, all with `make bench`.

Each module exposes `run(quick: bool) -> list[Row]`; `python -m bench` runs every module in a
subprocess of its own and prints one table of their rows (bench/__main__.py).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass

# A migrated SQLite file that `python -m bench` made once for all its modules: each copies it rather
# than migrating its own (about 2.2 s a module, seven modules, on a slow 2-core machine).
MIGRATED_SQLITE = "BENCH_MIGRATED_SQLITE"


@dataclass(frozen=True)
class Row:
    """One figure of a benchmark, beside the baseline measured in the same run (if it has one).

    ratio is figure / baseline, so for times and memory 1.30 reads "30% more than the baseline".
    A row with no figure is a placeholder for a part nobody has measured yet (note says why).
    """

    name: str
    figure: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def runs_note(runs: int) -> str:
    return "1 run" if runs == 1 else f"median of {runs} runs"


def scratch_sqlite(tmp: str) -> str:
    """A throwaway SQLite file under tmp: a copy of the runner's migrated one when there is one (the
    migrate that follows then only checks it)."""
    path = os.path.join(tmp, "bench.sqlite3")
    if template := os.environ.get(MIGRATED_SQLITE):
        shutil.copyfile(template, path)
    return path


def setup_scratch_django(tmp: str) -> None:
    """Django on a throwaway SQLite file under tmp (or DATABASE_URL if set: use a scratch database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "true")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = scratch_sqlite(tmp)
    os.environ["VAR_DIR"] = tmp
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
