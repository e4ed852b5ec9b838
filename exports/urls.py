from django.urls import path

from exports.views import audit, catalog, exports

app_name = "exports"

urlpatterns = [
    # catalog
    path("dashboards/", catalog.dashboard_list, name="dashboards"),
    # form
    # exports
    path("exports/", exports.export_list, name="list"),
    path("exports/<uuid:export_id>/", exports.export_detail, name="detail"),
    path("exports/<uuid:export_id>/row/", exports.export_row, name="row"),
    path("exports/<uuid:export_id>/cancel/", exports.export_cancel, name="cancel"),
    path("exports/<uuid:export_id>/files/<int:index>/download", exports.export_file_download_view, name="download"),
    # audit
    path("audit/", audit.audit_history, name="audit"),
    path("audit/history.csv", audit.audit_history_download, {"fmt": "csv"}, name="audit_csv"),
    path("audit/history.jsonl", audit.audit_history_download, {"fmt": "jsonl"}, name="audit_jsonl"),
    path("audit/chain/", audit.audit_chain, name="audit_chain"),
    path("audit/events/", audit.audit_events, name="audit_events"),
]
