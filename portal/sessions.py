"""Django's database sessions, read with one plain SELECT.

The session is read on every request (each page, each htmx poll of a running export), and Django's
store built that read with the ORM each time (QuerySet.get: a filter, its compilation, a model):
about 0.47 ms a read here against 0.26 ms for the same SELECT written out (BENCHMARKS.md, "List pages",
2026-12-05, second session). Everything else (writes, cycling the key at sign-in, expiry,
clearsessions) stays Django's own.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The unexpired session of this key, or None (and no key, as Django's store leaves it)."""
        model = self.model
        if self.session_key is None:  # no cookie, or one the base class refused as malformed
            return None
        connection = connections[router.db_for_read(model)]
        q = connection.ops.quote_name
        sql = (
            f"SELECT {q('session_data')} FROM {q(model._meta.db_table)}"
            f" WHERE {q('session_key')} = %s AND {q('expire_date')} > %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # load() reads only session_data; the model keeps _get_session_from_db's contract.
        return model(session_key=self.session_key, session_data=row[0])
