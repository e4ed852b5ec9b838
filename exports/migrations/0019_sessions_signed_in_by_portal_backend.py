"""Sessions signed in under ModelBackend now name PortalBackend (exports/backends.py), so nobody is
signed out by the deploy that brings it: Django loads a session's user only through a backend still
listed in AUTHENTICATION_BACKENDS."""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import migrations

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PORTAL_BACKEND = "exports.backends.PortalBackend"


def _rename(apps, old: str, new: str) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    for session in Session.objects.iterator(chunk_size=1000):
        data = store.decode(session.session_data)  # {} for a session it cannot read
        if data.get(BACKEND_SESSION_KEY) == old:
            data[BACKEND_SESSION_KEY] = new
            session.session_data = store.encode(data)
            session.save(update_fields=["session_data"])


def forwards(apps, schema_editor):
    _rename(apps, MODEL_BACKEND, PORTAL_BACKEND)


def backwards(apps, schema_editor):
    _rename(apps, PORTAL_BACKEND, MODEL_BACKEND)


class Migration(migrations.Migration):
    dependencies = [("exports", "0018_user_dashboard_index"), ("sessions", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
