"""What an employer sees: a credential link showing Valid (a page to check it, without the
holder's sharing tools), a revoked one showing its public reason, a
baked PNG and a tampered file dropped on the Verify page, on a desktop and on a phone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
# The checks a Cairn credential (Data Integrity, did:web, status list) gets, in page order.
CAIRN_CHECKS = [
    "parse",
    "context",
    "type",
    "schema",
    "terms",
    "proof",
    "issuer_key",
    "valid_from",
    "valid_until",
    "status",
]


def download(page: Page, url: str, target: Path) -> Path:
    """Fetch ``url`` with the page's own cookies and save it, as a visitor's download would."""
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"
    target.write_bytes(response.body())
    return target


def verify_upload(page: Page, site: Site, upload: Path) -> None:
    """Choose ``upload`` in the Verify page's file field and submit the form."""
    page.goto(site.url("/verify"))
    page.get_by_label("Upload a badge image or credential file").set_input_files(upload)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()


def test_employer_opens_a_credential_link_and_sees_valid(
    page: Page, site: Site, shot: Shot
) -> None:
    page.goto(site.url(f"/credentials/{site.valid_id}"))
    banner = page.locator(".status-banner")
    expect(banner).to_have_class("status-banner status-banner-valid")
    expect(banner.locator(".status-word")).to_have_text("Valid")
    expect(page.get_by_role("heading", level=1)).to_have_text(site.achievement_name)
    expect(page.get_by_text("Awarded to")).to_contain_text("Ann Example")
    expect(page.get_by_role("link", name=site.issuer_name)).to_have_attribute(
        "href", f"/issuers/{site.issuer_slug}"
    )
    expect(page.get_by_role("img", name=f"{site.achievement_name} badge")).to_be_visible()
    checks = page.locator(".checks .check")
    assert checks.count() >= 6
    assert page.locator(".checks .check-fail").count() == 0
    # A verification page: the sharing tools are the holder's, not an employer's.
    for name in (
        "Badge image (PNG)",
        "Printable certificate",
        "Certificate PDF (A4)",
        "Add to LinkedIn",
        "Share by email",
    ):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_role("img", name="QR code linking to this credential")).to_have_count(0)
    expect(page.get_by_role("link", name="the signed credential (JSON)")).to_be_visible()
    shot(page, "credential-valid")


def test_a_revoked_credential_shows_its_reason(page: Page, site: Site, shot: Shot) -> None:
    page.goto(site.url(f"/credentials/{site.revoked_id}"))
    banner = page.locator(".status-banner")
    expect(banner).to_have_class("status-banner status-banner-revoked")
    expect(banner.locator(".status-word")).to_contain_text("Revoked")
    expect(banner).to_contain_text(site.revoke_reason)
    expect(page.locator("main")).not_to_contain_text(site.revoke_note)  # the internal note
    expect(page.locator(".checks .check-fail")).to_have_count(1)
    shot(page, "credential-revoked")


def test_a_baked_png_dropped_on_verify_shows_each_check(
    page: Page, site: Site, shot: Shot, tmp_path: Path
) -> None:
    png = download(
        page, site.url(f"/credentials/{site.valid_id}/badge.png"), tmp_path / "badge.png"
    )
    assert png.read_bytes().startswith(b"\x89PNG")
    verify_upload(page, site, png)
    expect(page.locator("#result .status-word")).to_have_text("Valid")
    shown = page.locator(".checks .check").evaluate_all(
        "items => items.map(i => [i.dataset.check, i.className])"
    )
    ids = [check for check, _ in shown]
    assert [check for check in ids if check in CAIRN_CHECKS] == CAIRN_CHECKS
    failing = [check for check, classes in shown if "check-fail" in classes]
    assert failing == []
    for check in CAIRN_CHECKS:
        expect(page.locator(f'.check[data-check="{check}"]')).to_have_class("check check-pass")
    expect(page.locator(".check[data-check=parse]")).to_contain_text("baked into a PNG")
    expect(page.locator(".facts")).to_contain_text(site.achievement_name)
    shot(page, "verify-baked-png")


def test_a_tampered_upload_is_rejected_and_the_failing_check_named(
    page: Page, site: Site, shot: Shot, tmp_path: Path
) -> None:
    original = download(
        page,
        site.url(f"/credentials/{site.valid_id}/credential.json"),
        tmp_path / "credential.json",
    )
    text = original.read_text()
    assert f'"name":"{site.achievement_name}"' in text
    # Edit the text as someone with a text editor would: the JSON stays well-formed.
    forged = text.replace(
        f'"name":"{site.achievement_name}"', '"name":"Doctorate in Everything"', 1
    )
    json.loads(forged)
    upload = tmp_path / "forged.json"
    upload.write_text(forged)
    verify_upload(page, site, upload)
    shot(page, "verify-tampered")
    expect(page.locator("#result")).to_have_class("status-banner status-banner-invalid")
    expect(page.locator("#result .status-word")).not_to_have_text("Valid")
    # The signature check fails and says so in words; the issuer-key check follows it down (no
    # verified proof, no key to tie to the issuer); everything before the proof still passes.
    proof = page.locator(".check[data-check=proof]")
    expect(proof).to_have_class("check check-fail")
    expect(proof).to_contain_text("proof: No valid proof")
    expect(proof).to_contain_text("signature does not match")
    failing = page.locator(".checks .check-fail").evaluate_all(
        "items => items.map(i => i.dataset.check)"
    )
    assert failing[0] == "proof" and set(failing) <= {"proof", "issuer_key"}
    for check in ("parse", "context", "type", "schema", "terms"):
        expect(page.locator(f'.check[data-check="{check}"]')).to_have_class("check check-pass")


@pytest.mark.parametrize("path", ["credential", "verify", "verify-result", "issuer", "achievement"])
def test_pages_fit_a_phone_without_horizontal_scrolling(
    new_page: Callable[..., Page], site: Site, shot: Shot, path: str
) -> None:
    page = new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    url = {
        "credential": f"/credentials/{site.valid_id}",
        "verify": "/verify",
        "verify-result": f"/verify?url={site.url(f'/credentials/{site.valid_id}')}",
        "issuer": f"/issuers/{site.issuer_slug}",
        "achievement": f"/achievements/{site.achievement_id}",
    }[path]
    page.goto(site.url(url))
    # A mobile browser widens its layout viewport to fit content that overflows, so innerWidth
    # alone would hide the problem: compare with the phone's own width too.
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == PHONE["width"], (
        f"{url}: the page widened the phone's viewport to {inner_width} px"
    )
    assert scroll_width <= inner_width, (
        f"{url} scrolls sideways on a {PHONE['width']} px phone: {scroll_width} px wide"
    )
    shot(page, f"phone-{path}")
