"""The names of export files: dashboard, what the file holds, when; safe on Windows, macOS and Linux.

`Sales Overview - Summary - 2026-12-03 1541.pdf`. Pure (no Django): the portal names downloads,
zips and audit records with it, and quicksight_local names the files it renders the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

# Well under the 255-byte limit of common file systems, leaving room for " (2)" and a browser's " (1)".
MAX_BYTES = 150
# Reserved on Windows (and ':' on macOS), or a path separator anywhere.
_REPLACED = {'"': "'", "/": "-", "\\": "-", ":": " -", "|": "-", "<": "(", ">": ")", "*": "-", "?": ""}
_SPACES = re.compile(r"\s+")
_DOTS = re.compile(r"\.{2,}")  # never `..`, which path checks refuse
# Windows strips trailing dots and spaces; a leading dot hides a file on Unix.
_TRIM = " .-"


def clean(text: str) -> str:
    """Text as a safe piece of a file name: no separators, reserved or control characters, no bidi tricks."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char in _REPLACED:
            kept.append(_REPLACED[char])
        elif category[0] == "Z" or char in "\t\n\r":
            kept.append(" ")
        elif category[0] != "C":  # control, format (bidi overrides, zero-width), surrogate, private, unassigned
            kept.append(char)
    return _DOTS.sub(".", _SPACES.sub(" ", "".join(kept))).strip(_TRIM)


def _fit(text: str, max_bytes: int) -> str:
    """At most max_bytes of UTF-8, cut between characters, with an ellipsis when cut."""
    if len(text.encode()) <= max_bytes:
        return text
    cut = text.encode()[: max(max_bytes - 3, 0)].decode(errors="ignore").rstrip(_TRIM)
    return f"{cut}…" if cut else ""


def subject(file_format: str, sheets: Sequence[str], visuals: Sequence[str]) -> str:
    """What the file holds: a PDF's sheet, a CSV's visual, an Excel workbook's visuals."""
    if file_format == "PDF" or not visuals:
        return ", ".join(dict.fromkeys(sheets))
    return ", ".join(dict.fromkeys(visuals))


def file_name(*, dashboard: str, subject: str, at: datetime, extension: str, part: int = 0, parts: int = 1) -> str:
    """`Dashboard - Subject - 2026-12-03 1541 UTC.ext`, `(part 2 of 3)` for one object of several.

    The zone rides along (as the pages show it): a file saved today is read next week, elsewhere."""
    zone = f" {at.tzname()}" if at.tzname() else ""
    tail = f" - {at:%Y-%m-%d %H%M}{zone}" + (f" (part {part + 1} of {parts})" if parts > 1 else "") + f".{extension}"
    budget = MAX_BYTES - len(tail.encode())
    head = _fit(clean(dashboard), budget // 2 if subject else budget) or "Export"
    what = _fit(clean(subject), budget - len(head.encode()) - 3)
    return f"{head} - {what}{tail}" if what else f"{head}{tail}"


def unique(names: Sequence[str]) -> list[str]:
    """The names in order, a repeated one (ignoring case, as Windows and macOS do) numbered ` (2)`, ` (3)`."""
    seen: set[str] = set()
    result = []
    for name in names:
        stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{stem} ({n}){dot}{extension}"
        seen.add(candidate.casefold())
        result.append(candidate)
    return result


def link_name(uri: str) -> str:
    """The name a browser saves a link's file under (its last path segment), made safe; "" if none."""
    return _fit(clean(unquote(urlsplit(uri).path.rpartition("/")[2])), MAX_BYTES)


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 8187)."""
    stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    ascii_stem = clean(unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()) or "download"
    fallback = f"{ascii_stem}{dot}{extension.encode('ascii', 'ignore').decode()}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
