"""The rows of My exports, the auditor's history and the audit log as HTML, built in Python.

The Django template engine resolved some 60 variables and tags per row, 25 rows a page; built here,
the same markup costs My exports about 2 ms less a page (BENCHMARKS.md, "List pages"), with
format_safe (exports/markup.py) in place of format_html. The templates call these through the
`export_row`, `history_row` and `export_estimate` tags (exports/templatetags/history_words.py); the
rows' data comes from history.decorate.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

from exports import events, history, links
from exports.markup import format_safe
from exports.models import Export
from exports.snapshot_rules import FORMAT_WORDS

S = Export.Status


# The date filter's formats the rows use, as strftime writes them (T: the zone's abbreviation).
_STRFTIME = {"Y-m-d H:i T": "%Y-%m-%d %H:%M %Z", "Y-m-d H:i:s T": "%Y-%m-%d %H:%M:%S %Z", "H:i:s": "%H:%M:%S"}


def when(value, fmt: str) -> str:
    """As the template's date filter: in the current time zone, Django's format characters."""
    local = timezone.localtime(value)
    return local.strftime(_STRFTIME[fmt]) if fmt in _STRFTIME else date_format(local, fmt)


def _join(parts) -> SafeString:
    return SafeString("\n".join(parts))  # each part came from _html; spaces between inline ones


def _file_label(file, *, numbered: bool) -> str:
    label = FORMAT_WORDS.get(file.format, file.format)
    if numbered:
        label += f" {file.index + 1}"
    return label + (f" part {file.part + 1}" if file.parts > 1 else "")


def estimate(export) -> SafeString:
    """ "about 40 s left" with the expected time as its title (list rows and the export's page)."""
    if not export.estimate_text:
        return SafeString("")
    if export.estimated_finish_at:
        title = format_safe(' title="Expected by {}"', when(export.estimated_finish_at, "H:i:s"))
    elif export.estimated_start_at:
        title = format_safe(' title="Expected to start by {}"', when(export.estimated_start_at, "H:i:s"))
    else:
        title = ""
    return format_safe('<span class="muted estimate"{}>{}</span>', title, export.estimate_text)


_STATUS_WORDS = dict(S.choices)  # get_status_display() without its per-call dict of the choices


def _badge(export) -> SafeString:
    words = _STATUS_WORDS.get(export.status, export.status)
    return format_safe('<span class="badge status-{}">{}</span>', export.status.lower(), words)


def _status(export) -> SafeString:
    parts = [_badge(export)]
    if export.queue_position:
        position = export.queue_position
        parts.append(format_safe('<div class="muted queue-position">Position {} in the queue</div>', position))
    parts.append(estimate(export))
    if export.error_message:
        kind = "note" if export.status == S.CANCELLED else "error"
        parts.append(format_safe('<div class="{}">{}</div>', kind, export.error_message))
    return _join(parts)


def _my_files(export) -> SafeString:
    if not export.file_list:
        return format_safe('<span class="muted">{}</span>', "none" if export.is_terminal else "not yet")
    parts = []
    for file in export.file_list:
        if file.is_ready:
            size = ""
            if file.size_bytes is not None:
                size = format_safe(' <span class="size">({})</span>', filesizeformat(file.size_bytes))
            label = _file_label(file, numbered=export.file_count > 1)
            link = format_safe('<a class="button download" href="{}">Download {}{}</a>', file.download_url, label, size)
            parts.append(link)
        elif file.error_code:
            label = _file_label(file, numbered=True)
            parts.append(format_safe('<div class="error">{}: {}</div>', label, file.error_message or file.error_code))
    return _join(parts)


def my_export_row(export, *, user_id, csrf_token: str) -> SafeString:
    """A row of My exports; one that has not ended polls its own address every 2 s."""
    polling = ""
    if not export.is_terminal:
        polling = format_safe(' hx-get="{}" hx-trigger="every 2s" hx-swap="outerHTML"', export.row_url)
    actions = []
    if export.user_id == user_id:
        actions.append(format_safe('<a class="button" href="{}">Re-run</a>', export.rerun_url))
        if export.status == S.PENDING:
            actions.append(
                format_safe(
                    '<form method="post" action="{0}" hx-post="{0}" hx-target="#export-{1}" hx-swap="outerHTML">'
                    '<input type="hidden" name="csrfmiddlewaretoken" value="{2}">'
                    '<button type="submit">Cancel</button></form>',
                    export.cancel_url,
                    export.pk,
                    csrf_token,
                )
            )
    return format_safe(
        '<tr id="export-{}" class="export-row" data-status="{}"{}>'
        '<td><a href="{}">{}</a><div class="muted">{}</div></td>'
        "<td>{}</td><td>{}</td><td>{}</td>"
        '<td class="files">{}</td><td class="actions">{}</td></tr>\n',
        export.pk,
        export.status,
        polling,
        export.detail_url,
        export.dashboard.name,
        when(export.created_at, "Y-m-d H:i T"),
        export.outputs_text,
        _status(export),
        export.duration,
        _my_files(export),
        _join(actions),
    )


def digest_start(digest: str) -> str:
    """truncatechars(digest, 13) for a hex digest (a file's sha256, an audit event's hash): 12 characters
    and an ellipsis. Django's Truncator took 7.7 us a call, for 50 digests a page."""
    return digest if len(digest) <= 13 else digest[:12] + "\u2026"


def _none() -> SafeString:
    return SafeString('<span class="muted">none</span>')


def _history_files(export) -> SafeString:
    parts = []
    for file in export.file_list:
        error = format_safe(' <span class="error">{}</span>', file.error_code) if file.error_code else ""
        checksum = ""
        if file.sha256:
            checksum = format_safe(' <span class="muted checksum">sha256 {}</span>', digest_start(file.sha256))
        parts.append(format_safe("<div>{}{}{}</div>", _file_label(file, numbered=True), error, checksum))
    return _join(parts) or _none()


def _downloads(export) -> SafeString:
    parts = []
    for event in export.downloads:  # dicts of download events (history.decorate_history)
        where = format_safe(" from {}", event["ip_address"]) if event["ip_address"] else ""
        which = history.downloaded_file(event["data"]).words
        parts.append(
            format_safe(
                '<div>{} {}{}<div class="muted">{}</div></div>',
                event["actor_username"],
                when(event["created_at"], "Y-m-d H:i T"),
                where,
                which,
            )
        )
    return _join(parts) or _none()


def history_row(export) -> SafeString:
    """A row of the auditor's history: who, what, with which RLS identity, its AWS ids, files and downloads.
    The export comes from history.history_exports (names as columns) and history.decorate_history."""
    what = [format_safe("<div>{}</div>", export.outputs_text)]
    what += [format_safe('<div class="muted">{}</div>', line) for line in export.parameters]
    if export.destination_name:
        what.append(format_safe('<div class="muted">to {}</div>', export.destination_name))
    rls = (
        SafeString("".join(format_safe("<div>{} = {}</div>", tag["Key"], tag["Value"]) for tag in export.rls))
        or _none()
    )
    status = [_badge(export)]
    if export.aws_job_status:
        status.append(format_safe('<div class="muted">QuickSight: {}</div>', export.aws_job_status))
    if export.error_code:
        status.append(format_safe('<div class="error">{}: {}</div>', export.error_code, export.error_message))
    if export.error_detail:
        status.append(format_safe('<div class="reason">{}</div>', export.error_detail))
    ids = [format_safe("<code>{}</code>", export.snapshot_job_id)]
    if export.start_request_id:
        ids.append(format_safe('<div class="muted">request {}</div>', export.start_request_id))
    if export.job_arn:
        ids.append(format_safe('<div class="muted">{}</div>', export.job_arn))
    return format_safe(
        '<tr id="history-{}">'
        '<td><a href="{}">{}</a><div>{}</div></td>'
        '<td>{}<div class="muted">{}</div>{}</td>'
        '<td class="rls">{}</td><td>{}</td><td>{}</td><td>{}</td><td class="downloads">{}</td></tr>\n',
        export.pk,
        export.detail_url,
        when(export.created_at, "Y-m-d H:i:s T"),
        export.requester,
        export.dashboard_name,
        export.quicksight_dashboard_id,
        _join(what),
        rls,
        _join(status),
        _join(ids),
        _history_files(export),
        _downloads(export),
    )


def audit_event_row(event) -> SafeString:
    """A row of the audit log: when, who from where, the action in words, its export and data, its hash."""
    where = format_safe('<div class="muted">{}</div>', event.ip_address) if event.ip_address else ""
    file = history.download_words(event)
    export = ""
    if event.export_id:
        name = event.export.dashboard.name or event.export_id
        export = format_safe('<a href="{}">{}</a>', links.url("exports:detail", event.export_id), name)
    data = format_safe('<pre class="event-data">{}</pre>', pretty_json(event.data)) if event.data else ""
    return format_safe(
        "<tr><td>{}</td><td>{}</td>\n"
        "      <td>{}{}</td>\n"
        "      <td>{}{}\n"
        '        <div class="muted"><code>{}</code></div></td>\n'
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        '      <td><code title="{}">{}</code></td></tr>',
        event.seq,
        when(event.created_at, "Y-m-d H:i:s T"),
        event.actor_username or "system",
        where,
        events.words(event.action),
        format_safe("<div>{}</div>", file) if file else "",
        event.action,
        export,
        data,
        event.hash,
        digest_start(event.hash),
    )


def pretty_json(data) -> str:
    """An event's data as indented JSON (escaped where it is shown: never interpreted)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
