"""Self-directed learning and the hours report in a browser: staff name the achievement such
learning is awarded as and count it in a category of their credit rules; an educator records a
conference with a file and a link and asks for credit; staff approve it from the review queue
for fewer hours, with a note; the educator sees the hours on /me/renewal; the hours report
shows them, with its chart and CSV. Screenshots of every new screen at 1280 and 390 px."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_accessibility import describe
from tests.browser.test_credit_rules import PHONE, achievement, fits
from tests.browser.test_educator_journey import axe_violations, educator_sign_in, staff_sign_in

Shot = Callable[[Page, str], Path]
EDUCATOR = "lena.learner@example.org"
SDL = "Self-directed learning (credit)"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def both_widths(page: Page, new_page: Callable[..., Page], shot: Shot, name: str) -> None:
    """Screenshots of the page at 1280 px and, in a phone-sized window, at 390 px; neither
    wider than its window."""
    page.wait_for_load_state("load")
    fits(page)
    shot(page, f"{name}-1280")
    phone = new_page(**PHONE, storage_state=page.context.storage_state())
    phone.goto(page.url)
    fits(phone)
    shot(phone, f"{name}-390")
    phone.close()


def test_an_educator_asks_for_credit_staff_approve_it_and_it_counts(
    page: Page, new_page: Callable[..., Page], browser: Browser, site: Site, shot: Shot
) -> None:
    made = cairn_commands(
        site,
        achievement(site, SDL, "--credits", "1", "--credit-unit", "clock_hours"),
        achievement(site, "Welcome module (sdl)"),
    )
    welcome_id = made[1].strip()
    # The educator belongs to the organisation: they hold one of its credentials.
    cairn_commands(site, ["award", "--issuer", site.issuer_slug, "--achievement", welcome_id,
                          "--recipient", EDUCATOR, "--name", "Lena Learner", "--json", "--no-email"])  # fmt: skip

    staff_sign_in(page, site, site.staff_email)
    workspace = f"/workspace/{site.issuer_slug}"
    page.goto(site.url(f"{workspace}/credit-rules"))
    page.get_by_role("link", name="Self-directed learning").first.click()
    page.get_by_label("Award approved requests as").select_option(label=SDL)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash").first).to_contain_text("educators can ask for credit")
    both_widths(page, new_page, shot, "self-directed-setting")
    # Renewal rules counting it in a category of its own.
    page.goto(site.url(f"{workspace}/credit-rules/new"))
    page.locator("#name").fill("Learning elsewhere renewal")
    page.locator("#cycle_years").fill("1")
    page.locator("#cycle_start").fill("2026-01-01")
    page.locator("#hours_required").fill("30")
    page.locator("#category-0-name").fill("Self-directed")
    page.get_by_role("group", name="Category 1").get_by_label(SDL).check()
    page.get_by_role("button", name="Save credit rules").click()
    expect(page.locator(".flash").first).to_contain_text("Saved the credit rules")

    learner = new_page()
    educator_sign_in(learner, site, EDUCATOR)
    learner.goto(site.url("/me/renewal"))
    learner.get_by_role("link", name="Ask for credit for it").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Learning elsewhere")
    both_widths(learner, new_page, shot, "learning-list-empty")
    learner.get_by_role("link", name="Record learning").click()
    both_widths(learner, new_page, shot, "learning-form-blank")
    learner.get_by_role("radio", name="Conference").check()
    learner.locator("#title").fill("ISTE Live 2026")
    learner.get_by_label("Provider").fill("ISTE")
    learner.get_by_label("First day").fill("2026-06-28")
    learner.get_by_label("Last day").fill("2026-07-01")
    learner.locator("#hours").fill("12")
    learner.get_by_label("Category it counts in").select_option(label="Self-directed")
    learner.get_by_label("What you learned").fill(
        "Sessions on formative assessment; I now run weekly exit tickets."
    )
    learner.get_by_label("Links").fill("Certificate | https://iste.example.org/certificates/4242")
    learner.locator("#file").set_input_files(
        files=[{"name": "attendance.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    shot(learner, "learning-form-1280")
    learner.get_by_role("button", name="Save and ask for credit").click()
    expect(learner.locator(".flash").first).to_contain_text("Submitted to")
    expect(learner.get_by_text("Waiting for a decision")).to_be_visible()
    expect(learner.get_by_role("link", name="attendance.pdf")).to_be_visible()
    both_widths(learner, new_page, shot, "learning-request-waiting")
    request_url = learner.url

    page.goto(site.url(f"{workspace}/reviews"))
    row = page.get_by_role("row").filter(has_text="ISTE Live 2026")
    expect(row).to_contain_text("12")
    both_widths(page, new_page, shot, "review-queue-with-learning")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ISTE Live 2026")
    expect(page.get_by_role("link", name="attendance.pdf")).to_be_visible()
    expect(page.get_by_text("in “Self-directed” under Learning elsewhere renewal")).to_be_visible()
    both_widths(page, new_page, shot, "learning-review")
    blocking = axe_violations(browser, page.url, page.context.storage_state(), "learning-review")
    assert not blocking, describe(blocking)
    page.get_by_label("Hours to award").fill("10")
    page.get_by_label("Note to the educator").fill("Two of the sessions were vendor showcases.")
    page.get_by_role("button", name="Approve and award the hours").click()
    page.wait_for_load_state("load")
    expect(page.locator(".flash").first).to_contain_text("Approved: 10 hours awarded")

    learner.goto(request_url)
    expect(learner.get_by_text("10 hours (you asked for 12)")).to_be_visible()
    expect(learner.get_by_text("vendor showcases")).to_be_visible()
    both_widths(learner, new_page, shot, "learning-request-approved")
    learner.get_by_role("link", name="Learning elsewhere").click()
    expect(learner.get_by_role("row").filter(has_text="ISTE Live 2026")).to_contain_text(
        "10 approved"
    )
    both_widths(learner, new_page, shot, "learning-list")
    # A draft keeps its file; the form says what is wrong, and the draft can be deleted.
    learner.get_by_role("link", name="Record learning").click()
    learner.get_by_role("radio", name="Webinar").check()
    learner.locator("#title").fill("Edutopia webinar: retrieval practice")
    learner.locator("#started_on").fill("2026-10-14")
    learner.locator("#hours").fill("an hour")
    learner.get_by_role("button", name="Save as a draft").click()
    expect(learner.locator("#hours-error")).to_contain_text("Enter a number of hours")
    shot(learner, "learning-form-error-1280")
    learner.locator("#hours").fill("1")
    learner.locator("#file").set_input_files(
        files=[{"name": "slides.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    learner.get_by_role("button", name="Save as a draft").click()
    expect(learner.locator(".flash").first).to_contain_text("Saved as a draft")
    expect(learner.get_by_role("button", name="Remove “slides.pdf”")).to_be_visible()
    both_widths(learner, new_page, shot, "learning-draft")
    learner.get_by_role("button", name="Delete this draft").click()
    expect(learner.locator(".flash").first).to_contain_text("Deleted")
    learner.goto(site.url("/me/renewal"))
    section = learner.locator("section", has_text="Learning elsewhere renewal")
    expect(section.get_by_role("row", name="Self-directed 10")).to_be_visible()
    expect(section.get_by_role("row").filter(has_text=SDL)).to_contain_text("10")
    shot(learner, "learning-renewal-1280")

    page.goto(
        site.url(
            f"{workspace}/reports/hours?from=2026-01-01&to=2026-12-31&period=quarter&by=category"
        )
    )
    page.locator("#rule").select_option(label="Learning elsewhere renewal")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    expect(page.locator("figure.chart svg")).to_be_visible()
    expect(page.get_by_role("row", name="Self-directed 10")).to_be_visible()
    both_widths(page, new_page, shot, "hours-report")
    blocking = axe_violations(browser, page.url, page.context.storage_state(), "hours-report")
    assert not blocking, describe(blocking)
    href = page.get_by_role("link", name="Download CSV").get_attribute("href")
    assert href
    answer = page.request.get(site.url(href))
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text())))
    assert any(r["category"] == "Self-directed" and r["hours"] == "10" for r in rows), rows
