from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("dashboards/", views.dashboard_list, name="dashboards"),
    path("exports/", views.export_list, name="list"),
    path("audit/", views.audit_history, name="audit"),
]
