"""Staff in a browser: sign in, award a credential through the form, find it in the list, and
open its public page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

Shot = Callable[[Page, str], Path]


def test_sign_in_award_through_the_form_and_see_it_listed(
    page: Page, site: Site, shot: Shot
) -> None:
    page.goto(site.url("/login"))
    shot(page, "staff-login")
    page.get_by_label("Email address").fill(site.staff_email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/{site.achievement_id}"))
    page.get_by_role("link", name="Award", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(site.achievement_name)
    page.get_by_label("Email address").fill("carla@example.org")
    page.get_by_label("Name Optional").fill("Carla Browser")
    page.get_by_label("Narrative Optional").fill("Led the *hinge question* workshop.")
    shot(page, "staff-award-form")
    page.get_by_role("button", name="Sign and award").click()
    expect(page.locator(".flash").first).to_contain_text(
        "Awarded; an email is on its way to carla@example.org"
    )
    shot(page, "staff-awarded")

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Credentials").click()
    row = page.locator("tbody tr", has_text="Carla Browser")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("carla@example.org")
    expect(row).to_contain_text(site.achievement_name)
    expect(row.locator(".status")).to_have_text("Valid")
    shot(page, "staff-credentials")

    # The public page of what was just awarded is valid.
    row.get_by_role("link", name="Carla Browser").click()
    public = page.get_by_role("row", name="Public address").get_by_role("link")
    href = public.get_attribute("href")
    assert href is not None and href.startswith(site.url("/credentials/"))
    public.click()
    expect(page.locator(".status-banner .status-word")).to_have_text("Valid")
    expect(page.get_by_text("Awarded to")).to_contain_text("Carla Browser")
