"""The selectors answer querysets, rows and plain exceptions; paging, streaming, forms and 404s are the views'."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EXPORTS = Path(__file__).resolve().parent.parent / "exports"
SELECTORS = ("access.py", "history.py", "catalog.py", "rls.py")
HTTP_MODULES = ("django.http", "django.shortcuts", "django.forms", "django.core.paginator", "django.template")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", SELECTORS)
def test_a_selector_imports_nothing_from_http(module):
    http = {name for name in imported_modules(EXPORTS / module) if name.startswith(HTTP_MODULES)}
    assert http == set(), f"exports/{module} imports {sorted(http)}: that belongs in exports/views/"
