"""What the DEBUG error page may show."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# user:password@ inside a URL (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, and their META twins).
_URL_PASSWORD = re.compile(r"(?P<user>://[^:/@\s]*):[^@/\s]+@")


class CredentialSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django hides settings named like KEY, SECRET or PASS. AWS_LOCAL_CREDENTIALS matches none of
    them, and a password inside a URL hides behind any name: hide both, keep the rest readable."""

    hidden_settings = re.compile(SafeExceptionReporterFilter.hidden_settings.pattern + "|CREDENTIAL", flags=re.I)

    def cleanse_setting(self, key, value):
        # str(): lazy settings (django-axes's) pass isinstance(str) but are no string to re.
        if isinstance(value, str) and _URL_PASSWORD.search(str(value)):
            return _URL_PASSWORD.sub(rf"\g<user>:{self.cleansed_substitute}@", str(value))
        return super().cleanse_setting(key, value)
