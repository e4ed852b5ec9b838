"""SECURITY.md names the tests that prove each promise: every one it names must exist."""

from __future__ import annotations

import re

from tests.services import ROOT


def test_every_test_security_md_names_exists():
    text = (ROOT / "SECURITY.md").read_text()
    named = re.findall(r"`(test_\w+\.py)?(?:::(\w+))?`", text)
    current = None
    missing = []
    for module, function in named:
        current = module or current
        source = (ROOT / "tests" / current).read_text() if (ROOT / "tests" / current).exists() else ""
        if not source or (function and f"def {function}(" not in source):
            missing.append(f"{current}::{function}" if function else current)
    assert named and not missing, f"SECURITY.md names tests that do not exist: {missing}"
