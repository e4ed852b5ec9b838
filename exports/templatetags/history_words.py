"""Words for the history pages: a file format as people write it (CSV, Excel, PDF), an audit action in
words, which file a download was, an event's data as indented JSON; and the list rows (exports/rows.py)."""

from __future__ import annotations

from typing import Any

from django import template

from exports import events, history, rows
from exports.snapshot_rules import FORMAT_WORDS

register = template.Library()


@register.filter
def format_word(value: str) -> str:
    return FORMAT_WORDS.get(value, value)


@register.filter
def action_words(action: str) -> str:
    return events.words(action)


@register.filter
def downloaded_file(event) -> str:
    """Which file a download event was about ("File 1 (PDF): name.pdf"); empty for other events."""
    return history.download_words(event)


@register.filter
def pretty_json(data: Any) -> str:
    """Escaped by the template like any text: the JSON is shown, never interpreted."""
    return rows.pretty_json(data)


@register.simple_tag(takes_context=True)
def export_row(context, export):
    """A row of My exports (exports/rows.py); the CSRF token is read only for a Cancel button."""
    return rows.my_export_row(export, user_id=context["user"].pk, csrf_token=context.get("csrf_token", ""))


@register.simple_tag
def history_row(export):
    return rows.history_row(export)


@register.simple_tag
def audit_event_row(event):
    return rows.audit_event_row(event)


@register.simple_tag
def export_estimate(export):
    return rows.estimate(export)
