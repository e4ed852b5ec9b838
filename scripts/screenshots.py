"""The README's screenshots, from a running portal, at desktop (1280 px) and phone (390 px) width.

    QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS=20 make run        # in one terminal: demo data, a slow-ish job
    .venv/bin/python scripts/screenshots.py                  # in another: docs/screenshots/*.png

Signs in as the demo users (seed_demo), submits one export so that My exports shows it running,
creates alice's schedule if she has none, and waits for each state it shows (never a fixed sleep).
Each picture is the viewport, not the whole page, so the PNGs stay small.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DASHBOARD = "Sales overview"
SCROLL = """([selector, block]) => {
  const element = document.querySelector(selector);
  if (element.getBoundingClientRect().top > innerHeight * 0.6) element.scrollIntoView({block});
}"""


def shoot(page: Page, out: Path, name: str, ready: str | None = None, *, block: str = "start") -> None:
    """name-desktop.png and name-phone.png of what the page shows now. `ready` must be visible in
    both; when it starts below the upper part of the screen the page scrolls it to `block`."""
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        if ready:
            page.locator(ready).first.wait_for(state="visible")
            # htmx may still be swapping what holds it: wait until no request is in flight.
            expect(page.locator(".htmx-request")).to_have_count(0)
            page.evaluate(SCROLL, [ready, block])
        path = out / f"{name}-{label}.png"
        page.screenshot(path=str(path), animations="disabled", caret="initial")
        print(f"  {path.relative_to(ROOT)}")


def sign_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-demo-pw")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def open_form(page: Page, base: str) -> None:
    page.goto(f"{base}/exports/new/")
    page.select_option("#id_dashboard", label=DASHBOARD)
    page.locator("#add-pdf:enabled").wait_for()


def submit_export(page: Page, base: str) -> str:
    """One PDF of the dashboard's first sheet; answers the new export's page URL."""
    open_form(page, base)
    page.click("#add-pdf")
    sheet = page.locator("#files-0-sheet")
    sheet.select_option(index=1)
    page.locator("#submit-export:enabled").wait_for()
    page.click("#submit-export")
    page.wait_for_url(re.compile(r"/exports/[0-9a-f-]{36}/$"))
    return page.url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the running portal")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "", help="Chromium to drive")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for each state")
    args = parser.parse_args()
    base, out = args.base_url.rstrip("/"), args.out
    out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium or None, args=CHROMIUM_ARGS)
        # A fixed zone and locale: the pictures do not change with the machine that makes them.
        context = browser.new_context(timezone_id="Europe/Paris", locale="en-GB", device_scale_factor=1)
        context.set_default_timeout(args.timeout * 1000)
        page = context.new_page()
        try:
            sign_in(page, base, "alice")
            page.goto(f"{base}/dashboards/")
            shoot(page, out, "dashboards")

            export_url = submit_export(page, base)
            page.goto(f"{base}/exports/")
            try:
                page.locator('tr.export-row[data-status="RUNNING"]').first.wait_for()
            except PlaywrightTimeout:
                print("No export was RUNNING: start the portal with QUICKSIGHT_LOCAL_MIN_RUNNING_SECONDS=20.")
                return 1
            shoot(page, out, "my-exports", 'tr.export-row[data-status="RUNNING"]')

            page.goto(export_url)
            page.locator('#export-live[data-status="COMPLETED"]').wait_for()
            shoot(page, out, "export")

            # The form with an error the user caused: a workbook whose only table they unticked.
            open_form(page, base)
            page.click("#add-excel")
            tables = page.locator("#file-0 input[type=checkbox]:enabled")
            tables.first.check()
            page.locator("#file-0 input[type=checkbox]:checked").wait_for()
            expect(page.locator(".htmx-request")).to_have_count(0)
            tables.first.uncheck()
            shoot(page, out, "form-error", "#file-0 .errorlist li", block="center")

            page.goto(f"{base}/schedules/")
            if not page.locator("a[id^=edit-]").count():  # alice has no schedule yet: one from this export
                page.goto(f"{base}/schedules/new/?from={export_url.rstrip('/').rsplit('/', 1)[1]}")
                page.click("#save-schedule")
                page.wait_for_url(re.compile(r"/schedules/\d+/$"))
                page.goto(f"{base}/schedules/")
            shoot(page, out, "schedules", "a[id^=edit-]")

            sign_in(page, base, "audra")
            page.goto(f"{base}/audit/")
            page.locator("#audit-chain.ok, #audit-chain.bad").wait_for()
            shoot(page, out, "history", "table.history tbody tr")
        finally:
            context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
