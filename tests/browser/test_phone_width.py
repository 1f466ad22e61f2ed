"""Every page at phone width: one navigation row with a "Menu" button that opens the links (no
script needed), and no page wider than the phone.

``every_page_fits`` crawls what a visitor, a staff member and an educator can reach by
following links from where they start (the public home page and a credential with its
certificate; the workspace; the backpack), at 390 px, and checks each page's width. The menu
tests open and use the menus on a phone, and check that on a desktop the links show inline.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, save_screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_educator_journey import educator_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
PHONE_OPTIONS = {"viewport": PHONE, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
# Files and actions, not pages: downloads, the development outbox, and anything that signs out.
SKIPPED_SUFFIXES = (".png", ".svg", ".json", ".jwt", ".pdf", ".csv", ".txt", ".jsonld", ".zip")
SKIPPED_PARTS = ("/static/", "/dev/", "/logout", "/sign-out", "/.well-known/", "/status/")
MAX_PAGES = 60


def open_signed_in(page: Page, site: Site, url: str) -> None:
    """Open ``url`` as the staff member, signing in on the way (the form returns to ``url``)."""
    page.goto(url)
    if "/login" in page.url:
        page.get_by_label("Email address").fill(site.staff_email)
        page.get_by_label("Password").fill(site.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(url)
    # Styles are measured below: wait for the stylesheet, not just the new address.
    page.wait_for_load_state("load")


def overflow(page: Page) -> tuple[int, int]:
    """The document's width and the viewport's: a page fits when the first is not larger."""
    widths: list[int] = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return widths[0], widths[1]


def same_site_links(page: Page, site: Site) -> list[str]:
    """The page's links to other pages of this instance, without fragments or queries."""
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if not url.startswith(site.base_url) or url.endswith(SKIPPED_SUFFIXES):
            continue
        if any(part in parts.path for part in SKIPPED_PARTS) or "download" in parts.query:
            continue
        found.append(url)
    return found


def crawl(
    page: Page, site: Site, starts: list[str], within: tuple[str, ...], name: str
) -> dict[str, int]:
    """Visit every page reachable from ``starts`` whose path begins with one of ``within``;
    the document width of each. Each page's screenshot is ``phone-<name>-<path>``."""
    seen: dict[str, int] = {}
    queue = list(starts)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        response = page.goto(url)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            seen[url] = 0
            continue
        # A mobile browser widens its layout viewport to fit content that overflows, so the
        # viewport's width counts too.
        seen[url] = max(overflow(page))
        path = urlsplit(url).path.strip("/").replace("/", "-") or "home"
        save_screenshot(page, f"phone-{name}-{path}"[:120])
        queue += [
            link
            for link in same_site_links(page, site)
            if link not in seen and urlsplit(link).path.startswith(within)
        ]
    return seen


def assert_all_fit(widths: dict[str, int]) -> None:
    wide = {url: width for url, width in widths.items() if width > PHONE["width"]}
    assert not wide, f"pages wider than a {PHONE['width']} px phone: {wide}"


def test_every_public_page_fits_a_phone(new_page: Callable[..., Page], site: Site) -> None:
    page = new_page(**PHONE_OPTIONS)
    starts = [
        site.url("/"),
        site.url("/verify"),
        site.url(f"/credentials/{site.valid_id}"),
        site.url(f"/credentials/{site.valid_id}/certificate"),
        site.url(f"/credentials/{site.revoked_id}"),
        site.url("/me/sign-in"),
        site.url("/login"),
    ]
    widths = crawl(page, site, starts, ("/",), "public")
    assert len(widths) >= len(starts)
    assert_all_fit(widths)


def test_every_workspace_page_fits_a_phone(new_page: Callable[..., Page], site: Site) -> None:
    page = new_page(**PHONE_OPTIONS)
    start = site.url(f"/workspace/{site.issuer_slug}/")
    open_signed_in(page, site, start)
    widths = crawl(
        page,
        site,
        [start, site.url("/workspace"), site.url("/account")],
        ("/workspace", "/account"),
        "staff",
    )
    # Overview, achievements, modules, credentials, reviews, reports, audit log, profile, staff
    # at least, and the pages they link to.
    assert len(widths) >= 12, sorted(widths)
    assert_all_fit(widths)


def test_every_educator_page_fits_a_phone(new_page: Callable[..., Page], site: Site) -> None:
    page = new_page(**PHONE_OPTIONS)
    educator_sign_in(page, site, "ann@example.org")
    widths = crawl(page, site, [site.url("/me")], ("/me",), "educator")
    assert len(widths) >= 4, sorted(widths)
    assert_all_fit(widths)


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_the_phone_menu_opens_and_leads_somewhere(
    new_page: Callable[..., Page], site: Site, shot: Shot, javascript: bool
) -> None:
    page = new_page(**PHONE_OPTIONS, java_script_enabled=javascript)
    page.goto(site.url(f"/credentials/{site.valid_id}"))
    verify = page.get_by_role("link", name="Verify a badge")
    expect(verify).to_be_hidden()
    # One row: the brand and the button, side by side.
    brand = page.locator(".site-header .brand").bounding_box()
    button = page.locator(".site-header .menu-button")
    box = button.bounding_box()
    assert (
        brand and box and abs(brand["y"] + brand["height"] / 2 - box["y"] - box["height"] / 2) < 8
    )
    shot(page, f"phone-menu-closed-{'js' if javascript else 'nojs'}")
    button.click()
    expect(verify).to_be_visible()
    shot(page, f"phone-menu-open-{'js' if javascript else 'nojs'}")
    verify.click()
    expect(page).to_have_url(site.url("/verify"))


def test_the_workspace_menu_on_a_phone(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    page = new_page(**PHONE_OPTIONS)
    open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/"))
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Audit log")).to_be_hidden()
    shot(page, "phone-workspace-menu-closed")
    page.locator(".workspace-nav .menu-button").click()
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    shot(page, "phone-workspace-menu-open")
    nav.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(site.url(f"/workspace/{site.issuer_slug}/audit"))


def test_on_a_desktop_the_links_show_without_a_menu_button(
    page: Page, site: Site, shot: Shot
) -> None:
    open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/"))
    expect(page.locator(".menu-button").first).to_be_hidden()
    expect(page.get_by_role("link", name="Verify a badge")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Audit log")
    ).to_be_visible()
    shot(page, "desktop-workspace-nav")


def test_the_open_menus_have_no_serious_violations(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    page = new_page(**PHONE_OPTIONS, bypass_csp=True)
    open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/"))
    # Both open at once (the header's panel would cover the workspace's button for a click).
    page.evaluate("() => document.querySelectorAll('details.menu').forEach(d => { d.open = true })")
    assert_accessible(page, "phone-open-menus", shot)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_credentials_table_stacks_its_rows_on_a_phone(
    new_page: Callable[..., Page], site: Site, shot: Shot, width: str
) -> None:
    page = new_page(**PHONE_OPTIONS) if width == "phone" else new_page()
    url = site.url(f"/workspace/{site.issuer_slug}/credentials")
    open_signed_in(page, site, url)
    table = page.locator("table.stack-on-phone")
    header = table.locator("thead")
    cell = table.locator("tbody tr").first.locator("td[data-label=Issued]")
    label = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
    if width == "phone":
        # A card per row: the cells one under the other, each labelled; no header row shown.
        expect(header).to_have_css("position", "absolute")
        assert label == '"Issued: "'
        box = table.locator("tbody tr").first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    else:
        expect(header).to_be_visible()
        assert label in ("none", "normal")
    shot(page, f"credentials-table-{width}")
