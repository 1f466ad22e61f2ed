"""A credential of an achievement with a designed (SVG) badge and credit hours, in Chromium: the
public page shows the type and hours in words and the badge drawn as PNG, at desktop and phone
width; the baked PNG and SVG both carry the credential; the certificate PDF is rendered to
pixels to look at."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image as PILImage
from playwright.sync_api import Browser, Page, expect

from credentials import unbake
from tests.browser.conftest import SCREENSHOTS, Site, cairn_commands
from tests.browser.test_achievement_form import loaded, sign_in_to

Shot = Callable[[Page, str], Path]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


@pytest.fixture(scope="module")
def designed_credential(browser: Browser, site: Site) -> str:
    """A credential of a new "Coaching Cycles" micro-credential (1.5 hours) whose badge was
    drawn in the badge designer."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in_to(page, site, f"/workspace/{site.issuer_slug}/achievements/new")
    page.locator("#name").fill("Coaching Cycles")
    page.locator("#description").fill("Led three coaching cycles with a colleague.")
    page.locator("#criteria_markdown").fill("Complete **three** cycles.")
    page.get_by_label("Design a badge").check()
    page.get_by_label("Shield").check()
    page.get_by_label("First line").fill("Coaching")
    page.get_by_label("Second line").fill("Cycles")
    page.get_by_text("More details").click()
    page.locator("#achievement_type").select_option("MicroCredential")
    page.locator("#credits_available").fill("1.5")
    page.get_by_role("button", name="Create achievement").click()
    expect(page.locator(".flash").first).to_contain_text("Created “Coaching Cycles”")
    public_id = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    context.close()
    (document,) = cairn_commands(
        site,
        ["award", "--issuer", "north", "--recipient", "cleo@example.org", "--name", "Cleo Example",
         "--achievement", public_id, "--json", "--no-email"],
    )  # fmt: skip
    credential_id: str = json.loads(document)["id"].rsplit("/", 1)[-1]
    return credential_id


@pytest.mark.parametrize("width", ["1280", "390"])
def test_the_public_page_says_the_type_and_hours_in_words(
    new_page: Callable[..., Page], site: Site, designed_credential: str, shot: Shot, width: str
) -> None:
    page = new_page(**PHONE) if width == "390" else new_page()
    page.goto(site.url(f"/credentials/{designed_credential}"))
    facts = page.locator("main")
    expect(facts).to_contain_text("Micro-credential")
    expect(facts).to_contain_text("1.5 hours")
    assert "MicroCredential" not in facts.inner_text()
    # The badge on the page is the baked PNG, drawn from the designed SVG at 512 pixels.
    badge = page.locator(f"img[src$='/credentials/{designed_credential}/badge.png']").first
    expect(badge).to_be_visible()
    loaded(page, f"img[src$='/credentials/{designed_credential}/badge.png']")
    assert badge.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [512, 512]
    assert page.evaluate("document.documentElement.scrollWidth") <= int(width)
    shot(page, f"credential-svg-badge-{width}")


def test_both_baked_images_and_the_certificate(
    page: Page, site: Site, designed_credential: str
) -> None:
    base = site.url(f"/credentials/{designed_credential}")
    stored = page.request.get(base, headers={"Accept": "application/ld+json"}).text()
    png = page.request.get(f"{base}/badge.png").body()
    svg = page.request.get(f"{base}/badge.svg").body()
    for baked, kind in ((png, "png"), (svg, "svg")):
        payload = unbake(baked)
        assert payload is not None and payload.image_format == kind
        assert payload.text == stored
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "credential-svg-badge-baked.png").write_bytes(png)
    drawn = PILImage.open(io.BytesIO(png))
    assert drawn.size == (512, 512)

    pdf = page.request.get(f"{base}/certificate.pdf", headers={"Accept-Language": "en-US"})
    assert pdf.headers["content-type"] == "application/pdf"
    sheet = pypdfium2.PdfDocument(pdf.body())[0]
    text = sheet.get_textpage().get_text_range()
    assert "1.5 hours of credit" in text
    sheet.render(scale=1.5).to_pil().save(SCREENSHOTS / "credential-svg-badge-certificate.png")
