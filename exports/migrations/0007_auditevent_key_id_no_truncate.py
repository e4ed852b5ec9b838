# The chain is keyed (HMAC, exports.audit): each event records the id of the key that signed it.
# On PostgreSQL TRUNCATE is refused too, like UPDATE and DELETE (0002): emptying the log and
# re-inserting a forged history was the one statement the row triggers did not see. Test runs
# empty the database with TRUNCATE; tests/conftest.py lets only that flush through.

from django.db import migrations, models

TRIGGER_SQL = """
DROP TRIGGER IF EXISTS exports_auditevent_no_truncate ON exports_auditevent;
CREATE TRIGGER exports_auditevent_no_truncate
    BEFORE TRUNCATE ON exports_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION exports_auditevent_refuse_change();
"""

DROP_SQL = "DROP TRIGGER IF EXISTS exports_auditevent_no_truncate ON exports_auditevent;"


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0006_exportfile_parts"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
