"""Names and claims in Chromium, through the real server: a credential a staff member awards
without a name is claimed from its email (the claim link signs the recipient in, they confirm
their name and choose its visibility), the workspace then says claimed / not yet claimed; and a
first sign-in asks for the name credentials carry. Screenshots at 1280 and 390 px; axe-core on
each new screen; no sideways scrolling at phone width."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site, cairn_commands
from tests.browser.test_accessibility import BLOCKING, axe, describe
from tests.browser.test_educator_journey import mailed_link, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
RECIPIENT = "casey.nguyen@school.example.org"
NEWCOMER = "robin.ortiz@school.example.org"


def sideways(page: Page) -> bool:
    """Whether the page scrolls sideways (wider than its viewport)."""
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return page.viewport_size is not None and width > page.viewport_size["width"]


def both_widths(page: Page, shot: Shot, name: str) -> None:
    """Screenshots at desktop and phone width, and no sideways scroll on the phone."""
    page.set_viewport_size(DESKTOP)
    shot(page, name)
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-390")
    assert not sideways(page), f"{name} scrolls sideways at 390 px"
    page.set_viewport_size(DESKTOP)


def accessible(browser: Browser, page: Page, url: str | None = None) -> None:
    """axe-core finds nothing serious on ``url`` (default: the page's own), opened with the
    page's cookies in a context that lets the axe script in."""
    context = browser.new_context(
        bypass_csp=True, viewport=DESKTOP, storage_state=page.context.storage_state()
    )
    try:
        checked = context.new_page()
        checked.goto(url or page.url)
        blocking = [v for v in axe(checked) if v["impact"] in BLOCKING]
        assert not blocking, f"{checked.url}:\n{describe(blocking)}"
    finally:
        context.close()


def award_without_a_name(site: Site, email: str) -> str:
    """A staff award with no name, emailed (the ``cairn award`` command); its id."""
    (printed,) = cairn_commands(
        site,
        ["award", "--issuer", site.issuer_slug, "--achievement", site.achievement_id,
         "--recipient", email, "--json"],
    )  # fmt: skip
    document: dict[str, Any] = json.loads(printed)
    return str(document["id"]).rsplit("/", 1)[-1]


def test_a_staff_award_is_claimed_from_its_email(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    credential_id = award_without_a_name(site, RECIPIENT)
    page = new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    link = mailed_link(page, site, RECIPIENT, "You have earned", f"/me/claim/{credential_id}/")

    # Opening the link uses nothing up: it shows who is signing in, and one button.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim your credential")
    expect(page.locator("main")).to_contain_text(RECIPIENT)
    both_widths(page, shot, "claim-1-sign-in")
    accessible(browser, page)
    page.get_by_role("button", name="Sign in and claim").click()

    claim_url = site.url(f"/me/credentials/{credential_id}/claim")
    expect(page).to_have_url(claim_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Claim “{site.achievement_name}”")
    expect(page.locator("main")).to_contain_text("issued it without a name")
    both_widths(page, shot, "claim-2-confirm")
    accessible(browser, page)

    # Nothing is claimed without a name.
    page.get_by_role("button", name="Add to my backpack").click()
    expect(page.locator(".flash-error")).to_contain_text("Check what is marked below")
    expect(page.locator("#name-error")).to_have_text("Enter your name.")
    both_widths(page, shot, "claim-3-refused")
    accessible(browser, page, claim_url)

    page.get_by_label("Your name").fill("Casey")
    page.get_by_label("Name on your credentials").fill("Casey T. Nguyen")
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Add to my backpack").click()
    expect(page).to_have_url(site.url(f"/me/credentials/{credential_id}"))
    expect(page.locator(".flash").first).to_contain_text("It is in your backpack")
    expect(page.locator(".facts")).to_contain_text("Private")
    expect(page.locator(".credential-head")).to_contain_text("to Casey T. Nguyen")  # signed in
    shot(page, "claim-4-claimed")

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")

    # The workspace says who claimed what.
    staff = new_page(viewport=DESKTOP)
    staff.set_default_timeout(15_000)
    staff_sign_in(staff, site, site.staff_email)
    listing = site.url(f"/workspace/{site.issuer_slug}/credentials")
    staff.goto(listing + "?claimed=yes")
    rows = staff.locator("tbody tr")
    # Other tests of the shared site may have claimed theirs: every row listed is claimed, and
    # this recipient's is among them, once.
    expect(rows.filter(has_text=RECIPIENT)).to_have_count(1)
    expect(rows.filter(has_text="Not yet")).to_have_count(0)
    staff.goto(listing + "?claimed=no")
    expect(staff.locator("tbody")).not_to_contain_text(RECIPIENT)
    expect(staff.get_by_label("Claimed")).to_have_value("no")
    shot(staff, "claim-5-workspace-not-yet-claimed")
    staff.set_viewport_size(PHONE)
    shot(staff, "claim-5-workspace-not-yet-claimed-390")
    staff.set_viewport_size(DESKTOP)
    accessible(browser, staff)
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/credentials/{credential_id}"))
    expect(staff.locator("main")).to_contain_text("Claimed by the recipient on")
    shot(staff, "claim-6-workspace-credential")
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/credentials/{site.valid_id}"))
    expect(staff.locator("main")).to_contain_text("Not yet claimed")


def test_a_first_sign_in_asks_for_the_name(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    page = new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    page.goto(site.url("/me/sign-in"))
    page.get_by_label("Email address").fill(NEWCOMER)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(mailed_link(page, site, NEWCOMER, "sign-in link", "/me/sign-in/"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url("/me/name"))
    # Nothing is made from the address: the fields start empty.
    expect(page.get_by_label("Your name")).to_have_value("")
    expect(page.get_by_label("Name on your credentials")).to_have_value("")
    expect(page.locator("main")).not_to_contain_text("robin.ortiz")
    both_widths(page, shot, "name-1-first-sign-in")
    accessible(browser, page)
    page.get_by_label("Your name").fill("Robin")
    page.get_by_label("Name on your credentials").fill("Robin Ortiz")
    page.get_by_role("button", name="Confirm my name").click()
    expect(page).to_have_url(site.url("/me/"))
    expect(page.locator(".flash").first).to_contain_text("your credentials will carry this name")
    page.goto(site.url("/me/account"))
    expect(page.locator(".issued-to")).to_contain_text("Name on your credentials: Robin Ortiz")
