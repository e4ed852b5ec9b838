from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Snapshot exports"

    def ready(self) -> None:
        from exports import checks  # noqa: F401 - registers the deploy checks
