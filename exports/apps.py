from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Snapshot exports"

    def ready(self) -> None:
        # Sign-in attempts are not our writes, so the audit hears of them through auth's signals.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.backends.signals import connection_created

        from exports import (
            checks,  # noqa: F401 - registers the deploy checks
            search_text,
            signins,
            tasks,  # noqa: F401 - registers the tasks behind exports.enqueue's steps
        )
        from portal.middleware import remember_time_zone

        connection_created.connect(search_text.register_sqlite_functions, dispatch_uid="exports.sqlite_functions")
        user_login_failed.connect(signins.record_login_failed, dispatch_uid="exports.audit_login_failed")
        user_locked_out.connect(signins.record_locked_out, dispatch_uid="exports.audit_locked_out")
        user_logged_in.connect(remember_time_zone, dispatch_uid="portal.remember_time_zone")
