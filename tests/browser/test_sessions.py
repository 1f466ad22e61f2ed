"""Sessions in Chromium, through the real server: the sessions lists on the staff and educator
account pages, "sign out everywhere" (a saved copy of the cookies no longer signs in), and an
instance administrator disabling and enabling a staff account. Screenshots at desktop size and
390 px wide; axe-core on the new pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PASSWORD, Site, cairn_commands
from tests.browser.test_accessibility import AXE_JS, BLOCKING, axe, describe

Shot = Callable[[Page, str], Path]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "is_mobile": True,
}
ADMIN = "ada.admin@example.org"
VICTIM = "vic.staff@example.org"
EDUCATOR = "sam.sessions@school.example.org"


def staff_sign_in(page: Page, site: Site, email: str, password: str = PASSWORD) -> None:
    page.goto(site.url("/login"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)
    menu = page.get_by_role("banner").locator(".menu-button")
    if menu.is_visible():
        # On a phone the account's links and Sign out sit behind the header's Menu button.
        menu.click()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_be_visible()


def fits(page: Page, selector: str = "[aria-labelledby=sessions-heading]") -> bool:
    """Whether what this feature added (by default the sessions section) fits the page's width.
    (Every whole page at 390 px is checked by test_phone_width.py.)"""
    right: float = page.evaluate(
        "selector => document.querySelector(selector).getBoundingClientRect().right", selector
    )
    return page.viewport_size is not None and right <= page.viewport_size["width"]


def signed_out_of_workspace(page: Page, site: Site) -> bool:
    page.goto(site.url("/workspace/"))
    return "/login" in page.url


def assert_accessible(browser: Browser, url: str, state: Any) -> None:
    context = browser.new_context(bypass_csp=True, viewport=DESKTOP, storage_state=state)
    try:
        page = context.new_page()
        page.goto(url)
        blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
        assert not blocking, f"{url}:\n{describe(blocking)}"
    finally:
        context.close()


def test_staff_sessions_list_and_sign_out_everywhere(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    assert AXE_JS.is_file()
    desk = new_page()
    phone = new_page(**PHONE)
    staff_sign_in(desk, site, site.staff_email)
    staff_sign_in(phone, site, site.staff_email)

    desk.get_by_role("banner").get_by_role("link", name="Tess Teacher").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Your account")
    sessions = desk.locator("#sessions-heading + p + .table-scroll tbody tr")
    expect(sessions.filter(has_text="Safari on iPhone")).not_to_have_count(0)
    expect(sessions.filter(has_text="This browser")).to_have_count(1)
    shot(desk, "sessions-staff-account")
    phone.goto(site.url("/account"))
    shot(phone, "sessions-staff-account-390")
    assert fits(phone)

    saved = desk.context.storage_state()
    assert_accessible(browser, site.url("/account"), saved)
    desk.get_by_role("button", name="Sign out everywhere").click()
    expect(desk.locator(".flash").first).to_contain_text("signed out everywhere")
    shot(desk, "sessions-staff-signed-out-everywhere")
    assert signed_out_of_workspace(phone, site)
    # A copy of the cookies taken before no longer signs anyone in.
    thief = new_page(storage_state=saved)
    assert signed_out_of_workspace(thief, site)


def test_an_administrator_disables_and_enables_a_staff_account(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    cairn_commands(
        site,
        (["staff", "create", "--email", ADMIN, "--name", "Ada Admin", "--admin",
          "--password-stdin"], PASSWORD + "\n"),
        (["staff", "create", "--email", VICTIM, "--name", "Vic Staff", "--password-stdin"],
         PASSWORD + "\n"),
    )  # fmt: skip
    victim = new_page()
    staff_sign_in(victim, site, VICTIM)
    saved = victim.context.storage_state()
    admin = new_page()
    staff_sign_in(admin, site, ADMIN)
    admin.get_by_role("link", name="Staff accounts").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Staff accounts")
    assert_accessible(browser, admin.url, admin.context.storage_state())
    admin.get_by_role("button", name="Disable Vic Staff").click()
    expect(admin.locator(".flash").first).to_contain_text("Vic Staff's account is disabled")
    row = admin.locator("tbody tr", has_text=VICTIM)
    expect(row.locator(".status")).to_have_text("Disabled")
    shot(admin, "sessions-admin-accounts")
    narrow = new_page(viewport=PHONE["viewport"], storage_state=admin.context.storage_state())
    narrow.goto(admin.url)
    shot(narrow, "sessions-admin-accounts-390")
    assert fits(narrow, "main table")

    assert signed_out_of_workspace(victim, site)
    assert signed_out_of_workspace(new_page(storage_state=saved), site)
    victim.get_by_label("Email address").fill(VICTIM)
    victim.get_by_label("Password").fill(PASSWORD)
    victim.get_by_role("button", name="Sign in", exact=True).click()
    expect(victim.get_by_role("alert")).to_contain_text("has been disabled")
    shot(victim, "sessions-disabled-sign-in")

    admin.get_by_role("button", name="Enable Vic Staff").click()
    expect(row.locator(".status")).to_have_text("Active")
    staff_sign_in(victim, site, VICTIM)


def educator_sign_in(page: Page, site: Site, email: str) -> None:
    from tests.browser.test_educator_journey import educator_sign_in as sign_in

    sign_in(page, site, email)


def test_educator_sessions_list_and_sign_out_everywhere(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    desk = new_page()
    # Signed in at desktop size (the development outbox it reads the link from is a wide
    # table), then narrowed to a phone's width.
    phone = new_page(user_agent=PHONE["user_agent"])
    educator_sign_in(desk, site, EDUCATOR)
    educator_sign_in(phone, site, EDUCATOR)
    phone.set_viewport_size(PHONE["viewport"])
    desk.goto(site.url("/me/account"))
    expect(desk.get_by_role("cell", name="Safari on iPhone", exact=True)).to_be_visible()
    expect(desk.get_by_text("This browser", exact=True)).to_have_count(1)
    shot(desk, "sessions-educator-account")
    phone.goto(site.url("/me/account"))
    shot(phone, "sessions-educator-account-390")
    assert fits(phone)

    saved = desk.context.storage_state()
    assert_accessible(browser, site.url("/me/account"), saved)
    desk.get_by_role("button", name="Sign out everywhere").click()
    expect(desk.locator(".flash").first).to_contain_text("signed out everywhere")
    for page in (phone, new_page(storage_state=saved)):
        page.goto(site.url("/me/"))
        assert "/me/sign-in" in page.url
