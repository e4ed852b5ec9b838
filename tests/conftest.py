from __future__ import annotations

import pytest
import redis as redis_lib

from exports.management.commands.seed_demo import seed_users
from tests.services import redis_test_url


@pytest.fixture
def demo_users(db):
    """alice (EMEA) and bob (AMER) in Analysts, carol with nothing, audra the auditor, admin."""
    seed_users()
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
