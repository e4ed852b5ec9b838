"""The QuickSight-compatible REST-JSON routes, mounted at /quicksight-local/ in the embedded default."""

urlpatterns: list = []
