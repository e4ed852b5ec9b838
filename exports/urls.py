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
    # audit
    path("audit/", audit.audit_history, name="audit"),
]
