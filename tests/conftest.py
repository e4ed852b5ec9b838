from __future__ import annotations

import pytest
import redis as redis_lib

from tests.factories import make_demo_users
from tests.services import redis_test_url

AUDIT_NO_TRUNCATE_TRIGGER = "exports_auditevent_no_truncate"


@pytest.fixture(scope="session", autouse=True)
def _flush_lets_only_the_test_harness_truncate_the_audit_log():
    """pytest-django empties the database after transactional tests with one TRUNCATE of every
    table, which the audit log refuses on PostgreSQL (migration 0003). Only that flush gets the
    trigger switched off, inside its own transaction, so every test still meets the trigger."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if any("exports_auditevent" in sql for sql in sql_list):
            table = "ALTER TABLE exports_auditevent {} TRIGGER " + AUDIT_NO_TRUNCATE_TRIGGER
            sql_list = [table.format("DISABLE"), *sql_list, table.format("ENABLE")]
        return original(self, sql_list)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(autouse=True)
def audit_checkpoint_dir(settings, tmp_path):
    """Each test keeps its audit checkpoints to itself (the default sink is under var/, shared)."""
    directory = tmp_path / "audit-checkpoints"
    settings.AUDIT_CHECKPOINT_SINK = f"file://{directory}"
    return directory


@pytest.fixture(autouse=True)
def generous_user_limits(settings):
    """Per-person limits (exports/quota.py) live in Redis or var/ and outlast a test (and a test
    database, whose user ids repeat): only the tests of those limits set real ones."""
    settings.EXPORT_SUBMISSIONS_PER_HOUR = settings.DOWNLOADS_PER_MINUTE = 1_000_000
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 1_000_000


@pytest.fixture
def demo_users(db):
    """alice (EMEA) and bob (AMER) in Analysts, carol with nothing, audra the auditor, admin."""
    make_demo_users()
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def alice(demo_users):
    return demo_users["alice"]


@pytest.fixture
def bob(demo_users):
    return demo_users["bob"]


@pytest.fixture
def carol(demo_users):
    return demo_users["carol"]


@pytest.fixture
def audra(demo_users):
    return demo_users["audra"]


@pytest.fixture
def no_aws(monkeypatch):
    """Fails loudly if anything asks for an AWS client (e.g. a 404 path); lists who tried."""
    from exports import aws

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("no AWS call expected")

    monkeypatch.setattr(aws, "quicksight_client", refuse)
    monkeypatch.setattr(aws, "s3_client", refuse)
    return calls


@pytest.fixture
def s3_server(settings):
    """A real S3 endpoint (moto's server) on a free port; the portal's S3 clients point at it.
    Yields an S3 client for that endpoint: create the buckets the test needs."""
    from moto.server import ThreadedMotoServer

    from exports import aws
    from tests.services import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    aws.reset_clients()
    try:
        yield aws.s3_client("us-east-1")
    finally:
        server.stop()
        aws.reset_clients()


@pytest.fixture
def redis_url():
    url = redis_test_url()
    client = redis_lib.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright's own browser download does not work here)."""
    import os
    import shutil

    if shutil.which("chromium") is None:
        from tests.services import skip_or_fail

        skip_or_fail("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # live_server runs in this process; Playwright's sync API runs an event loop in it too.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def login(live_server, page):
    """login("alice") signs the browser in through the real login form; returns the page."""

    def sign_in(username: str, password: str | None = None):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password or f"{username}-demo-pw")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return sign_in


class QsLocal:
    """What the `qs_local` fixture yields: a running quicksight_local and its knobs."""

    def __init__(self, url: str, state):
        self.url, self.state = url, state

    @property
    def faults(self):
        return self.state.faults

    @property
    def limits(self):
        return self.state.limits

    @property
    def calls(self):
        return self.state.calls

    @property
    def account_id(self) -> str:
        return self.state.account_id

    def job(self, dashboard_id: str, snapshot_job_id: str):
        return self.state.get_job(self.account_id, dashboard_id, snapshot_job_id)

    def wait(self, dashboard_id: str, snapshot_job_id: str, statuses=("COMPLETED", "FAILED"), timeout: float = 30):
        """Block until the job reaches one of `statuses`; returns the status."""
        return self.state.wait_for(self.job(dashboard_id, snapshot_job_id), tuple(statuses), timeout)


@pytest.fixture
def qs_local(settings):
    """quicksight_local over real HTTP on a free port, with the portal's boto3 clients pointed at it.

    Sets settings.QUICKSIGHT_ENDPOINT_URL to its URL and the portal's dev credentials, calls
    exports.aws.reset_clients() before and after, and starts from a clean state: no jobs, empty
    call log, quotas and faults from settings, except that jobs spend no minimum time QUEUED or
    RUNNING (set `qs_local.faults.min_queued_seconds` / `min_running_seconds` to observe them).

    Yields an object with:
      .url          base URL (endpoint_url for boto3; exports.aws.quicksight_client() uses it)
      .account_id   the account it serves ("111122223333")
      .faults       quicksight_local.faults.Faults, change at runtime: latency, throttle_rate,
                    throttle_next_starts, limit_exceeded_next_starts, not_found_next_describes,
                    reverse_result_groups, min_queued_seconds, min_running_seconds, hold_jobs,
                    job_failure / file_failure (ErrorInfo dicts {"ErrorType", "ErrorMessage"}),
                    file_failure_index, result_before_end ("error" as AWS, or "status")
      .limits       quicksight_local.faults.Limits: max_running_jobs (12), max_calls_per_second
                    (10), job_id_reuse_seconds (86400)
      .calls        the call log: .all(operation=, outcome=), .count(operation=, outcome=),
                    .max_in_window(1.0, outcome="ok") (outcome=None: every call received, e.g. to
                    prove a client never sent more than 10 in a second); each Call has operation,
                    at, account_id, outcome ("ok" or the error code) and status
      .state        the ServiceState: .jobs, .max_active (most QUEUED+RUNNING at once),
                    .max_running, .active_jobs()
      .job(dashboard_id, job_id) / .wait(dashboard_id, job_id, statuses, timeout)
    """
    from exports import aws
    from quicksight_local.auth import access_keys
    from quicksight_local.server import serve_in_thread

    settings.QUICKSIGHT_LOCAL_MIN_QUEUED_SECONDS = 0
    settings.QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS = 0
    settings.AWS_LOCAL_CREDENTIALS = next(iter(access_keys().items()))
    aws.reset_clients()
    with serve_in_thread() as (url, state):
        settings.QUICKSIGHT_ENDPOINT_URL = url
        state.reset()
        try:
            yield QsLocal(url, state)
        finally:
            state.reset()
            aws.reset_clients()


@pytest.fixture
def quicksight_stubber(settings, tmp_path):
    """botocore's Stubber on the portal's QuickSight client (file quota, no Redis); every queued
    answer must be used by the end of the test."""
    from botocore.stub import Stubber

    from exports import aws
    from tests.jobs_support import REGION

    settings.VAR_DIR = tmp_path
    settings.REDIS_URL = None
    settings.QUICKSIGHT_ENDPOINT_URL = "http://127.0.0.1:9/never-called"
    aws.reset_clients()
    with Stubber(aws.quicksight_client(REGION)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.reset_clients()


@pytest.fixture
def no_broker(monkeypatch):
    """Exports are created, not run: their wake-ups are collected instead of sent."""
    from exports import enqueue

    sent = []
    monkeypatch.setattr(enqueue, "send", lambda step, export_id, countdown=None: sent.append(str(export_id)))
    return sent
