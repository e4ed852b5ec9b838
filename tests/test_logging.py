"""Logs carry no secrets: request lines lose signatures, production logs are JSON, and a whole
export (login, submit, a real worker, download) leaves no password, session id, signed link or
RLS tag value in any log line of the web server or the worker."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from exports.models import Dashboard, Export, Grant, RlsTagMapping
from portal.logging import REDACTED, redact
from tests.services import celery_worker, free_port, port_open, supervised, worker_env

SIGNATURE = "SiGnAtUrE0123456789abcdef"
CREDENTIAL = "AKIAEXAMPLE7KEY/20261129/us-east-1/s3/aws4_request"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /f.csv?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12&X-Amz-Expires=60 HTTP/1.1",
            "GET /f.csv?X-Amz-Algorithm=AWS4&X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=60 "
            "HTTP/1.1",
        ),
        ("/files/j/a.pdf?X-Expires=9&X-Signature=ff00", "/files/j/a.pdf?X-Expires=9&X-Signature=[redacted]"),
        ("https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIA&Signature=x%2By&Expires=1", None),
        ("Cookie: csrftoken=c; sessionid=abc123", "Cookie: csrftoken=c; sessionid=[redacted]"),
        ("login failed: password=hunter2", "login failed: password=[redacted]"),
        ("""{'Key': 'region', 'Value': 'EMEA'}""", """{'Key': 'region', 'Value': '[redacted]'}"""),
        ('{"Key": "region", "Value": "EMEA,\\"APAC\\""}', '{"Key": "region", "Value": "[redacted]"}'),
        ("cannot connect to postgres://portal:s3cret@db:5432/portal", "postgres://portal:[redacted]@db:5432/portal"),
        ("GET /exports/?status=COMPLETED&page=2 HTTP/1.1", "GET /exports/?status=COMPLETED&page=2 HTTP/1.1"),
    ],
)
def test_redact_takes_out_secrets_and_keeps_the_rest(text, expected):
    if expected is None:
        assert "x%2By" not in redact(text) and "AKIA" not in redact(text) and "Expires=1" in redact(text)
    else:
        assert expected in redact(text)


def test_log_format_must_be_json_or_plain():
    from tests.test_settings import run_manage

    result = run_manage("check", env={"DEBUG": "true", "LOG_FORMAT": "xml"})
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' must be json or plain" in result.stderr


# --- real servers, real request lines ---


@contextmanager
def server(argv: list[str], *, env: dict[str, str | None], port: int, log_path: Path):
    """A portal process serving on `port`; its whole output (stdout and stderr) goes to log_path."""
    cmd = [sys.executable, *argv]
    with supervised(cmd, env=worker_env(**env), log_path=log_path, ready=lambda: port_open("127.0.0.1", port)) as proc:
        yield proc


def gunicorn_argv(port: int) -> list[str]:
    # The flags of the Dockerfile and compose, plus one process (quicksight_local keeps its jobs in
    # memory) and no control socket (parallel test runs would share ~/.gunicorn/gunicorn.ctl).
    return [
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--config",
        "python:portal.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--no-control-socket",
    ]


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


SERVERS = {
    # (argv, DEBUG, path prefix of quicksight_local's file route)
    "runserver": (
        lambda port: ["manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        "true",
        "/quicksight-local",
    ),
    "quicksight_local": (
        lambda port: ["manage.py", "run_quicksight_local", "--host", "127.0.0.1", "--port", str(port)],
        "true",
        "",
    ),
    "gunicorn": (gunicorn_argv, "false", "/quicksight-local"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SERVERS))
def test_request_lines_keep_the_path_but_never_the_signature(name, tmp_path):
    argv, debug, prefix = SERVERS[name]
    port = free_port()
    env = {
        "DEBUG": debug,
        "VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path),
        "DATABASE_URL": None,
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    log_path = tmp_path / "server.log"
    with server(argv(port), env=env, port=port, log_path=log_path):
        link = f"http://127.0.0.1:{port}{prefix}/files/job-1/orders.csv?X-Expires=1&X-Signature={SIGNATURE}"
        assert fetch(link) == 403
        query = urllib.parse.urlencode({"X-Amz-Credential": CREDENTIAL, "X-Amz-Signature": SIGNATURE, "page": "2"})
        assert fetch(f"http://127.0.0.1:{port}{prefix}/nowhere?{query}") == 404
        # Servers write the request line after the response has gone: wait for both before stopping.
        deadline = time.monotonic() + 10
        while not all(f"{path}?" in log_path.read_text() for path in ("orders.csv", "/nowhere")):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    text = log_path.read_text()

    assert f"GET {prefix}/files/job-1/orders.csv?X-Expires=1&X-Signature={REDACTED} HTTP/1.1" in text
    assert f"X-Amz-Signature={REDACTED}&page=2" in text
    for secret in (SIGNATURE, "AKIAEXAMPLE7KEY", urllib.parse.quote(CREDENTIAL, safe="")):
        assert secret not in text, f"{name} logged {secret}"
    if debug == "false":
        lines = [line for line in text.splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # production: every line is one JSON object
        assert {r["logger"] for r in records} >= {"gunicorn.error", "gunicorn.access"}


# --- a whole export, as production runs it ---

FAST_WORKER = {
    "EXPORT_POLL_FIRST_SECONDS": "0.2",
    "EXPORT_POLL_MAX_SECONDS": "1",
    "EXPORT_STEP_LEASE_SECONDS": "5",
    "EXPORT_RECONCILE_GRACE_SECONDS": "0",
}
TAG_VALUE = "EMEA,tag-value-7c1f5e"  # two values (the dataset's delimiter): rows for EMEA, and a marker


class Browser:
    """Cookies, CSRF tokens and redirects as a browser keeps them, over plain HTTP."""

    def __init__(self, base: str):
        self.base, self.cookies = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.no_redirects = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        _, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def redirect_of(self, path: str) -> str:
        try:
            self.no_redirects.open(self.base + path, timeout=30)
        except urllib.error.HTTPError as answer:
            assert answer.code == 302, answer.code
            return answer.headers["Location"]
        raise AssertionError(f"{path} did not redirect")

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.cookies if c.name == name)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_whole_export_leaves_no_secret_in_any_log(demo_users, redis_url, tmp_path, settings):
    from exports import aws
    from exports.sync import sync_dashboards

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "DEBUG": "false",  # production's log format (JSON); TESTING keeps the test's plain storage and http
        "REDIS_URL": redis_url,
        "STATIC_ROOT": str(tmp_path),
        "QUICKSIGHT_ENDPOINT_URL": f"{base}/quicksight-local",
        "QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS": "0",
        "QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS": "0",
        **FAST_WORKER,
    }
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    alice = demo_users["alice"]
    RlsTagMapping.objects.filter(user=alice, tag_key="region").update(tag_value=TAG_VALUE)

    with (
        server(gunicorn_argv(port), env=env, port=port, log_path=web_log),
        celery_worker(redis_url, log_path=worker_log, extra_env={k: v for k, v in env.items() if k != "REDIS_URL"}),
    ):
        settings.QUICKSIGHT_ENDPOINT_URL = f"{base}/quicksight-local"
        aws.reset_clients()
        try:
            report = sync_dashboards(account_id="111122223333", region="us-east-1", dashboard_id="sales-overview")
        finally:
            aws.reset_clients()
        assert not any(d.error_code for d in report.dashboards), report
        Grant.objects.create(dashboard=Dashboard.objects.get(dashboard_id="sales-overview"), group=alice.groups.get())

        browser = Browser(base)
        url, _ = browser.post_form("/accounts/login/", {"username": "alice", "password": "alice-demo-pw"})
        assert url == f"{base}/dashboards/", url  # home sends a signed-in user to the dashboards
        session_id = browser.cookie("sessionid")
        url, _ = browser.post_form(
            "/exports/new/?dashboard=sales-overview",
            {
                "dashboard": "sales-overview",
                "files-0-format": "CSV",
                "files-0-visual": "top-countries",
                "action": "submit",
            },
        )
        export = Export.objects.get(pk=re.search(r"/exports/([0-9a-f-]{36})/$", url)[1])
        assert export.request["UserConfiguration"]["AnonymousUsers"][0]["RowLevelPermissionTags"] == [
            {"Key": "region", "Value": TAG_VALUE}
        ]
        deadline = time.monotonic() + 60
        while Export.objects.get(pk=export.pk).status not in Export.TERMINAL:
            assert time.monotonic() < deadline, "the export did not finish in 60 s"
            time.sleep(0.2)
        assert Export.objects.get(pk=export.pk).status == Export.Status.COMPLETED

        link = browser.redirect_of(f"/exports/{export.pk}/files/0/download")
        signature = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["X-Signature"][0]
        _, csv_text = browser.get(link.removeprefix(base))
        assert csv_text.startswith("Country,") and "Germany" in csv_text  # EMEA rows: the tag applied
        deadline = time.monotonic() + 10  # the access line is written after the response has gone
        while "/quicksight-local/files/" not in web_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    logs = {"web": web_log.read_text(), "worker": worker_log.read_text()}

    secrets = {
        "the RLS tag value": "tag-value-7c1f5e",
        "the link's signature": signature,
        "the session id": session_id,
        "the password": "alice-demo-pw",
    }
    for process, text in logs.items():
        for what, secret in secrets.items():
            leaks = [line for line in text.splitlines() if secret in line]
            assert not leaks, f"the {process} log carries {what}: {leaks[:3]}"
    web_records = [json.loads(line) for line in logs["web"].splitlines() if line.startswith("{")]
    access = [r["message"] for r in web_records if r["logger"] == "gunicorn.access"]
    assert any(f"X-Signature={REDACTED}" in line for line in access), access
    assert any(f"/exports/{export.pk}/files/0/download" in line for line in access)
    worker_records = [json.loads(line) for line in logs["worker"].splitlines() if line.startswith("{")]
    assert any(r["logger"] == "exports.jobs" and "COMPLETED" in r["message"] for r in worker_records), logs["worker"]
