"""The certificate journey in Chromium: the owner picks a template, colour, paper and signature
on the profile page; the certificate page follows it at desktop and phone width without
sideways scrolling, also for a very long name; screenshots of each to look at."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw
from playwright.sync_api import Page

from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_accessibility import open_signed_in

Shot = Callable[[Page, str], Path]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
LONG_NAME = "Maximiliana Alejandra Guadalupe Fernández-Villanueva de los Santos Oyelaran-Whitcombe"


def signature_png(tmp_path: Path) -> Path:
    canvas = PILImage.new("RGBA", (360, 100), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line(
        [(10, 70), (60, 20), (90, 80), (140, 30), (190, 75), (260, 25), (340, 60)],
        fill=(20, 30, 90, 255),
        width=6,
    )
    path = tmp_path / "signature.png"
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def choose_design(page: Page, site: Site, template: str, colour: str, paper: str) -> None:
    open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/profile"))
    form = page.locator("form", has=page.get_by_role("button", name="Save certificate design"))
    form.get_by_label(template.capitalize(), exact=False).first.check()
    form.get_by_label(colour.capitalize()).check()
    form.locator(f"#paper-{paper}").check()
    form.get_by_role("button", name="Save certificate design").click()
    page.get_by_text("Certificate design saved").wait_for()


def no_sideways_scroll(page: Page) -> None:
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)  # type: ignore[index]


@pytest.fixture(scope="module")
def long_credential(site: Site) -> str:
    (document,) = cairn_commands(
        site,
        ["award", "--issuer", "north", "--recipient", "max@example.org", "--name", LONG_NAME,
         "--achievement", site.achievement_id, "--json", "--no-email"],
    )  # fmt: skip
    return str(json.loads(document)["id"].rsplit("/", 1)[-1])


@pytest.fixture
def restore_design(page: Page, site: Site) -> Iterator[None]:
    yield
    choose_design(page, site, "classic", "teal", "auto")


def test_the_owner_designs_the_certificate(
    page: Page, site: Site, shot: Shot, tmp_path: Path, restore_design: None
) -> None:
    open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/profile"))
    page.get_by_label("Name of the person signing").fill("Dr. Maria Alvarez")
    page.get_by_label("Their title").fill("Director of Professional Learning")
    page.get_by_label("Upload a signature image").set_input_files(signature_png(tmp_path))
    page.locator("#template-modern").check()
    page.get_by_label("Plum").check()
    page.locator("#paper-letter").check()
    page.get_by_role("button", name="Save certificate design").click()
    page.get_by_text("Certificate design saved").wait_for()
    preview = page.get_by_role("img", name="The current signature image")
    preview.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.signature-preview'); return i.complete; }"
    )
    assert preview.evaluate("i => i.naturalWidth") > 0
    shot(page, "certificate-profile-desktop")
    phone = page.context.browser.new_context(**PHONE)  # type: ignore[union-attr]
    try:
        phone.add_cookies(page.context.cookies())
        small = phone.new_page()
        small.goto(site.url(f"/workspace/{site.issuer_slug}/profile"))
        no_sideways_scroll(small)
        shot(small, "certificate-profile-phone")
    finally:
        phone.close()
    # A bad upload is refused beside the field and nothing is saved.
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"not an image")
    page.get_by_label("Upload a signature image").set_input_files(bad)
    page.get_by_role("button", name="Save certificate design").click()
    page.locator("#signature-error").wait_for()
    shot(page, "certificate-profile-error")


@pytest.mark.parametrize(
    ("template", "colour", "paper"),
    [("classic", "teal", "auto"), ("modern", "navy", "letter"), ("minimal", "burgundy", "a4")],
)
def test_the_certificate_page_follows_the_design(
    page: Page,
    site: Site,
    shot: Shot,
    long_credential: str,
    restore_design: None,
    template: str,
    colour: str,
    paper: str,
) -> None:
    choose_design(page, site, template, colour, paper)
    for credential_id, label in ((site.valid_id, "ann"), (long_credential, "long")):
        page.goto(site.url(f"/credentials/{credential_id}/certificate"))
        sheet = page.locator("main.certificate")
        assert f"template-{template}" in (sheet.get_attribute("class") or "")
        assert sheet.get_by_text("hours of credit").is_visible()
        shot(page, f"certificate-{template}-{label}-desktop")
        # Every part of the sheet stays inside it.
        overflowing = page.evaluate(
            """() => { const sheet = document.querySelector('main.certificate').getBoundingClientRect();
              return [...document.querySelectorAll('main.certificate *')].filter(e => {
                const r = e.getBoundingClientRect();
                return r.width && (r.right > sheet.right + 1 || r.left < sheet.left - 1);
              }).map(e => e.className || e.tagName); }"""
        )
        assert overflowing == [], overflowing
        phone = page.context.browser.new_context(**PHONE)  # type: ignore[union-attr]
        try:
            small = phone.new_page()
            small.goto(site.url(f"/credentials/{credential_id}/certificate"))
            no_sideways_scroll(small)
            shot(small, f"certificate-{template}-{label}-phone")
        finally:
            phone.close()
    # The PDF link names the paper the PDF is printed on.
    # Automatic: by the browser's language (Chromium sends its own, en-US unless told).
    american = page.evaluate("navigator.language").endswith("-US")
    expected = {"auto": "US Letter" if american else "A4", "letter": "US Letter", "a4": "A4"}[paper]
    assert page.get_by_role("link", name=f"Download PDF ({expected})").is_visible()


def test_the_pdf_follows_the_readers_region(site: Site, page: Page) -> None:
    url = site.url(f"/credentials/{site.valid_id}/certificate.pdf")
    us = page.request.get(url, headers={"Accept-Language": "en-US,en;q=0.8"})
    uk = page.request.get(url, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "letter" in us.headers["content-disposition"]
    assert "a4" in uk.headers["content-disposition"]
    assert "Accept-Language" in us.headers["vary"]
