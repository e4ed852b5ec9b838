"""Deployment checks of the exports app (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def portal_base_url_is_set(app_configs, **kwargs) -> list[Error]:
    if settings.PORTAL_BASE_URL:
        return []
    return [
        Error(
            "PORTAL_BASE_URL is not set: the links in export mails would be relative and could not be clicked.",
            hint="Set PORTAL_BASE_URL to the address users open, like https://exports.example.com.",
            id="exports.E001",
        )
    ]
