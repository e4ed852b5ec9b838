"""docker-compose.yml is validated here (no Docker engine on CI): every command names something real."""

from __future__ import annotations

import importlib
import shutil
import subprocess

import pytest
import yaml
from django.core.management import get_commands

from tests.services import ROOT, skip_or_fail

COMPOSE = ROOT / "docker-compose.yml"
REQUIRED_SERVICES = {"web", "worker", "beat", "redis", "postgres", "minio"}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_has_every_service_with_a_healthcheck_where_it_serves(services):
    assert set(services) >= REQUIRED_SERVICES
    for name in ("web", "worker", "redis", "postgres", "minio"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"


def test_every_portal_command_names_something_in_the_project(services):
    for name, service in services.items():
        command = service.get("command") or []
        if "image" in service and service["image"] != "snapshot-export-portal":
            continue
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in get_commands(), f"{name}: manage.py {command[2]} does not exist"
        elif command[0] == "celery":
            assert importlib.import_module(command[command.index("-A") + 1]).celery_app
        elif command[0] == "gunicorn":
            module, attribute = command[1].split(":")
            assert callable(getattr(importlib.import_module(module), attribute))
        else:
            pytest.fail(f"{name}: unknown command {command}")


def test_env_example_names_every_variable_compose_needs():
    text = (ROOT / ".env.example").read_text()
    for variable in (
        "SECRET_KEY",
        "AUDIT_CHAIN_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "QUICKSIGHT_ENDPOINT_URL",
        "S3_ENDPOINT_URL",
    ):
        assert f"{variable}=" in text


def test_docker_compose_config_is_valid():
    if shutil.which("docker-compose") is None:
        skip_or_fail("docker-compose v1 is not installed (apt-get install docker-compose)")
    env_file = ROOT / ".env"
    created = not env_file.exists()
    if created:
        env_file.write_text((ROOT / ".env.example").read_text())
    try:
        result = subprocess.run(
            ["docker-compose", "-f", str(COMPOSE), "config", "-q"], cwd=ROOT, capture_output=True, text=True
        )
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr
