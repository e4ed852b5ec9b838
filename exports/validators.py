"""What any text from outside (a form field, a query parameter, a spec) must be before it goes further.

One rule for every entry point: the request guard (portal.middleware) and the spec check
(exports.snapshot.parse_spec) both ask here. No Django inside.
"""

from __future__ import annotations

import re

# Longer than anything a person types into this portal (ids are at most 512 characters, RLS values
# 256, usernames 150); Django caps passwords at the same 4096.
MAX_TEXT_CHARS = 4096

# A str holds a surrogate code point only when it came from broken input (JSON "\ud800", bytes
# decoded with surrogateescape): properly paired surrogates decode to one character.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_fault(value: str) -> tuple[str, str] | None:
    """(rule, words) for text that cannot be stored or is not text at all; None when it is fine."""
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL; no form field has a use for it either.
        return "text-nul", "contains a NUL character (\\x00)"
    if _SURROGATE.search(value):
        return "text-unicode", "is not valid Unicode (an unpaired surrogate, or bytes that are not UTF-8)"
    if len(value) > MAX_TEXT_CHARS:
        return "text-length", f"is longer than {MAX_TEXT_CHARS} characters"
    return None


def printable_name(name: str) -> str:
    """A field name safe to print even when it is the broken part (escapes NUL and surrogates)."""
    shown = name if text_fault(name[:MAX_TEXT_CHARS]) is None else ascii(name)[1:-1]
    return shown if len(shown) <= 100 else f"{shown[:100]}…"
