from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, parse_database_url
from tests.services import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7#kq2!v9m$w4z@p8r&t1y^u6i*o3e%a5s(d0f)g-h_j+l=c-K3n8Qw2Lr5Tz9Yb4",
    "ALLOWED_HOSTS": "exports.example.com",
    "PORTAL_BASE_URL": "https://exports.example.com",
    "QUICKSIGHT_ENDPOINT_URL": "aws",
    "AUDIT_CHAIN_KEY": "k4#Vt9!qZ2m$Wx7@Lp3&Rb8^Nc5*Hd1%Fg6(Js0)Ty",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "AUDIT_CHAIN_KEY", "TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("ON", True), ("no", False), ("0", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not expected) is expected


def test_env_bool_names_the_variable_on_a_bad_value(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", default=False)


def test_env_int_refuses_text_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("WORKERS", "many")
    with pytest.raises(ImproperlyConfigured, match="WORKERS='many' is not an integer"):
        env_int("WORKERS", 1)
    monkeypatch.setenv("WORKERS", "0")
    with pytest.raises(ImproperlyConfigured, match="WORKERS=0 is below the minimum of 1"):
        env_int("WORKERS", 1, minimum=1)


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example.com, b.example.com ,")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example.com", "b.example.com"]


def test_database_url_becomes_a_postgres_entry():
    entry = parse_database_url("DATABASE_URL", "postgres://u:p%40ss@db.internal:6543/portal?sslmode=require")
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"]) == ("portal", "u", "p@ss")
    assert (entry["HOST"], entry["PORT"], entry["OPTIONS"]) == ("db.internal", "6543", {"sslmode": "require"})


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://h/db", "must be a postgres:// URL"), ("postgres://h:5432/", "names no database")],
)
def test_database_url_refuses_what_it_cannot_use(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url("DATABASE_URL", url)


def test_settings_refuse_debug_maybe_and_name_it():
    result = run_manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_key_refuses_to_start():
    result = run_manage("check", env={"DEBUG": "false", "ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off (for development: DEBUG=true)" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_audit_chain_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "AUDIT_CHAIN_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY must be set when DEBUG is off (for development: DEBUG=true)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AUDIT_CHAIN_KEY", "short"), ("AUDIT_CHAIN_PREVIOUS_KEYS", "x" * 40 + ",too-short")],
)
def test_short_audit_chain_keys_are_refused_by_name(variable, value):
    result = run_manage("check", env={**PRODUCTION_ENV, variable: value})
    assert result.returncode != 0
    assert f"{variable}: each key must be at least 32 characters long" in result.stderr


def test_checkpoint_sink_must_be_a_directory_or_a_bucket():
    result = run_manage("check", env={"DEBUG": "true", "AUDIT_CHECKPOINT_SINK": "ftp://vault/audit"})
    assert result.returncode != 0
    rule = "must be file:///absolute/dir or s3://bucket[/prefix]"
    assert f"AUDIT_CHECKPOINT_SINK='ftp://vault/audit' {rule}" in result.stderr


def test_manage_check_passes_in_development():
    result = run_manage("check", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rls_tag_values_never_reach_the_logs_even_at_debug():
    """botocore logs whole request bodies at DEBUG; a real call with a tag must not show its value."""
    script = """
import logging, django
django.setup()
from django.conf import settings
from exports import aws
from quicksight_local.server import serve_in_thread
with serve_in_thread() as (url, state):
    settings.QUICKSIGHT_ENDPOINT_URL = url
    aws.reset_clients()
    try:
        aws.quicksight_client().start_dashboard_snapshot_job(
            AwsAccountId="111122223333", DashboardId="no-such-dashboard", SnapshotJobId="j1",
            UserConfiguration={"AnonymousUsers": [{"RowLevelPermissionTags": [
                {"Key": "region", "Value": "secret-EMEA-tag-value"}]}]},
            SnapshotConfiguration={"FileGroups": [{"Files": [{"FormatType": "PDF", "SheetSelections": [
                {"SheetId": "s", "SelectionScope": "ALL_VISUALS"}]}]}]},
        )
    except aws.ClientError as exc:
        print("answered", exc.response["Error"]["Code"])
"""
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}}
    env = {**clean, "DEBUG": "true", "LOG_LEVEL": "DEBUG", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "answered ResourceNotFoundException" in result.stdout, result.stderr[-2000:]
    assert "secret-EMEA-tag-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(("endpoint", "mounted"), [(None, True), ("aws", False), ("http://qs.internal:8400", False)])
def test_quicksight_local_is_mounted_only_when_the_portal_uses_it(endpoint, mounted):
    env = {"DEBUG": "true"} | ({"QUICKSIGHT_ENDPOINT_URL": endpoint} if endpoint else {})
    script = "from django.urls import resolve; resolve('/quicksight-local/health'); print('mounted')"
    result = run_manage("shell", "-c", script, env=env)
    assert ("mounted" in result.stdout) is mounted, result.stderr[-500:]


def test_an_unknown_poll_schedule_is_refused_by_name():
    result = run_manage("check", env={"DEBUG": "true", "EXPORT_POLL_SCHEDULE": "often"})
    assert result.returncode != 0
    assert "EXPORT_POLL_SCHEDULE='often' is not one of estimate, doubling" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_answer_of_quicksight_local_before_a_jobs_end_is_refused_by_name():
    result = run_manage("check", env={"DEBUG": "true", "QUICKSIGHT_LOCAL_RESULT_BEFORE_END": "maybe"})
    assert result.returncode != 0
    assert "QUICKSIGHT_LOCAL_RESULT_BEFORE_END='maybe' is not one of error, status" in result.stderr
    assert "Traceback" not in result.stderr
