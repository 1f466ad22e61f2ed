"""The achievement form in a browser: the badge designer's live preview and the badge card
following the inputs (JavaScript on), the same form working by submitting (JavaScript off), a
refused form keeping the chosen file, and the page fitting a phone."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}


def sign_in_to(page: Page, site: Site, path: str) -> None:
    page.goto(site.url(path))
    if "/login" in page.url:
        page.get_by_label("Email address").fill(site.staff_email)
        page.get_by_label("Password").fill(site.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
    menu = page.get_by_role("banner").locator(".menu-button")
    if menu.is_visible():
        # On a phone Sign out sits behind the header's Menu button: open it, look, close it.
        menu.click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        menu.click()
    else:
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    if page.url.split("?")[0] != site.url(path):
        page.goto(site.url(path))


def new_form(site: Site) -> str:
    return f"/workspace/{site.issuer_slug}/achievements/new"


def fits(page: Page) -> None:
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    width, viewport = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 1)
            .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)""",
        viewport,
    )
    assert width <= viewport, f"{page.url} scrolls sideways: {width} > {viewport}: {wide}"


def matching(text: str) -> re.Pattern[str]:
    """A pattern for ``expect``: the attribute contains ``text``."""
    return re.compile(re.escape(text))


def loaded(page: Page, selector: str) -> None:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )


def test_design_a_badge_with_the_live_preview(page: Page, site: Site, shot: Shot) -> None:
    sign_in_to(page, site, new_form(site))
    # The essentials come first; the rest is folded.
    expect(page.locator("#name")).to_be_visible()
    expect(page.locator("#achievement_type")).to_be_hidden()
    designer = page.locator("#designer")
    expect(designer).to_be_hidden()  # only the chosen image panel shows
    shot(page, "achievement-form-new-1280")

    page.locator("#name").fill("Ideas Lab Facilitator")
    page.locator("#description").fill("Runs a term of teacher-led inquiry sessions.")
    page.locator("#criteria_markdown").fill("Facilitate **four** sessions.")
    expect(page.locator("#badge-card-name")).to_have_text("Ideas Lab Facilitator")
    expect(page.locator("#badge-card-initials")).to_have_text("ILF")

    page.get_by_label("Design a badge").check()
    expect(designer).to_be_visible()
    page.get_by_role("button", name="Plum").click()
    expect(page.locator("#design_background")).to_have_value("#5b3a7a")
    page.get_by_label("Rosette").check()
    page.get_by_label("Light bulb").check()
    page.get_by_label("First line").fill("Ideas Lab")
    preview = page.locator("#design-preview")
    designed = matching("icon=lightbulb")
    expect(preview).to_have_attribute("src", designed)
    expect(preview).to_have_attribute("src", matching("line1=Ideas"))
    expect(preview).to_have_attribute("src", matching("shape=rosette"))
    loaded(page, "#design-preview")
    expect(page.locator("#badge-card-image")).to_have_attribute("src", designed)

    page.get_by_text("More details").click()
    page.locator("#achievement_type").select_option("MicroCredential")
    expect(page.locator("#badge-card-type")).to_have_text("Micro-credential")
    page.get_by_text("Alignments").click()
    page.get_by_role("button", name="Add another alignment").click()
    expect(page.get_by_role("group", name="Alignment 2")).to_be_visible()
    expect(page.locator("#alignments-1-target_name")).to_be_focused()
    assert page.url.endswith("/achievements/new")  # added in place, nothing submitted
    shot(page, "achievement-form-designer-1280")

    page.get_by_role("button", name="Create achievement").click()
    expect(page.locator(".flash").first).to_contain_text("Created “Ideas Lab Facilitator”")
    image = page.locator("img.badge-image").first
    expect(image).to_have_attribute("src", matching(".svg"))
    loaded(page, "img.badge-image")
    shot(page, "achievement-designed-detail-1280")


def test_the_form_fits_a_phone(new_page: Callable[..., Page], site: Site, shot: Shot) -> None:
    page = new_page(viewport=PHONE)
    sign_in_to(page, site, new_form(site))
    page.get_by_label("Design a badge").check()
    page.get_by_text("More details").click()
    page.get_by_text("Alignments").click()
    loaded(page, "#design-preview")
    shot(page, "achievement-form-designer-390")
    fits(page)


def test_without_javascript_the_designer_and_a_kept_upload_work_by_submitting(
    new_page: Callable[..., Page], site: Site, shot: Shot, tmp_path: Path
) -> None:
    page = new_page(java_script_enabled=False)
    sign_in_to(page, site, new_form(site))
    expect(page.locator("#designer")).to_be_visible()  # every panel shows
    page.locator("#name").fill("Reading Coach")
    page.locator("#description").fill("Coaches colleagues in reading instruction.")
    page.locator("#criteria_markdown").fill("Coach for a term.")
    page.get_by_label("Shield").check()
    page.get_by_label("Open book").check()
    page.get_by_label("First line").fill("Reading")
    page.get_by_label("Second line").fill("Coach")
    page.get_by_role("button", name="Navy").click()  # submits: the page comes back with it
    expect(page.locator("#design_background")).to_have_value("#1d3a6b")
    expect(page.get_by_label("Design a badge")).to_be_checked()
    expect(page.locator("#name")).to_have_value("Reading Coach")
    expect(page.locator("#design-preview")).to_have_attribute("src", matching("shape=shield"))
    loaded(page, "#design-preview")
    shot(page, "achievement-form-no-js-designer-1280")

    # A refused form keeps a valid upload, and the summary links to what is wrong.
    buffer = io.BytesIO()
    PILImage.new("RGB", (128, 128), "#2f6f6a").save(buffer, "PNG")
    picture = tmp_path / "coach.png"
    picture.write_bytes(buffer.getvalue())
    page.get_by_label("Upload an image").check()
    page.get_by_label("Image file").set_input_files(str(picture))
    page.locator("#name").fill("")
    page.locator("#name").evaluate("input => input.removeAttribute('required')")
    page.get_by_role("button", name="Create achievement").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Nothing was saved.")
    expect(summary.get_by_role("link", name="Name")).to_have_attribute("href", "#name")
    expect(page.locator(".kept-image")).to_contain_text("“coach.png” is kept")
    shot(page, "achievement-form-no-js-refused-1280")
    page.locator("#name").fill("Reading Coach")
    page.get_by_role("button", name="Create achievement").click()
    expect(page.locator(".flash").first).to_contain_text("Created “Reading Coach”")
    expect(page.locator("img.badge-image").first).to_have_attribute("src", matching(".png"))
