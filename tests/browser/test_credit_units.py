"""Credit with its unit in a browser: a staff member gives an achievement 1.5 CEUs through the
form and awards 1 CEU earned; the public page, the certificate and the educator's backpack say
so, on a desktop and on a 390 px phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_educator_journey import educator_sign_in, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True}
EDUCATOR = "cara.credit@example.org"


def fits(page: Page) -> None:
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window"


def test_credit_in_ceus_from_the_form_to_the_backpack(
    page: Page, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    staff_sign_in(page, site, site.staff_email)
    page.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/new"))
    page.locator("#name").fill("Data Teams in Practice")
    page.locator("#description").fill("Leads a data team through two inquiry cycles.")
    page.locator("#criteria_markdown").fill("Two inquiry cycles with notes and student work.")
    page.locator("summary", has_text="More details").click()
    page.locator("#credits_available").fill("1.5")
    unit = page.locator("#credit_unit")
    expect(unit).to_have_value("clock_hours")  # a new achievement counts clock hours
    unit.select_option("ceu")
    shot(page, "credit-achievement-form-1280")
    page.get_by_role("button", name="Create achievement").click()
    expect(page.locator("dd", has_text="1.5 CEUs").first).to_be_visible()
    achievement_url = page.url

    page.goto(achievement_url + "/award")
    expect(page.get_by_text("This achievement carries 1.5 CEUs")).to_be_visible()
    page.locator("#email").fill(EDUCATOR)
    page.locator("#name").fill("Cara Credit")
    page.locator("#credits_earned").fill("1")
    page.get_by_role("button", name="Sign and award").click()
    page.wait_for_url("**/credentials/*")
    shot(page, "credit-awarded-1280")
    credential_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    public = site.url(f"/credentials/{credential_id}")
    page.goto(public)
    facts = page.locator("dl").first
    expect(facts).to_contain_text("1.5 CEUs")
    expect(facts).to_contain_text("Credit earned")
    expect(facts).to_contain_text("1 CEU")
    fits(page)
    shot(page, "credit-credential-1280")
    page.goto(public + "/certificate")
    expect(page.get_by_text("1 CEU of credit")).to_be_visible()
    shot(page, "credit-certificate-1280")

    phone = new_page(**PHONE)
    phone.goto(public)
    expect(phone.get_by_text("Credit earned")).to_be_visible()
    fits(phone)
    shot(phone, "credit-credential-390")
    # The award form, filled in, on a desktop and on a phone (shots taken after the award: a
    # full-page shot resizes the window and can swallow the click that follows).
    page.goto(achievement_url + "/award")
    page.locator("#credits_earned").fill("1")
    shot(page, "credit-award-form-1280")
    staff_phone = new_page(**PHONE, storage_state=page.context.storage_state())
    staff_phone.goto(achievement_url + "/award")
    fits(staff_phone)
    shot(staff_phone, "credit-award-form-390")

    learner = new_page(**PHONE)
    educator_sign_in(learner, site, EDUCATOR)
    learner.goto(site.url("/me/"))
    card = learner.locator("article", has_text="Data Teams in Practice").first
    expect(card).to_contain_text("1 CEU")  # what this award earned, as signed
    fits(learner)
    shot(learner, "credit-backpack-390")
