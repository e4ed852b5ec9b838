"""The QuickSight-compatible REST-JSON routes (botocore's requestUri of each operation).

Mounted at /quicksight-local/ in the portal (the embedded default) and served at the root by
`manage.py run_quicksight_local` (quicksight_local.server).
"""

from django.urls import path, re_path

from quicksight_local import views

_DASHBOARD = "accounts/<str:account_id>/dashboards/<str:dashboard_id>"
_JOB = f"{_DASHBOARD}/snapshot-jobs/<str:job_id>"

urlpatterns = [
    path("accounts/<str:account_id>/dashboards", views.list_dashboards, name="qs_list_dashboards"),
    path(_DASHBOARD, views.describe_dashboard, name="qs_describe_dashboard"),
    path(f"{_DASHBOARD}/definition", views.describe_dashboard_definition, name="qs_describe_dashboard_definition"),
    path("accounts/<str:account_id>/data-sets/<str:dataset_id>", views.describe_data_set, name="qs_describe_data_set"),
    path(f"{_DASHBOARD}/snapshot-jobs", views.snapshot_jobs, name="qs_snapshot_jobs"),
    path(_JOB, views.describe_dashboard_snapshot_job, name="qs_describe_snapshot_job"),
    path(f"{_JOB}/result", views.describe_dashboard_snapshot_job_result, name="qs_describe_snapshot_job_result"),
    path("files/<str:job_key>/<str:filename>", views.download, name="qs_download"),
    path("health", views.health, name="qs_health"),
    re_path(r"^.*$", views.unknown_operation),
]
