"""The public pages without JavaScript, and with a keyboard only: the skip link comes first, the
Verify form's controls follow in reading order, and focus is always visible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_educator_journey import educator_sign_in

Shot = Callable[[Page, str], Path]

# What the focused element is and how its focus shows, read in the page.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    id: el.id, tag: el.tagName.toLowerCase(), text: (el.textContent || "").trim(),
    cls: el.className, outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth,
    focusVisible: el.matches(":focus-visible"),
  };
}"""


def test_the_credential_page_shows_everything_without_javascript(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    # The sharing tools are the holder's: signed in (by the emailed link, which needs no
    # script either) as the educator it was awarded to.
    page = new_page(java_script_enabled=False)
    educator_sign_in(page, site, "ann@example.org")
    page.goto(site.url(f"/credentials/{site.valid_id}"))
    expect(page.locator(".status-banner .status-word")).to_have_text("Valid")
    expect(page.get_by_role("heading", level=1)).to_have_text(site.achievement_name)
    assert page.locator(".checks .check-pass").count() >= 6
    for name in (
        "Badge image (PNG)",
        "Badge image (SVG)",
        "Credential (JSON)",
        "Printable certificate",
        "Certificate PDF (A4)",
        "Add to LinkedIn",
        "Share by email",
    ):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    # The link can still be selected and copied by hand; the copy button needs the script.
    expect(page.get_by_label("Link to this credential")).to_have_value(
        site.url(f"/credentials/{site.valid_id}")
    )
    expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
    expect(page.get_by_role("img", name="QR code linking to this credential")).to_be_visible()
    shot(page, "nojs-credential")


def test_the_verify_form_submits_without_javascript(
    new_page: Callable[..., Page], site: Site, shot: Shot, tmp_path: Path
) -> None:
    page = new_page(java_script_enabled=False)
    png = tmp_path / "badge.png"
    response = page.request.get(site.url(f"/credentials/{site.valid_id}/badge.png"))
    assert response.ok
    png.write_bytes(response.body())
    page.goto(site.url("/verify"))
    page.get_by_label("Upload a badge image or credential file").set_input_files(png)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#result .status-word")).to_have_text("Valid")
    expect(page.locator(".check[data-check=proof]")).to_have_class("check check-pass")
    # Pasted text goes through the same form.
    page.goto(site.url("/verify"))
    page.get_by_label("…or paste a credential (JSON or JWT)").fill("not a credential")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".check[data-check=parse]")).to_have_class("check check-fail")
    shot(page, "nojs-verify-pasted-garbage")


def focus_path(page: Page, presses: int, until: str | None = None) -> list[dict[str, Any]]:
    """Press Tab up to ``presses`` times (stopping on the element whose text is ``until``); what
    had focus after each press."""
    path = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        path.append(page.evaluate(FOCUSED))
        if until is not None and path[-1]["text"] == until:
            break
    return path


def assert_focus_visible(step: dict[str, Any]) -> None:
    label = step["id"] or step["text"] or step["tag"]
    assert step["focusVisible"], f"{label}: focus is not :focus-visible"
    assert step["outlineStyle"] != "none" and step["outlineWidth"] != "0px", (
        f"{label}: no visible focus outline ({step['outlineStyle']} {step['outlineWidth']})"
    )


def test_keyboard_reaches_the_skip_link_first_then_the_verify_form_in_order(
    page: Page, site: Site, shot: Shot
) -> None:
    page.goto(site.url("/verify"))
    first = focus_path(page, 1)[0]
    assert first["text"] == "Skip to content" and "skip-link" in first["cls"], first
    assert_focus_visible(first)
    # The skip link is on screen while it has focus.
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    shot(page, "keyboard-skip-link")

    path = [first, *focus_path(page, 20, until="Verify")]
    form_order = [step["id"] for step in path if step["id"] in ("file", "text", "url", "recipient")]
    assert form_order == ["file", "text", "url", "recipient"]
    assert path[-1]["tag"] == "button" and path[-1]["text"] == "Verify", (
        "Tab never reached the Verify button"
    )
    assert path[-2]["id"] == "recipient"
    for step in path:
        assert_focus_visible(step)
    page.keyboard.press("Shift+Tab")
    shot(page, "keyboard-verify-form")


def test_the_skip_link_moves_the_keyboard_past_the_header(page: Page, site: Site) -> None:
    page.goto(site.url("/verify"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # The next Tab lands inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_the_verify_form_can_be_used_with_the_keyboard_alone(page: Page, site: Site) -> None:
    page.goto(site.url("/verify"))
    page.get_by_label("…or paste a credential (JSON or JWT)").focus()
    page.keyboard.type('{"not": "a credential"}')
    page.keyboard.press("Tab")  # link
    page.keyboard.press("Tab")  # recipient
    page.keyboard.press("Tab")  # the Verify button
    assert page.evaluate(FOCUSED)["text"] == "Verify"
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator(".checks .check").first).to_be_visible()
