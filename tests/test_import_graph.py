"""No import cycles in exports/: the arrows point down (views and tasks -> services and selectors ->
gateway, events, models). Every import counts, at module level and inside functions: a function-level
import hides a cycle from Python's loader, not from the design."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "exports"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path, known: set[str]) -> set[str]:
    """The modules of `known` that this file imports, anywhere in it (`from exports import jobs` counts
    as importing exports.jobs)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            # `import exports.views.form` imports exports.views too; the package is not a cycle by itself.
            if candidate in known and candidate != name:
                found.add(candidate)
    return found - {PACKAGE}


def import_graph(root: Path) -> dict[str, set[str]]:
    files = [p for p in (root / PACKAGE).rglob("*.py") if "migrations" not in p.parts]
    known = {module_name(p, root) for p in files}
    return {module_name(p, root): imported_modules(p, root, known) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules, as a path a -> b -> a."""
    found, seen = [], set()
    for start in sorted(graph):
        if start in seen:
            continue
        # Breadth-first from start back to start: the shortest loop through it.
        paths = {start: [start]}
        queue = [start]
        loop = None
        while queue and loop is None:
            current = queue.pop(0)
            for nxt in sorted(graph[current]):
                if nxt == start:
                    loop = [*paths[current], start]
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[current], nxt]
                    queue.append(nxt)
        if loop:
            found.append(loop)
            seen.update(loop)
    return found


def test_exports_has_no_import_cycle():
    graph = import_graph(ROOT)
    assert "exports.jobs" in graph and graph["exports.tasks"]  # the walk saw the package

    found = cycles(graph)

    assert found == [], "import cycles in exports/: " + "; ".join(" -> ".join(loop) for loop in found)


def test_the_cycle_check_names_a_function_level_cycle(tmp_path):
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text("def enqueue():\n    from exports.tasks import submit\n")
    (package / "tasks.py").write_text("from exports import jobs\n")
    (package / "models.py").write_text("import exports.rls\n")
    (package / "rls.py").write_text("from . import models\n")
    (package / "views.py").write_text("from exports import jobs, models\n")

    assert cycles(import_graph(tmp_path)) == [
        ["exports.jobs", "exports.tasks", "exports.jobs"],
        ["exports.models", "exports.rls", "exports.models"],
    ]
