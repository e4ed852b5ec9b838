"""Benchmarks that print figures: run one with `.venv/bin/python -m bench.<name>`."""

from __future__ import annotations

import os


def setup_scratch_django(tmp: str) -> None:
    """Django on a throwaway SQLite file under tmp (or DATABASE_URL if set: use a scratch database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "true")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = os.path.join(tmp, "bench.sqlite3")
    os.environ["VAR_DIR"] = tmp
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
