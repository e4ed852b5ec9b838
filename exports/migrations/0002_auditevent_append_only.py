# The audit log is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE on its rows,
# whoever asks (the app, the admin, a psql session). SQLite has no such guard; verify_chain()
# still detects any change there. TRUNCATE is left alone so test databases can be flushed.

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION exports_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'exports_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS exports_auditevent_append_only ON exports_auditevent;
CREATE TRIGGER exports_auditevent_append_only
    BEFORE UPDATE OR DELETE ON exports_auditevent
    FOR EACH ROW EXECUTE FUNCTION exports_auditevent_refuse_change();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS exports_auditevent_append_only ON exports_auditevent;
DROP FUNCTION IF EXISTS exports_auditevent_refuse_change();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
    ]
