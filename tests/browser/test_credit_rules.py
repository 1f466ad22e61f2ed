"""Credit rules and progress toward renewal in a browser: a staff member starts rules from a
preset, counts achievements in its categories and saves them; an educator holding three
credentials (clock hours, CEUs, a micro-credential) sees the total reached, by category, on a
desktop and on a 390 px phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_accessibility import describe
from tests.browser.test_educator_journey import axe_violations, educator_sign_in, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True}
EDUCATOR = "rita.renewal@example.org"


def fits(page: Page) -> None:
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window"


def achievement(site: Site, name: str, *extra: str) -> list[str]:
    return ["achievements", "create", "--issuer", site.issuer_slug, "--name", name,
            "--description", f"{name}: professional learning.", "--criteria", "Took part.",
            *extra]  # fmt: skip


def test_an_educator_reaches_the_renewal_total_across_three_credentials(
    page: Page, new_page: Callable[..., Page], browser: Browser, site: Site, shot: Shot
) -> None:
    made = cairn_commands(
        site,
        achievement(site, "Reading Conferences (renewal)", "--credits", "20",
                    "--credit-unit", "clock_hours"),
        achievement(site, "Inclusive Classrooms (renewal)", "--credits", "1.5",
                    "--credit-unit", "ceu"),
        achievement(site, "Data Teams (renewal)", "--type", "MicroCredential"),
    )  # fmt: skip
    ids = [out.strip() for out in made]
    cairn_commands(site, *[
        ["award", "--issuer", site.issuer_slug, "--achievement", achievement_id,
         "--recipient", EDUCATOR, "--name", "Rita Renewal", "--json", "--no-email"]
        for achievement_id in ids
    ])  # fmt: skip

    staff_sign_in(page, site, site.staff_email)
    page.goto(site.url(f"/workspace/{site.issuer_slug}/credit-rules"))
    page.get_by_role("link", name="5-year cycle, 50 clock hours").click()
    expect(page.locator("#name")).to_have_value("Licence renewal: 50 clock hours in 5 years")
    literacy = page.get_by_role("group", name="Category 1")
    literacy.get_by_label("Reading Conferences (renewal)").check()
    special = page.get_by_role("group", name="Category 2")
    special.get_by_label("Inclusive Classrooms (renewal)").check()
    page.get_by_role("button", name="Save credit rules").click()
    expect(page.locator(".flash").first).to_contain_text("Saved the credit rules")
    expect(page.get_by_text("Reading Conferences (renewal)").first).to_be_visible()
    fits(page)
    shot(page, "credit-rules-1280")
    page.get_by_role("link", name="Licence renewal: 50 clock hours in 5 years").first.click()
    page.wait_for_load_state("load")
    shot(page, "credit-rule-form-1280")
    staff_phone = new_page(**PHONE, storage_state=page.context.storage_state())
    staff_phone.goto(page.url)
    fits(staff_phone)
    shot(staff_phone, "credit-rule-form-390")

    learner = new_page()
    educator_sign_in(learner, site, EDUCATOR)
    learner.goto(site.url("/me/"))
    learner.get_by_role("link", name="Progress toward renewal").click()
    section = learner.locator("section", has_text="Licence renewal: 50 clock hours in 5 years")
    expect(section).to_contain_text("52.5 of 50 hours")
    expect(section).to_contain_text("Complete")
    expect(section.get_by_role("row", name="Special education 22.5")).to_contain_text("Met")
    expect(section.get_by_role("row", name="Inclusive Classrooms (renewal)")).to_contain_text(
        "1.5 CEUs"
    )
    fits(learner)
    shot(learner, "renewal-1280")
    blocking = axe_violations(browser, learner.url, learner.context.storage_state(), "renewal")
    assert not blocking, describe(blocking)
    phone = new_page(**PHONE, storage_state=learner.context.storage_state())
    phone.goto(learner.url)
    fits(phone)
    shot(phone, "renewal-390")
