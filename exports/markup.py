"""format_html's output without its checks for lazy strings, for markup built in Python per row or option.

A third of the list rows' time was format_html's own: every value here is escaped as Django's escape
does (html.escape), and what is already safe (has __html__) is kept as it is.
"""

from __future__ import annotations

import html

from django.utils.safestring import SafeString


def escaped(value) -> str:
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def format_safe(template: str, *values) -> SafeString:
    """format_html(template, *values) for templates with positional fields."""
    return SafeString(template.format(*(escaped(v) for v in values)))
