"""The portal's authentication backend: Django's ModelBackend whose get_user, run once a request, also
reads what every page's navigation asks: is this user an auditor, and did an export of theirs end
unseen? One query instead of three on each page (BENCHMARKS.md, "List pages").

The query is written out, not built by the ORM: it runs on every request, and the ORM's shape (the
permission joined to its content type, user and group grants through four LEFT JOINs and an OR) took
PostgreSQL about 1 ms to plan and Django as long again to compile; this one (the permission, then a
grant to the user or to one of their groups) plans in about 0.25 ms, and get_user takes 0.6 ms, not 2.6.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection

from exports import access
from exports.models import Export


@cache
def _user_query() -> str:
    """SELECT the user with auditor_grant and has_unseen_end; table names from the models' own."""
    q = connection.ops.quote_name
    user_model = get_user_model()
    users, user_perms = user_model._meta.db_table, user_model.user_permissions.through._meta.db_table
    memberships = user_model.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    return f"""
        SELECT u.*,
            EXISTS(SELECT 1 FROM {q(Permission._meta.db_table)} p
                   JOIN {q(ContentType._meta.db_table)} c ON c.{q("id")} = p.{q("content_type_id")}
                   WHERE c.{q("app_label")} = %s AND p.{q("codename")} = %s AND (
                       EXISTS(SELECT 1 FROM {q(user_perms)} up
                              WHERE up.{q("user_id")} = u.{q("id")} AND up.{q("permission_id")} = p.{q("id")})
                       OR EXISTS(SELECT 1 FROM {q(memberships)} ug
                              JOIN {q(group_perms)} gp ON gp.{q("group_id")} = ug.{q("group_id")}
                              WHERE ug.{q("user_id")} = u.{q("id")} AND gp.{q("permission_id")} = p.{q("id")})))
                AS auditor_grant,
            EXISTS(SELECT 1 FROM {q(Export._meta.db_table)} e
                   WHERE e.{q("end_notice")} > {int(Export.EndNotice.NONE)} AND e.{q("user_id")} = u.{q("id")})
                AS has_unseen_end
        FROM {q(users)} u WHERE u.{q("id")} = %s
    """


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.to_python(user_id)
        except ValidationError:  # a session naming no valid primary key: nobody, as ModelBackend answers
            return None
        params = [*access.AUDITOR_PERMISSION, pk]
        user = next(iter(user_model._default_manager.raw(_user_query(), params)), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        access.remember_auditor(user, bool(user.auditor_grant))
        user.has_unseen_end = bool(user.has_unseen_end)  # SQLite answers 0 or 1; EndNotices asks "is False"
        return user
