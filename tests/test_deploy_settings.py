"""Field-ready settings: the public base URL, PORT, whose credentials sign, and what the DEBUG page shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.views.debug import technical_500_response

from exports import jobs
from exports.models import Export
from tests.jobs_support import make_export
from tests.services import ROOT
from tests.test_settings import PRODUCTION_ENV, run_manage

DEMO_KEY_ID = "AKIALOCALDEMO0000000"
PROFILE_KEY_ID = "AKIAPROFILECHAIN0000"


def production_without(*names: str, **extra: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION_ENV.items() if k not in names} | extra


# --- PORTAL_BASE_URL ---


def test_check_deploy_reports_a_missing_portal_base_url_and_nothing_else():
    result = run_manage("check", "--deploy", env=production_without("PORTAL_BASE_URL"))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "(exports.E001) PORTAL_BASE_URL is not set" in output
    assert "identified 1 issue" in output, output


def test_portal_base_url_must_be_absolute_and_names_the_variable():
    result = run_manage("check", env=PRODUCTION_ENV | {"PORTAL_BASE_URL": "exports.example.com"})
    assert result.returncode != 0
    assert "PORTAL_BASE_URL='exports.example.com' is not an absolute http(s) URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_the_export_mail_links_to_the_portal_with_an_absolute_address(alice, settings):
    export = make_export(alice, status=Export.Status.COMPLETED)
    jobs.export_ended(export_id=export.pk)
    link = re.search(r"Open it in the portal: (\S+)", mail.outbox[-1].body)[1]
    parts = urlsplit(link)
    assert parts.scheme in {"http", "https"} and parts.netloc, link
    assert link == f"{settings.PORTAL_BASE_URL}/exports/{export.pk}/"


def test_portal_base_url_is_taken_without_its_trailing_slash():
    script = "from django.conf import settings; print(settings.PORTAL_BASE_URL)"
    env = PRODUCTION_ENV | {"PORTAL_BASE_URL": "https://exports.example.com/"}
    result = run_manage("shell", "-c", script, env=env)
    assert result.stdout.splitlines()[-1] == "https://exports.example.com", result.stderr[-500:]


# --- PORT ---


def test_port_moves_the_embedded_quicksight_endpoint_and_the_mail_links_along():
    script = "from django.conf import settings; print(settings.QUICKSIGHT_ENDPOINT_URL, settings.PORTAL_BASE_URL)"
    result = run_manage("shell", "-c", script, env={"DEBUG": "true", "PORT": "8123"})
    endpoint, base_url = result.stdout.splitlines()[-1].split()
    assert (endpoint, base_url) == ("http://127.0.0.1:8123/quicksight-local", "http://127.0.0.1:8123"), result.stderr


# --- credentials ---

SIGNING_SCRIPT = """
from exports import aws

class Sent(Exception):
    pass

def capture(request, **kwargs):
    raise Sent(request.headers["Authorization"])

client = aws.quicksight_client()
client.meta.events.register("before-send.quicksight", capture)
try:
    client.list_dashboards(AwsAccountId="111122223333")
except Sent as sent:
    header = sent.args[0].decode() if isinstance(sent.args[0], bytes) else sent.args[0]
    print("signed-by", header.split("Credential=")[1].split("/")[0])
"""


@pytest.mark.parametrize(
    ("endpoint", "signer"),
    [
        (None, DEMO_KEY_ID),  # embedded: mounted in the portal itself
        ("http://127.0.0.1:8400", DEMO_KEY_ID),  # a quicksight_local on this machine
        ("http://localhost:8400", DEMO_KEY_ID),
        ("aws", PROFILE_KEY_ID),
        ("https://quicksight-fips.us-east-1.amazonaws.com", PROFILE_KEY_ID),
        ("https://vpce-0a1b2c3d4e5f60718-abcdefgh.quicksight.us-east-1.vpce.amazonaws.com", PROFILE_KEY_ID),
        ("http://quicksight-local:8400", PROFILE_KEY_ID),  # compose: .env gives the keys explicitly
    ],
)
def test_the_demo_key_pair_signs_only_for_a_local_endpoint(tmp_path, endpoint, signer):
    """Elsewhere boto3's own chain signs (here a profile file, as an instance role would)."""
    profile = tmp_path / "credentials"
    profile.write_text(f"[default]\naws_access_key_id = {PROFILE_KEY_ID}\naws_secret_access_key = profile-secret\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST", "DJANGO_"))}
    env = {k: v for k, v in env.items() if k not in {"DATABASE_URL", "REDIS_URL", "QUICKSIGHT_ENDPOINT_URL"}}
    env |= {
        "DEBUG": "true",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "AWS_SHARED_CREDENTIALS_FILE": str(profile),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint:
        env["QUICKSIGHT_ENDPOINT_URL"] = endpoint
    script = "import django; django.setup()\n" + SIGNING_SCRIPT
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert f"signed-by {signer}" in result.stdout, result.stdout + result.stderr[-2000:]


@pytest.mark.parametrize(
    "keys",
    [None, f"{DEMO_KEY_ID}:local-demo-secret", "AKIAMYOWNKEY00000000:my-own-secret-value,AKIAOTHER:local-demo-secret"],
)
def test_production_refuses_to_mount_quicksight_local_on_the_published_key_pair(keys):
    env = production_without("QUICKSIGHT_ENDPOINT_URL") | ({"QUICKSIGHT_LOCAL_ACCESS_KEYS": keys} if keys else {})
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "QUICKSIGHT_LOCAL_ACCESS_KEYS accepts the published demo key pair" in result.stderr
    assert "local-demo-secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_production_mounts_quicksight_local_on_its_own_key_pair():
    own_keys = "AKIAMYOWNKEY00000000:my-own-secret"
    env = production_without("QUICKSIGHT_ENDPOINT_URL", QUICKSIGHT_LOCAL_ACCESS_KEYS=own_keys)
    script = "from django.urls import resolve; resolve('/quicksight-local/health'); print('mounted')"
    result = run_manage("shell", "-c", script, env=env)
    assert result.stdout.splitlines()[-1] == "mounted", result.stderr[-1000:]


# --- the DEBUG error page ---


def test_the_debug_error_page_hides_credentials_but_keeps_the_rest(rf, settings):
    settings.AWS_LOCAL_CREDENTIALS = ("AKIAPAGEKEYID0000000", "aws-secret-on-the-page")
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://:redis-pass-on-the-page@cache.internal:6379/0"
    request = rf.get("/exports/", DATABASE_URL="postgres://portal:db-pass-on-the-page@db.internal:5432/portal")
    # No traceback: its frames would show this test's own source, secrets included.
    page = technical_500_response(request, RuntimeError, RuntimeError("boom"), None).content.decode()

    for secret in ("AKIAPAGEKEYID0000000", "aws-secret-on-the-page", "redis-pass-on-the-page", "db-pass-on-the-page"):
        assert secret not in page
    assert "AWS_LOCAL_CREDENTIALS" in page and "cache.internal:6379" in page and "db.internal:5432" in page
