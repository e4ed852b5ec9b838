"""Words for the history pages: a file format as people write it (CSV, Excel, PDF)."""

from __future__ import annotations

from django import template

from exports.snapshot_rules import FORMAT_WORDS

register = template.Library()


@register.filter
def format_word(value: str) -> str:
    return FORMAT_WORDS.get(value, value)
