"""A renewal statement in a browser: an educator who reaches the renewal total across three
credentials (clock hours, CEUs, a micro-credential) makes the statement of the cycle from their
renewal page, lands on the page its QR code leads to (verified: the statement and each line),
and downloads the PDF, which is rendered to a picture to be looked at; staff make one from the
workspace. Every screen at 1280 and 390 px."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pypdfium2
from playwright.sync_api import Browser, Page, expect

from credentials.did import did_web_document_url
from tests.app.test_guarantees_interop import vcjs  # noqa: F401 - the vc.js fixture
from tests.browser.conftest import SCREENSHOTS, Site, cairn_commands
from tests.browser.test_accessibility import describe
from tests.browser.test_credit_rules import PHONE, achievement, fits
from tests.browser.test_educator_journey import axe_violations, educator_sign_in, staff_sign_in
from tests.interop.conftest import VcJs

Shot = Callable[[Page, str], Path]
EDUCATOR = "sam.statement@example.org"
RULES = "Statement test renewal: 50 clock hours in 5 years"


def did_path(did: str) -> str:
    """The path of a did:web DID's document on the site (the DID names its host)."""
    return "/" + did_web_document_url(did).split("/", 3)[3]


def test_an_educator_downloads_the_renewal_statement_of_three_credentials(
    page: Page,
    new_page: Callable[..., Page],
    browser: Browser,
    site: Site,
    shot: Shot,
    vcjs: VcJs,  # noqa: F811 - the fixture imported above
) -> None:
    made = cairn_commands(
        site,
        achievement(site, "Reading Conferences (statement)", "--credits", "20",
                    "--credit-unit", "clock_hours"),
        achievement(site, "Inclusive Classrooms (statement)", "--credits", "1.5",
                    "--credit-unit", "ceu"),
        achievement(site, "Data Teams (statement)", "--type", "MicroCredential"),
    )  # fmt: skip
    ids = [out.strip() for out in made]
    cairn_commands(site, *[
        ["award", "--issuer", site.issuer_slug, "--achievement", achievement_id,
         "--recipient", EDUCATOR, "--name", "Sam Statement", "--no-email"]
        for achievement_id in ids
    ])  # fmt: skip

    # Staff keep rules of their own, from a preset (named apart from the other browser tests'
    # rules on the same site), each course counted in a category.
    staff_sign_in(page, site, site.staff_email)
    page.goto(site.url(f"/workspace/{site.issuer_slug}/credit-rules"))
    page.get_by_role("link", name="5-year cycle, 50 clock hours").click()
    page.locator("#name").fill(RULES)
    page.get_by_role("group", name="Category 1").get_by_label(
        "Reading Conferences (statement)"
    ).check()
    page.get_by_role("group", name="Category 2").get_by_label(
        "Inclusive Classrooms (statement)"
    ).check()
    page.get_by_role("button", name="Save credit rules").click()
    expect(page.locator(".flash").first).to_contain_text("Saved the credit rules")

    learner = new_page()
    educator_sign_in(learner, site, EDUCATOR)
    learner.goto(site.url("/me/renewal"))
    section = learner.locator("section", has_text=RULES)
    expect(section).to_contain_text("52.5 of 50 hours")
    expect(section.get_by_role("heading", name="Renewal statement")).to_be_visible()
    fits(learner)
    shot(learner, "statement-renewal-form-1280")
    phone = new_page(**PHONE, storage_state=learner.context.storage_state())
    phone.goto(learner.url)
    fits(phone)
    phone.locator("section", has_text=RULES).locator(
        "h3", has_text="Renewal statement"
    ).first.scroll_into_view_if_needed()
    shot(phone, "statement-renewal-form-390")

    section.get_by_role("button", name="Make the renewal statement").click()
    learner.wait_for_load_state("load")
    assert "/statements/" in learner.url
    expect(learner.locator("#result")).to_contain_text("Valid")
    expect(learner.get_by_role("row", name="Inclusive Classrooms (statement)")).to_contain_text(
        "22.5"
    )
    expect(learner.locator("#totals-heading + p")).to_contain_text("52.5 of 50 hours")
    expect(learner.locator("#totals-heading + p")).to_contain_text("Met")
    lines = learner.locator("#lines-heading + table tbody tr")
    expect(lines).to_have_count(3)
    expect(lines.locator(".status-valid")).to_have_count(3)
    fits(learner)
    shot(learner, "statement-page-1280")
    blocking = axe_violations(browser, learner.url, learner.context.storage_state(), "statement")
    assert not blocking, describe(blocking)
    phone.goto(learner.url)
    fits(phone)
    shot(phone, "statement-page-390")

    statement_url = learner.url
    # The renewal page lists the statement made.
    learner.goto(site.url("/me/renewal"))
    expect(learner.get_by_role("heading", name="Your renewal statements")).to_be_visible()
    fits(learner)
    shot(learner, "statement-renewal-list-1280")
    phone.goto(learner.url)
    fits(phone)
    shot(phone, "statement-renewal-list-390")
    learner.goto(statement_url)
    with learner.expect_download() as downloading:
        learner.get_by_role("link", name="Download the PDF").click()
    pdf = SCREENSHOTS / "renewal-statement.pdf"
    downloading.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    with learner.expect_download() as downloading:
        learner.get_by_role("link", name="Download the signed statement (CLR 2.0 JSON)").click()
    signed = Path(downloading.value.path()).read_text()
    assert '"ClrCredential"' in signed and "Sam Statement" in signed
    # The file as downloaded verifies in vc.js, and so does each credential in it, with the
    # DID documents the site serves.
    statement = json.loads(signed)
    lines = statement["credentialSubject"]["verifiableCredential"]
    dids = {statement["issuer"]["id"]} | {line["issuer"]["id"] for line in lines}
    documents = {
        did: json.loads(learner.request.get(site.url(did_path(did))).body()) for did in dids
    }
    verified, error = vcjs.verify(statement, documents)
    assert verified, error
    assert [ok for ok, _ in vcjs.verify_many(lines, documents)] == [True, True, True]
    rendered = pypdfium2.PdfDocument(pdf.read_bytes())
    for number, pdf_page in enumerate(rendered, start=1):
        pdf_page.render(scale=80 / 72).to_pil().save(SCREENSHOTS / f"statement-pdf-{number}.png")
    rendered.close()
    assert list(SCREENSHOTS.glob("statement-pdf-*.png"))

    # Staff make one for the same educator from the workspace.
    page.goto(site.url(f"/workspace/{site.issuer_slug}/statements"))
    fits(page)
    shot(page, "statement-workspace-1280")
    page.get_by_label("Educator's email address").fill(EDUCATOR)
    page.get_by_role("button", name="Make the renewal statement").click()
    page.wait_for_load_state("load")
    assert "/statements/" in page.url
    expect(page.locator("#result")).to_contain_text("Valid")
    page.goto(site.url(f"/workspace/{site.issuer_slug}/statements"))
    expect(page.locator("tbody tr", has_text=EDUCATOR)).to_have_count(2)
    shot(page, "statement-workspace-list-1280")
    staff_phone = new_page(**PHONE, storage_state=page.context.storage_state())
    staff_phone.goto(page.url)
    fits(staff_phone)
    shot(staff_phone, "statement-workspace-390")
