"""Chromium reads Cairn's Permissions-Policy as meant: powerful features it does not use are
off, and the copy-link button still writes the credential's link to the clipboard."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_educator_journey import educator_sign_in

ALLOWS = "feature => document.featurePolicy.allowsFeature(feature)"


def test_unused_features_are_off_and_the_copy_button_works(
    new_page: Callable[..., Page], site: Site
) -> None:
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    # The copy-link button is among the holder's sharing tools: sign in as the holder.
    educator_sign_in(page, site, "ann@example.org")
    response = page.goto(site.url(f"/credentials/{site.valid_id}"))
    assert response is not None and "camera=()" in response.headers["permissions-policy"]
    # Chromium reports no error for the header (a typo would switch a feature back on).
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial",
                    "clipboard-read", "browsing-topics"):  # fmt: skip
        assert page.evaluate(ALLOWS, feature) is False, feature
    for feature in ("clipboard-write", "fullscreen", "picture-in-picture"):
        assert page.evaluate(ALLOWS, feature) is True, feature
    button = page.get_by_role("button", name="Copy link")
    button.click()
    expect(page.get_by_role("button", name="Link copied")).to_be_visible()
