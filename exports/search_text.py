"""The text the history's search looks in: a column the database computes (Export.search_text).

Upper-cased ids, errors and the RLS tag values a request sent (not their keys), stored when a row is
written, so a search reads a column instead of evaluating the JSON path on each row it passes: the
count of a frequent word's matches ran 8.6 ms with the expression, 2.2 ms with the column, and its
planning 2.0 ms against 0.16 ms (BENCHMARKS.md, "List pages"). PostgreSQL indexes it with trigrams
(export_search_trgm_idx); SQLite searches it unindexed.
"""

from __future__ import annotations

import json

from django.db.models import F, Func, TextField

SEARCH_COLUMNS = ("snapshot_job_id", "start_request_id", "job_arn", "error_code", "error_message", "error_detail")
RLS_VALUES_JSONPATH = "$.UserConfiguration.AnonymousUsers[*].RowLevelPermissionTags[*].Value"
SQLITE_RLS_VALUES = "portal_rls_tag_values"
SQLITE_UPPER = "portal_upper"  # SQLite's UPPER changes ASCII letters only ("Zürich" -> "ZüRICH")


class RlsTagValues(Func):
    """The RLS tag values a request sent, as one JSON text ('["EMEA", "CC-4711"]'); keys are left out."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template=f"jsonb_path_query_array(%(expressions)s, '{RLS_VALUES_JSONPATH}')::text"
        )

    def as_sqlite(self, compiler, connection, **extra):
        # A generated column may call only deterministic functions, and SQLite's JSON functions have
        # no wildcard path: the portal's own function (registered on each SQLite connection).
        return self.as_sql(compiler, connection, template=f"{SQLITE_RLS_VALUES}(%(expressions)s)")


class SearchText(Func):
    """The expression of Export.search_text: upper-cased ids, errors and RLS tag values."""

    output_field = TextField()
    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "

    def __init__(self):
        super().__init__(*(F(column) for column in SEARCH_COLUMNS), RlsTagValues(F("request")))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=f"{SQLITE_UPPER}(%(expressions)s)")


def rls_tag_values(request: str | None) -> str:
    """SQLite's side of RlsTagValues: the same text PostgreSQL's jsonb gives."""
    try:
        users = json.loads(request or "{}").get("UserConfiguration", {}).get("AnonymousUsers", [])
        values = [tag.get("Value") for user in users for tag in user.get("RowLevelPermissionTags", [])]
    except (AttributeError, TypeError, ValueError):
        return "[]"
    return json.dumps(values, ensure_ascii=False)


def _upper(text: str | None) -> str | None:
    return None if text is None else text.upper()


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """connection_created's receiver: SQLite connections learn the functions of the generated column."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_RLS_VALUES, 1, rls_tag_values, deterministic=True)
        connection.connection.create_function(SQLITE_UPPER, 1, _upper, deterministic=True)
