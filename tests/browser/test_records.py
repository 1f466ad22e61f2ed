"""The learning record (CLR 2.0) export screens in a real browser: the backpack's and the
workspace's, at 1280 and 390 px, fitting the phone's width; the downloads are signed records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.browser.test_accessibility import describe
from tests.browser.test_educator_journey import axe_violations, educator_sign_in

PHONE = {"width": 390, "height": 844}
HOLDER = "ann@example.org"


def fits(page: Page) -> None:
    # Measured once the stylesheet applies: a page reached by a form post may still be loading.
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    # On failure, name what sticks out, so a layout fault can be found from the log alone.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ': '
                             + (e.textContent || '').trim().slice(0, 80))"""
    )
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window: {wide}"


def downloaded(page: Page, button: str) -> Path:
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    return Path(download.value.path())


def test_the_educator_exports_a_record(
    site: Site,
    browser: Browser,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    for width, options in (("1280", {}), ("390", {"viewport": PHONE})):
        page = new_page(accept_downloads=True, **options)
        educator_sign_in(page, site, HOLDER)
        page.goto(site.url("/me/"))
        shot(page, f"backpack-record-link-{width}")
        page.get_by_role("link", name="Export a record (CLR)").click()
        expect(page.get_by_role("heading", name="Export a learning record")).to_be_visible()
        # Other tests of the shared site may award this holder the same achievement again.
        expect(page.get_by_label(site.achievement_name).first).to_be_visible()
        fits(page)
        shot(page, f"record-export-{width}")
        if width == "1280":
            state = page.context.storage_state()
            blocking = axe_violations(browser, site.url("/me/record"), state, "record-export")
            assert not blocking, describe(blocking)
        file = downloaded(page, "Download the record")
        record: Any = json.loads(file.read_text())
        assert record["type"] == ["VerifiableCredential", "ClrCredential"]
        assert record["issuer"]["id"].endswith(":issuers:north")
        # Anyone can check it on the Verify page: the record and each credential in it.
        named = file.with_name("learning-record.json")
        named.write_bytes(file.read_bytes())
        page.goto(site.url("/verify"))
        page.get_by_label("Upload a badge image or credential file").set_input_files(named)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Verify a learning record")).to_be_visible()
        expect(page.locator("#result-heading")).to_have_text("Valid")
        fits(page)
        shot(page, f"record-verified-{width}")
        page.goto(site.url("/me/record"))
        page.get_by_label("Only the ones ticked below").check()
        page.get_by_role("button", name="Download the record").click()
        expect(page.get_by_text("Tick at least one credential.")).to_be_visible()
        fits(page)
        shot(page, f"record-export-refused-{width}")


def test_staff_export_a_pd_transcript(
    site: Site, new_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    for width, options in (("1280", {}), ("390", {"viewport": PHONE})):
        page = new_page(accept_downloads=True, **options)
        page.goto(site.url("/login"))
        page.get_by_label("Email address").fill(site.staff_email)
        page.get_by_label("Password").fill(site.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(site.url(f"/workspace/{site.issuer_slug}/records"))
        page.get_by_label("Educator's email address").fill(HOLDER)
        page.get_by_role("button", name="Find their credentials").click()
        expect(page.get_by_role("heading", name=f"Credentials of {HOLDER}")).to_be_visible()
        fits(page)
        shot(page, f"record-transcript-{width}")
        page.get_by_label("PNG image").check()
        baked = downloaded(page, "Download the transcript").read_bytes()
        assert baked.startswith(b"\x89PNG") and b"iTXtclrcredential\x00" in baked
