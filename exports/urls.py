from django.urls import path

from exports.views import audit, catalog, exports, form, preferences, schedules, tokens

app_name = "exports"

urlpatterns = [
    # catalog
    path("dashboards/", catalog.dashboard_list, name="dashboards"),
    path("dashboards/<str:dashboard_id>/", catalog.dashboard_detail, name="dashboard"),
    # form
    path("exports/new/", form.export_new, name="new"),
    path("exports/new/files/", form.export_new_files, name="new_files"),
    path("exports/new/files/<int:index>/", form.export_new_file, name="new_file"),
    path("exports/new/parameters/<int:index>/", form.export_new_parameter, name="new_parameter"),
    path("exports/new/destination/", form.export_new_destination, name="new_destination"),
    # exports
    path("exports/", exports.export_list, name="list"),
    path("exports/<uuid:export_id>/", exports.export_detail, name="detail"),
    path("exports/<uuid:export_id>/row/", exports.export_row, name="row"),
    path("exports/<uuid:export_id>/cancel/", exports.export_cancel, name="cancel"),
    path("exports/<uuid:export_id>/files/download-all", exports.export_zip_download_view, name="download_all"),
    path("exports/<uuid:export_id>/retry-failed/", exports.export_retry_failed, name="retry_failed"),
    path("exports/<uuid:export_id>/files/<int:index>/download", exports.export_file_download_view, name="download"),
    path(
        "exports/<uuid:export_id>/files/<int:index>/parts/<int:part>/download",
        exports.export_file_download_view,
        name="download_part",
    ),
    # schedules
    path("schedules/", schedules.schedule_list, name="schedules"),
    path("schedules/new/", schedules.schedule_new, name="schedule_new"),
    path("schedules/new/preview/", schedules.schedule_new_preview, name="schedule_new_preview"),
    path("schedules/<int:schedule_id>/", schedules.schedule_detail, name="schedule"),
    path("schedules/<int:schedule_id>/edit/", schedules.schedule_edit, name="schedule_edit"),
    path("schedules/<int:schedule_id>/edit/preview/", schedules.schedule_edit_preview, name="schedule_edit_preview"),
    path("schedules/<int:schedule_id>/pause/", schedules.schedule_pause, name="schedule_pause"),
    path("schedules/<int:schedule_id>/resume/", schedules.schedule_resume, name="schedule_resume"),
    path("schedules/<int:schedule_id>/run/", schedules.schedule_run_now, name="schedule_run_now"),
    path("schedules/<int:schedule_id>/delete/", schedules.schedule_delete, name="schedule_delete"),
    path("schedules/<int:schedule_id>/opt-out/", schedules.schedule_opt_out, name="schedule_opt_out"),
    path("schedules/<int:schedule_id>/opt-in/", schedules.schedule_opt_in, name="schedule_opt_in"),
    # API tokens
    path("account/time-zone/", preferences.time_zone, name="time_zone"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    # audit
    path("audit/", audit.audit_history, name="audit"),
    path("audit/history.csv", audit.audit_history_download, {"fmt": "csv"}, name="audit_csv"),
    path("audit/history.jsonl", audit.audit_history_download, {"fmt": "jsonl"}, name="audit_jsonl"),
    path("audit/chain/", audit.audit_chain, name="audit_chain"),
    path("audit/events/", audit.audit_events, name="audit_events"),
]
