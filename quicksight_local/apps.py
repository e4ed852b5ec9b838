from django.apps import AppConfig


class QuicksightLocalConfig(AppConfig):
    name = "quicksight_local"
    verbose_name = "QuickSight (local)"
