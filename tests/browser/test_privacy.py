"""Private by default, in Chromium at desktop and phone width: the public credential page is a
page to check it (the sharing tools are the holder's, signed in); a revocation has a public
reason apart from the internal note and asks before it is done; key rotation, archiving and
removing staff ask first. Screenshots of each, and axe-core on each new screen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, Site, assert_counted_linkedin, cairn_commands
from tests.browser.test_accessibility import AXE_JS, BLOCKING, axe, describe
from tests.browser.test_educator_journey import educator_sign_in, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
HOLDER = "ann@example.org"
NOTE = "Parent complaint: ticket 4411, the workshop roster was wrong"


def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the window."""
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{page.url} scrolls sideways by {wide}px"


def both_widths(page: Page, shot: Shot, name: str) -> None:
    """Screenshots at 1280 and 390 px wide, neither scrolling sideways; back to desktop after."""
    for label, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        no_sideways_scroll(page)
        shot(page, f"{name}-{label}")
    page.set_viewport_size(DESKTOP)


def assert_axe_clean(page: Page) -> None:
    assert AXE_JS.is_file(), "axe-core is not installed"
    blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{page.url}:\n{describe(blocking)}"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A context that axe can be injected into (the pages' CSP forbids the script otherwise)."""
    made = browser.new_context(bypass_csp=True, viewport=DESKTOP)
    made.set_default_timeout(15_000)
    try:
        yield made
    finally:
        made.close()


def award(site: Site, email: str, name: str) -> str:
    """A new credential of the seeded achievement (its id), awarded by the command line."""
    (document,) = cairn_commands(site, [
        "award", "--issuer", site.issuer_slug, "--achievement", site.achievement_id,
        "--recipient", email, "--name", name, "--json", "--no-email",
    ])  # fmt: skip
    return str(json.loads(document)["id"]).rsplit("/", 1)[-1]


def test_visitors_check_it_and_the_holder_shares_it(
    context: BrowserContext, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    visitor = new_page()
    visitor.goto(site.url(f"/credentials/{site.valid_id}"))
    expect(visitor.locator(".status-banner .status-word")).to_have_text("Valid")
    for name in ("Add to LinkedIn", "Badge image (PNG)", "Certificate PDF (A4)", "Share by email"):
        expect(visitor.get_by_role("link", name=name)).to_have_count(0)
    expect(visitor.get_by_role("heading", name="Your credential")).to_have_count(0)
    expect(visitor.get_by_role("link", name="Sign in to your backpack")).to_be_visible()
    both_widths(visitor, shot, "privacy-credential-visitor")

    holder = context.new_page()
    educator_sign_in(holder, site, HOLDER)
    holder.goto(site.url(f"/credentials/{site.valid_id}"))
    tools = holder.locator(".holder-tools")
    expect(tools.get_by_role("heading", name="Your credential")).to_be_visible()
    expect(tools).to_contain_text("Only you see this part")
    expect(tools.get_by_role("link", name="Add to LinkedIn")).to_be_visible()
    linkedin = tools.get_by_role("link", name="Add to LinkedIn")
    assert_counted_linkedin(holder, site, linkedin, site.valid_id)
    expect(tools.get_by_role("button", name="Copy link")).to_be_visible()  # the script ran
    expect(tools.get_by_role("img", name="QR code linking to this credential")).to_be_visible()
    for name in ("Badge image (PNG)", "Certificate PDF (A4)", "Certificate PDF (Letter)"):
        href = tools.get_by_role("link", name=name).get_attribute("href")
        assert href and holder.request.get(site.url(href)).ok, name
    both_widths(holder, shot, "privacy-credential-holder")
    assert_axe_clean(holder)


def test_staff_revoke_with_a_public_reason_after_a_confirm_step(
    context: BrowserContext, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    credential_id = award(site, "carol@example.org", "Carol Example")
    staff = context.new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/credentials/{credential_id}"))
    form = staff.locator("form").filter(has=staff.get_by_role("heading", name="Revoke"))
    expect(form.get_by_role("group", name="Public reason")).to_contain_text(
        "Shown on the recipient's public credential page"
    )
    form.get_by_label("No longer meets the requirements").check()
    form.get_by_label("Internal note").fill(NOTE)
    both_widths(staff, shot, "privacy-credential-revoke-form")
    assert_axe_clean(staff)
    form.get_by_role("button", name="Revoke permanently").click()

    expect(staff.get_by_role("heading", level=1)).to_have_text("Revoke this credential?")
    expect(staff.locator(".confirm-undone")).to_contain_text("This cannot be undone.")
    expect(staff.locator(".confirm-facts")).to_contain_text("No longer meets the requirements")
    expect(staff.locator(".confirm-facts")).to_contain_text(NOTE)
    both_widths(staff, shot, "privacy-revoke-confirm")
    assert_axe_clean(staff)
    staff.get_by_role("button", name="Revoke permanently").click()
    expect(staff.locator(".flash").first).to_contain_text("Revoked.")
    expect(staff.locator("main")).to_contain_text("Public reason: No longer meets the requirements")
    expect(staff.locator("main")).to_contain_text(f"Internal note: {NOTE}")

    visitor = new_page()
    visitor.goto(site.url(f"/credentials/{credential_id}"))
    banner = visitor.locator(".status-banner")
    expect(banner.locator(".status-word")).to_have_text("Revoked")
    expect(banner).to_contain_text("No longer meets the requirements")
    expect(visitor.locator("main")).not_to_contain_text("ticket 4411")
    both_widths(visitor, shot, "privacy-credential-revoked-public")


def test_key_rotation_archiving_and_removing_staff_ask_first(
    context: BrowserContext, site: Site, shot: Shot
) -> None:
    page = context.new_page()
    staff_sign_in(page, site, site.staff_email)
    base = f"/workspace/{site.issuer_slug}"

    page.goto(site.url(f"{base}/profile"))
    page.get_by_role("button", name="Rotate the Ed25519").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Make a new Ed25519")
    expect(page.locator(".confirm-undone")).to_contain_text("This cannot be undone.")
    both_widths(page, shot, "privacy-confirm-key-rotation")
    assert_axe_clean(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(site.url(f"{base}/profile"))

    page.goto(site.url(f"{base}/achievements/{site.achievement_id}"))
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Archive “{site.achievement_name}”?")
    expect(page.locator(".confirm-undone")).to_contain_text("stay valid")
    both_widths(page, shot, "privacy-confirm-archive")
    assert_axe_clean(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Archived")

    page.goto(site.url(f"{base}/members"))
    page.get_by_role("button", name="Remove Tess Teacher").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Remove yourself from")
    expect(page.locator(".confirm-undone")).to_contain_text("You lose access at once.")
    both_widths(page, shot, "privacy-confirm-remove-staff")
    assert_axe_clean(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(site.url(f"{base}/members"))
