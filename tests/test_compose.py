"""docker-compose.yml is validated here (no Docker engine on CI): every command names something real."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from urllib.parse import urlsplit

import boto3
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


def test_the_image_starts_the_web_service_as_compose_does(services):
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert json.loads(cmd.removeprefix("CMD ")) == services["web"]["command"]


def test_the_image_leaves_out_local_secrets_and_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", "var", ".venv"} <= ignored


def test_the_portal_reaches_quicksight_local_at_an_address_botocore_accepts(services):
    values = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line)
    endpoint = values["QUICKSIGHT_ENDPOINT_URL"]
    known = set(services) | set(services["quicksight_local"]["networks"]["default"]["aliases"])
    assert urlsplit(endpoint).hostname in known
    # botocore refuses some host names compose would resolve ("quicksight_local": no "_" allowed).
    boto3.session.Session().client(
        "quicksight", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="y"
    )


def test_minio_accepts_the_key_pair_the_portal_signs_s3_calls_with(services):
    env = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    minio = services["minio"]["environment"]
    assert minio["MINIO_ROOT_USER"] == f"${{AWS_ACCESS_KEY_ID:-{env['AWS_ACCESS_KEY_ID']}}}"
    assert minio["MINIO_ROOT_PASSWORD"] == f"${{AWS_SECRET_ACCESS_KEY:-{env['AWS_SECRET_ACCESS_KEY']}}}"
