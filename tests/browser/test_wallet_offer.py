"""The OpenID4VCI offer page as a holder sees it, at 1280 and 390 px: the form (with the
"email me a code" choice), then the QR code, the wallet link as a button and how long it
works; no wider than a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_accessibility import BLOCKING, axe, describe
from tests.browser.test_educator_journey import educator_sign_in
from tests.browser.test_phone_width import PHONE, PHONE_OPTIONS


def offer_page(page: Page, site: Site) -> str:
    """Ann's first credential's offer page (its path)."""
    page.goto(site.url("/me/"))
    page.locator("a[href^='/me/credentials/']").first.click()
    path = urlsplit(page.url).path.rstrip("/") + "/wallet/openid"
    page.goto(site.url(path))
    page.wait_for_load_state("load")
    return path


def make_offer(page: Page) -> None:
    page.get_by_label("Email me a code the wallet will ask for").check()
    page.get_by_role("button", name="Show the QR code").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("It works once, for 10 minutes")).to_be_visible()
    expect(page.get_by_text("we have emailed it to ann@example.org")).to_be_visible()
    link = page.get_by_role("link", name="Open in my wallet app").get_attribute("href")
    assert link and link.startswith("openid-credential-offer://?credential_offer_uri=")
    qr = page.locator("img.openid-offer-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 200")


def test_the_offer_page_on_a_desktop_and_a_phone(
    new_page: Callable[..., Page], site: Site, shot: Callable[[Page, str], Path]
) -> None:
    page = new_page()
    educator_sign_in(page, site, "ann@example.org")
    path = offer_page(page, site)
    expect(page.get_by_role("heading", name="With a wallet app that uses OpenID")).to_be_visible()
    shot(page, "wallet-offer-form-1280")
    make_offer(page)
    shot(page, "wallet-offer-qr-1280")

    phone = new_page(storage_state=page.context.storage_state(), **PHONE_OPTIONS)
    phone.goto(site.url(path))
    phone.wait_for_load_state("load")
    shot(phone, "wallet-offer-form-390")
    make_offer(phone)
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shot(phone, "wallet-offer-qr-390")


def test_the_offer_page_has_no_serious_accessibility_violations(
    new_page: Callable[..., Page], site: Site
) -> None:
    # axe is injected as a script, which the page's CSP refuses: this context bypasses it.
    page = new_page(bypass_csp=True)
    educator_sign_in(page, site, "ann@example.org")
    offer_page(page, site)
    form = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not form, describe(form)
    make_offer(page)
    made = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not made, describe(made)
