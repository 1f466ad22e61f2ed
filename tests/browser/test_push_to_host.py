"""Pushing to another host in a browser: the educator connects the instance to an OB 3.0 host by
its discovery URL (here the instance itself, allow-listed on the loopback), allows Cairn on the
host's consent page, pushes a credential and the profile and sees the results. The connect page
and the connection page at 1280 and 390 px, fitting the phone's width, with no serious axe-core
violation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_accessibility import BLOCKING, axe, describe
from tests.browser.test_educator_journey import educator_sign_in, flash

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}


def check_axe(page: Page, url: str, name: str) -> None:
    page.goto(url)
    blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{name}:\n{describe(blocking)}"


def test_connect_a_host_and_push_to_it(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    page = new_page()
    educator_sign_in(page, site, "ann@example.org")
    page.goto(site.url("/me/"))
    page.get_by_role("link", name="Push to another host").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Push to another host")
    state = page.context.storage_state()
    check_axe(new_page(bypass_csp=True, storage_state=state), page.url, "hosts")
    shot(page, "ob-push-hosts-1280")
    phone = new_page(viewport=PHONE, storage_state=state)
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "ob-push-hosts-390")

    # A refused address is shown beside the form.
    page.get_by_label("The host's discovery URL").fill("https://10.0.0.7/ims/ob/v3p0/discovery")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text("not a public address")

    page.get_by_label("The host's discovery URL").fill(site.url("/ims/ob/v3p0/discovery"))
    page.get_by_role("button", name="Connect").click()
    if page.get_by_role("alert").count():
        raise AssertionError(page.get_by_role("alert").inner_text())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cairn wants to connect")
    page.get_by_role("button", name="Allow").click()
    expect(flash(page)).to_contain_text("Connected to Cairn: Open Badges 3.0 API")

    # Other tests of the shared site may have awarded this holder the achievement again: push one.
    page.get_by_label("Formative Assessment in Practice", exact=False).first.check()
    page.get_by_label("Your profile").check()
    page.get_by_role("button", name="Push").click()
    expect(flash(page)).to_contain_text("2 sent to the host")
    results = page.locator("tbody").inner_text()
    assert page.locator("tr.push-pushed").count() == 2, results
    expect(page.get_by_role("cell", name="Your profile")).to_be_visible()
    connection = page.url
    state = page.context.storage_state()
    check_axe(new_page(bypass_csp=True, storage_state=state), connection, "host")
    shot(page, "ob-push-host-1280")
    phone = new_page(viewport=PHONE, storage_state=state)
    phone.goto(connection)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "ob-push-host-390")

    page.goto(site.url("/me/hosts"))
    expect(page.get_by_role("link", name="Cairn: Open Badges 3.0 API")).to_be_visible()
    shot(page, "ob-push-hosts-connected-1280")
    page.goto(connection)
    page.get_by_role("button", name="Disconnect from Cairn").click()
    page.get_by_role("button", name="Disconnect").click()
    expect(flash(page)).to_contain_text("Disconnected from Cairn")
    expect(page.get_by_text("No hosts are connected yet")).to_be_visible()
