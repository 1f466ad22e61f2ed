"""The educator's view in Chromium, at desktop and phone width: the backpack (with credentials,
and empty, pointing to open modules), a credential's actions in one place (one main action,
the files behind one "Download" menu, who can see it), and a module page that lists what is
still missing instead of offering "Complete".

The module is made through the workspace's forms (one activity, one prompt, a learning partner
required); its achievement with the ``cairn`` commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import DESKTOP, Site, assert_counted_linkedin, cairn_commands
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_educator_journey import educator_sign_in, flash, mailed_link, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
MODULE_BADGE = "Questioning for Understanding"
MODULE_TITLE = "Questions that open up thinking"
ACTIVITY = "Plan three hinge questions"
PROMPT = "Which misconception does each question reveal?"
HOLDER = "ann@example.org"
NEWCOMER = "casey.newcomer@school.example.org"


@pytest.fixture(scope="module")
def module_id(site: Site, browser: Browser) -> Iterator[str]:
    """A published open module (one activity, one prompt, a partner required), made by staff."""
    cairn_commands(
        site,
        ["achievements", "create", "--issuer", site.issuer_slug, "--name", MODULE_BADGE,
         "--description", "Plans questions that show what the class understands.",
         "--criteria", "Completed the questioning module."],
    )  # fmt: skip
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        staff_sign_in(page, site, site.staff_email)
        page.goto(site.url(f"/workspace/{site.issuer_slug}/modules/new"))
        page.get_by_label("Title").fill(MODULE_TITLE)
        page.get_by_label("Summary").fill("Write questions whose answers tell you what to do next.")
        page.get_by_label("Achievement it leads to").select_option(label=MODULE_BADGE)
        page.get_by_label("Any educator").check()
        page.get_by_label("A learning partner must confirm").check()
        page.get_by_label("Award the badge automatically").check()
        page.get_by_role("button", name="Create the module").click()
        expect(flash(page)).to_contain_text(f"Created “{MODULE_TITLE}”")
        made = page.url.rstrip("/").rsplit("/", 1)[-1]
        page.get_by_role("link", name="Add an activity").click()
        page.get_by_label("Title", exact=True).fill(ACTIVITY)
        page.get_by_label("Directions").fill("Plan them for one lesson this week.")
        page.get_by_role("button", name="Add the activity").click()
        page.get_by_label("New prompt").fill(PROMPT)
        page.get_by_role("button", name="Add the prompt").click()
        expect(page.get_by_label("Prompt 1", exact=True)).to_have_value(PROMPT)
        page.get_by_role("link", name="Back to the module").click()
        page.get_by_role("button", name="Publish").click()
        expect(flash(page)).to_contain_text("Published")
        yield made
    finally:
        context.close()


def fits(page: Page) -> None:
    """Nothing on the page is wider than the window."""
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll} px wide in a {inner} px window"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_backpack_cards_fit_their_addresses(
    new_page: Callable[..., Page], site: Site, shot: Shot, width: str
) -> None:
    page = new_page(viewport=WIDTHS[width])
    educator_sign_in(page, site, HOLDER)
    page.goto(site.url("/me/"))
    card = page.locator("article.card").filter(has_text=site.achievement_name).first
    expect(card.locator(".address")).to_have_text(HOLDER)
    overflowing = card.evaluate("card => card.scrollWidth > card.clientWidth")
    assert not overflowing
    fits(page)
    shot(page, f"educator-backpack-{width}")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_credentials_actions_are_in_one_place(
    new_page: Callable[..., Page], site: Site, shot: Shot, width: str
) -> None:
    page = new_page(viewport=WIDTHS[width], bypass_csp=True)
    educator_sign_in(page, site, HOLDER)
    page.goto(site.url(f"/me/credentials/{site.valid_id}"))
    actions = page.locator("section.credential-actions")
    expect(actions.locator("a.button:not(.secondary)")).to_have_count(1)
    expect(actions.get_by_role("link", name="Add to LinkedIn")).to_be_visible()
    linkedin = actions.get_by_role("link", name="Add to LinkedIn")
    assert_counted_linkedin(page, site, linkedin, site.valid_id)
    expect(actions.get_by_role("button", name="Copy link")).to_be_visible()
    pdf = actions.get_by_role("link", name="Certificate PDF (A4)")
    expect(pdf).to_be_hidden()
    shot(page, f"educator-credential-{width}")
    actions.locator("summary", has_text="Download").click()
    expect(pdf).to_be_visible()
    expect(actions.get_by_role("link", name="Badge image (PNG)")).to_be_visible()
    expect(actions.get_by_role("radio", name="Private")).to_be_visible()
    fits(page)
    shot(page, f"educator-credential-download-open-{width}")
    assert_accessible(page, f"educator-credential-{width}", shot)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_an_empty_backpack_points_to_an_open_module_which_lists_what_is_missing(
    new_page: Callable[..., Page], site: Site, shot: Shot, module_id: str, width: str
) -> None:
    page = new_page(viewport=WIDTHS[width], bypass_csp=True)
    educator_sign_in(page, site, f"{width}.{NEWCOMER}")
    page.goto(site.url("/me/"))
    expect(page.locator(".empty-state")).to_contain_text("No credentials yet.")
    fits(page)
    shot(page, f"educator-backpack-empty-{width}")
    assert_accessible(page, f"educator-backpack-empty-{width}", shot)
    page.locator(".empty-state").get_by_role("link", name=MODULE_TITLE).click()
    expect(page).to_have_url(site.url(f"/me/modules/{module_id}"))
    page.get_by_role("button", name="Enrol in this module").click()

    complete = page.locator("#complete")
    expect(complete).to_contain_text("Still to do before you can complete it:")
    expect(complete).to_contain_text(f"still to do: {ACTIVITY}.")
    expect(complete.get_by_role("button")).to_have_count(0)
    fits(page)
    shot(page, f"educator-module-missing-{width}")
    assert_accessible(page, f"educator-module-missing-{width}", shot)

    complete.get_by_role("link", name=f"Continue with “{ACTIVITY}”").click()
    page.get_by_label(PROMPT).fill("That a larger denominator means a larger fraction.")
    # Pressed at once after typing: the press lands (see the test below for an autosave that
    # is still on its way when it does).
    page.get_by_role("button", name="Save and back to the module").click()
    expect(page).to_have_url(site.url(f"/me/modules/{module_id}"))
    expect(complete).not_to_contain_text("still to do:")
    expect(complete).to_contain_text("Invite a learning partner to confirm your checklist.")
    expect(complete.get_by_role("button")).to_have_count(0)
    complete.get_by_role("link", name="Invite a learning partner").click()
    expect(page.get_by_label("Their name")).to_be_visible()
    shot(page, f"educator-module-partner-missing-{width}")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_save_and_back_pressed_while_an_autosave_is_on_its_way_is_not_lost(
    new_page: Callable[..., Page], site: Site, shot: Shot, module_id: str, width: str
) -> None:
    """The educator types, the autosave goes out (and is slow to be answered), they type on and
    press "Save and back to the module" at once. The press must not be lost, and the autosave,
    carrying the older text, must not reach the server after the press's answers (it would
    overwrite them): the press waits for it, then posts."""
    page = new_page(viewport=WIDTHS[width])
    educator_sign_in(page, site, f"{width}.hurried@school.example.org")
    page.goto(site.url(f"/me/modules/{module_id}"))
    page.get_by_role("button", name="Enrol in this module").click()
    page.locator("#complete").get_by_role("link", name=f"Continue with “{ACTIVITY}”").click()
    # Loaded (its autosave script running) before anything is typed, at the activity's address.
    page.wait_for_url("**/activities/*")
    activity_url = page.url

    # The slow autosave: its request is held here until the test lets it go on.
    held: list[Route] = []
    arrived: list[str] = []

    def slow_autosave(route: Route) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
        elif "application/json" in (request.headers.get("accept") or ""):
            arrived.append("autosave")
            held.append(route)
        else:
            arrived.append("press")
            route.continue_()

    page.route(activity_url, slow_autosave)
    answer = page.get_by_label(PROMPT)
    answer.fill("Half of the class")
    status = page.locator("[data-autosave-status]")
    expect(status).to_have_text("Saving…")  # a moment after typing stops, the autosave is out
    final = "Half of the class thinks a larger denominator means a larger fraction."
    answer.fill(final)
    fits(page)
    shot(page, f"educator-activity-autosave-saving-{width}")
    page.get_by_role("button", name="Save and back to the module").click()
    page.wait_for_timeout(500)  # the autosave is slow: the press would have posted by now
    assert arrived == ["autosave"], "the press posted while the autosave was on its way"
    for route in held:
        route.continue_()
    arrived.append("autosave answered")

    expect(page).to_have_url(site.url(f"/me/modules/{module_id}"))
    expect(flash(page)).to_contain_text("Saved your answers.")
    assert arrived == ["autosave", "autosave answered", "press"]
    page.unroute(activity_url)
    page.goto(activity_url)
    expect(page.get_by_label(PROMPT)).to_have_value(final)
    # Leaving the answer saves it; the status line, below the buttons, says so.
    save_and_back = page.get_by_role("button", name="Save and back to the module")
    where = save_and_back.bounding_box()
    page.get_by_label(PROMPT).fill(final + " Most of them, in fact.")
    page.get_by_label(PROMPT).blur()
    expect(page.locator("[data-autosave-status]")).to_contain_text("1 of 1 prompts answered")
    assert save_and_back.bounding_box() == where
    shot(page, f"educator-activity-autosave-saved-{width}")


def assert_ob2_badge(page: Page, site: Site, href: str) -> None:
    """The link gives a PNG whose ``openbadges`` iTXt chunk holds the hosted assertion's URL, and
    that URL answers the OB 2.0 assertion."""
    data = page.request.get(site.url(href)).body()
    marker = b"iTXtopenbadges\0\0\0\0\0"
    assert data.startswith(b"\x89PNG") and marker in data
    start = data.index(marker) + len(marker)
    url = data[start : start + len(site.url("/ob2/assertions/")) + 36].decode()
    assert url == site.url(f"/ob2/assertions/{site.valid_id}")
    assertion = page.request.get(url).json()
    assert assertion["type"] == "Assertion" and assertion["id"] == url


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_holder_is_offered_the_badge_for_older_backpacks(
    new_page: Callable[..., Page], site: Site, shot: Shot, width: str
) -> None:
    page = new_page(viewport=WIDTHS[width])
    educator_sign_in(page, site, HOLDER)
    # In the backpack, behind "Download".
    page.goto(site.url(f"/me/credentials/{site.valid_id}"))
    actions = page.locator("section.credential-actions")
    ob2_link = actions.get_by_role("link", name="For older backpacks (Open Badges 2.0)")
    expect(ob2_link).to_be_hidden()
    actions.locator("summary", has_text="Download").click()
    expect(ob2_link).to_be_visible()
    fits(page)
    shot(page, f"ob2-educator-credential-download-open-{width}")
    assert_ob2_badge(page, site, ob2_link.get_attribute("href") or "")
    # On the credential's own page, which the holder sees with their sharing tools.
    page.goto(site.url(f"/credentials/{site.valid_id}"))
    link = page.get_by_role("link", name="Badge image for older backpacks (Open Badges 2.0, PNG)")
    expect(link).to_be_visible()
    link.scroll_into_view_if_needed()
    fits(page)
    shot(page, f"ob2-holder-credential-page-{width}")
    assert_ob2_badge(page, site, link.get_attribute("href") or "")
    # Through a manage link, asked for by email as a holder without an account would.
    page.goto(site.url(f"/credentials/{site.valid_id}/manage"))
    page.get_by_label("Email address").fill(HOLDER)
    page.get_by_role("button", name="Email me a new link").click()
    manage = mailed_link(
        page, site, HOLDER, "Your link to manage", f"/credentials/{site.valid_id}/manage/"
    )
    page.goto(manage)
    link = page.get_by_role("link", name="Badge image for older backpacks (Open Badges 2.0, PNG)")
    expect(link).to_be_visible()
    fits(page)
    shot(page, f"ob2-manage-page-{width}")
    assert_ob2_badge(page, site, link.get_attribute("href") or "")
