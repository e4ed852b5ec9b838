"""The portal's authentication backend: Django's ModelBackend whose get_user, run once a request, also
reads what every page's navigation asks: is this user an auditor, and did an export of theirs end
unseen? One query instead of three on each page (BENCHMARKS.md, "List pages")."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from exports import access, notices


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.annotate(
            auditor_grant=Exists(access.auditor_grants(OuterRef("pk"))),
            has_unseen_end=Exists(notices.unseen_ends(OuterRef("pk"))),
        )
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        access.remember_auditor(user, user.auditor_grant)
        return user
