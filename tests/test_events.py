"""Every audit event is written by one function of exports/events.py, which alone knows its action name:
no other module calls audit.record or types an action, so a rename or a new word happens in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exports import events

EXPORTS = Path(__file__).resolve().parent.parent / "exports"
OWNERS = {"events.py", "audit.py"}  # events writes through audit's chain
ACTION = re.compile(r"^(export|schedule|auth|limit|grant|rls_mapping|destination|history|catalog)\.[a-z_]+$")


def modules() -> list[Path]:
    return [p for p in EXPORTS.rglob("*.py") if "migrations" not in p.parts and p.name not in OWNERS]


def writes_an_event(node: ast.AST) -> bool:
    """`audit.record(...)`, or `from exports.audit import record`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
        return isinstance(node.func.value, ast.Name) and node.func.value.id == "audit"
    if isinstance(node, ast.ImportFrom) and node.module == "exports.audit":
        return any(alias.name == "record" for alias in node.names)
    return False


def test_no_module_but_events_writes_an_audit_event():
    writers = [
        f"{path.relative_to(EXPORTS.parent)}:{node.lineno}"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if writes_an_event(node)
    ]
    assert writers == [], "audit.record called outside exports/events.py: " + ", ".join(writers)


def test_no_module_but_events_types_an_action_name():
    typed = [
        f"{path.relative_to(EXPORTS.parent)}:{node.lineno} {node.value!r}"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ACTION.match(node.value)
    ]
    assert typed == [], "action names typed outside exports/events.py: " + ", ".join(typed)


def test_the_timeline_words_of_an_action():
    assert events.words(events.FILE_DOWNLOADED) == "Downloaded a file"
    assert events.words(events.EXPORT_REQUESTED) == "Started an export"
    assert events.words(events.EXPORT_MOVED["CANCELLED"]) == "Export cancelled"
    assert events.words("grant.created") == "Granted a dashboard"
    assert events.words("export.no_longer_recorded") == "No longer recorded"


def test_every_action_events_can_record_has_words():
    """One mapping in one place: an action added to events.py without words fails here."""
    source = ast.parse((EXPORTS / "events.py").read_text())
    name = re.compile(r"^[a-z_]+\.[a-z_]+$")
    typed = {
        node.value
        for node in ast.walk(source)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and name.match(node.value)
    }
    assert typed <= set(events.actions()), typed - set(events.actions())
    assert len(events.actions()) >= 38
    assert [action for action in events.actions() if action not in events.WORDS] == []
