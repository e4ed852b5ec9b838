"""Everyone, every screen: every portal page at 1280 and 390 px under axe-core (no violation of any
impact), nothing scrolling sideways on a phone, Download and Log out within reach; the keyboard
after htmx swaps; status changes announced; times in the person's own zone.

axe-core is vendored from npm (tests/vendor/axe-core/README.md) and injected into each page, so
the context bypasses the portal's CSP for that script only. One browser, one live server, one
world of data per width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from exports import recurrence, schedules, tokens
from exports.models import Export, ExportFile
from exports.services import export_create
from tests.factories import make_sales_catalog

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
SPEC = {
    "dashboard": "sales",
    "files": [{"format": "PDF", "sheet": "summary"}, {"format": "CSV", "visual": "order-lines"}],
}
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def make_world(alice) -> dict[str, Export]:
    """alice's exports in each state a page shows, her schedule and her API token."""
    make_sales_catalog()
    completed, failed, running = (export_create(user=alice, spec=SPEC) for _ in range(3))
    Export.objects.filter(pk=completed.pk).update(status=Export.Status.COMPLETED, finished_at=timezone.now())
    ExportFile.objects.create(
        export=completed, index=0, format="PDF", sheet_ids=["summary"], s3_uri="s3://finance-exports/a.pdf"
    )
    ExportFile.objects.create(
        export=completed, index=1, format="CSV", visual_ids=["order-lines"], error_code="VISUAL_TOO_LARGE",
        error_message="The table has more rows than a CSV can hold.",
    )  # fmt: skip
    Export.objects.filter(pk=failed.pk).update(
        status=Export.Status.FAILED,
        error_code="InvalidParameterValueException",
        error_message="QuickSight refused a parameter value.",
        error_detail="arn:aws:quicksight:us-east-1:111122223333:dashboard/sales/snapshot-job/portal-" + "x" * 60,
        finished_at=timezone.now(),
    )
    Export.objects.filter(pk=running.pk).update(status=Export.Status.RUNNING)
    schedules.schedule_create(
        owner=alice,
        spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]},
        rec=recurrence.parse_every("weekly mon 07:00 Europe/Paris", default_timezone="UTC"),
    )
    tokens.token_create(user=alice, name="nightly-report script", scopes=["exports:read"])
    return {"completed": completed, "failed": failed, "running": running}


@pytest.fixture
def axe_page(browser):
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-demo-pw")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*accounts/login).*$"))


def form_with_a_file_and_a_live_error(page) -> None:
    page.locator("#add-pdf").click()
    expect(page.locator("#file-0")).to_be_visible()
    page.select_option("#files-0-sheet", "summary")
    expect(page.locator("#files-0-sheet")).to_have_value("summary")
    field = page.get_by_label("MinQuantity")
    field.fill("1.5")
    field.press("Tab")
    expect(page.locator("#parameters .errorlist li").first).to_be_visible()


def problems_on(page, name: str, width: int) -> list[str]:
    """axe's violations, sideways scrolling and Download / Log out out of reach, as readable lines."""
    found = []
    page.evaluate(AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    for violation in result["violations"]:
        found.append(f"{name} @{width}px: axe {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            found.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        found.append(f"{name} @{width}px: the page scrolls sideways by {scroll_width - width} px")
    outside = page.evaluate(
        """() => Array.from(document.querySelectorAll('a.download, .logout button'))
             .filter(el => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; })
             .map(el => el.textContent.trim())"""
    )
    if outside:
        found.append(f"{name} @{width}px: out of the viewport: {outside}")
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("screen", WIDTHS)
def test_every_page_passes_axe_and_fits_the_screen(screen, demo_users, live_server, axe_page):
    world = make_world(demo_users["alice"])
    width, height = WIDTHS[screen]
    page, base = axe_page, live_server.url
    page.set_viewport_size({"width": width, "height": height})
    problems: list[str] = []

    def visit(name: str, path: str, then=None) -> None:
        page.goto(base + path)
        if then:
            then(page)
        problems.extend(problems_on(page, name, width))

    visit("login", "/accounts/login/")
    sign_in(page, base, "alice")
    completed, failed = world["completed"].pk, world["failed"].pk
    visit("Dashboards", "/dashboards/")
    visit("a dashboard", "/dashboards/sales/")
    visit("new export form", "/exports/new/?dashboard=sales", form_with_a_file_and_a_live_error)
    visit("My exports", "/exports/", lambda p: expect(p.locator("a.download").first).to_be_visible())
    visit("completed export", f"/exports/{completed}/")
    visit("failed export", f"/exports/{failed}/")
    visit("My schedules", "/schedules/")
    schedule_id = page.locator("a[href*='/schedules/'][href$='/edit/']").first.get_attribute("href")
    visit("schedule form", schedule_id)
    visit("new schedule form", f"/schedules/new/?from={completed}")
    visit("API tokens", "/tokens/")
    visit("time zone", "/account/time-zone/")
    visit("404", "/no-such-page/")
    sign_in(page, base, "audra")
    visit("History", "/audit/")
    visit("audit log", "/audit/events/")
    visit("an export, as the auditor", f"/exports/{failed}/")

    assert not problems, "\n" + "\n".join(problems)


@pytest.mark.django_db(transaction=True)
def test_enter_on_add_pdf_leaves_focus_on_the_new_files_first_control(demo_users, login, live_server):
    make_sales_catalog()
    page = login("alice")
    page.goto(f"{live_server.url}/exports/new/?dashboard=sales")

    page.locator("#add-pdf").focus()
    page.keyboard.press("Enter")

    expect(page.locator("#file-0")).to_be_visible()
    # "Add PDF" is now disabled (one PDF per export): focus goes to the PDF's sheet, not the page.
    expect(page.locator("#add-pdf")).to_be_disabled()
    expect(page.locator("#files-0-sheet")).to_be_focused()
    # Tab order stays inside the new file: back to its Remove button, then on to the next section.
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#remove-0")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#file-0') === null")
    assert page.evaluate("document.activeElement !== document.body")

    # A second file by keyboard: the CSV's table picker has the focus.
    page.locator("#add-csv").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#files-1-visual")).to_be_focused()


@pytest.mark.django_db(transaction=True)
def test_a_status_change_is_announced_and_focus_is_visible(demo_users, login, live_server):
    world = make_world(demo_users["alice"])
    page = login("alice")
    page.goto(f"{live_server.url}/exports/")
    assert page.locator("#announcer").get_attribute("role") == "status"
    running = world["running"]
    expect(page.locator(f"#export-{running.pk}")).to_have_attribute("data-status", "RUNNING")

    Export.objects.filter(pk=running.pk).update(status=Export.Status.COMPLETED, finished_at=timezone.now())

    expect(page.locator(f"#export-{running.pk}")).to_have_attribute("data-status", "COMPLETED", timeout=10_000)
    expect(page.locator("#announcer")).to_have_text("Sales overview: Completed")
    # On a phone the swapped row keeps its column names.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(f"#export-{running.pk} td").first).to_have_attribute("data-label", "Dashboard")

    # Keyboard focus shows a ring of at least 2 px.
    page.keyboard.press("Tab")
    ring = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    assert ring >= 2


@pytest.mark.django_db(transaction=True)
def test_times_show_the_browsers_zone_until_the_person_picks_another(demo_users, live_server, browser):
    export = make_world(demo_users["alice"])["completed"]
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/exports/{export.pk}/")
        expect(page.locator("#current-time-zone")).to_have_text("Asia/Tokyo")
        expect(page.locator("p.muted").first).to_contain_text(" JST by alice")

        page.locator("#current-time-zone").click()
        page.select_option("#id_time_zone", "America/New_York")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".messages [role=status], .messages")).to_contain_text("America/New_York")

        page.goto(f"{live_server.url}/exports/{export.pk}/")
        expect(page.locator("#current-time-zone")).to_have_text("America/New_York")
        expect(page.locator("p.muted").first).to_contain_text(re.compile(r" E[SD]T by alice"))
    finally:
        context.close()
