"""API tokens and the API documentation in a browser: an owner makes a token (shown once, with a
copy button), the token works against the API, and is revoked after a confirm step; the docs
page is served without a CDN. Each screen at 1280 and 390 px, fitting the phone's width, with
no serious axe-core violation."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_accessibility import BLOCKING, axe, describe

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, site: Site) -> None:
    page.goto(site.url("/login"))
    page.get_by_label("Email address").fill(site.staff_email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def fits(page: Page) -> None:
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window"


def api_get(site: Site, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 (the test server's own loopback URL)
        site.url(path), headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def make_token(page: Page, site: Site, name: str) -> str:
    page.goto(site.url(f"/workspace/{site.issuer_slug}/tokens"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("achievements:read").check()
    page.get_by_label("awards:write").check()
    page.get_by_role("button", name="Make the token").click()
    expect(page.get_by_role("heading", name=f"Your new token “{name}”")).to_be_visible()
    return page.get_by_label("Token", exact=True).input_value()


def test_an_owner_makes_uses_and_revokes_a_token(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    for width, viewport in (("1280", None), ("390", PHONE)):
        page = new_page(**({"viewport": viewport} if viewport else {}))
        sign_in(page, site)
        page.goto(site.url(f"/workspace/{site.issuer_slug}/tokens"))
        shot(page, f"api-tokens-empty-{width}")
        fits(page)
        token = make_token(page, site, f"LMS {width}")
        assert token.startswith("cairn_")
        if width == "1280":
            expect(page.get_by_role("button", name="Copy token")).to_be_visible()
        shot(page, f"api-tokens-made-{width}")
        fits(page)
        status, body = api_get(site, f"/api/v1/issuers/{site.issuer_slug}/achievements", token)
        assert status == 200 and site.achievement_id in [a["id"] for a in body["items"]]

        page.goto(site.url(f"/workspace/{site.issuer_slug}/tokens"))
        assert token not in page.content()  # shown once
        row = page.locator("tbody tr", has_text=f"LMS {width}")
        row.get_by_role("button", name=f"Revoke the token LMS {width}").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke the token")
        shot(page, f"api-tokens-confirm-revoke-{width}")
        fits(page)
        page.get_by_role("button", name="Revoke the token").click()
        expect(page.locator(".flash").first).to_contain_text("is revoked")
        expect(page.locator("tbody tr", has_text=f"LMS {width}").locator(".status")).to_have_text(
            "Revoked"
        )
        shot(page, f"api-tokens-list-{width}")
        fits(page)
        status, body = api_get(site, f"/api/v1/issuers/{site.issuer_slug}/achievements", token)
        assert status == 401 and body["error"]["code"] == "unauthorized"


def test_the_docs_page_is_complete_and_local(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    for width, viewport in (("1280", None), ("390", PHONE)):
        page = new_page(**({"viewport": viewport} if viewport else {}))
        requested: list[str] = []
        page.on("request", lambda r, seen=requested: seen.append(r.url))
        page.goto(site.url("/api/docs"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Cairn issuer API")
        expect(
            page.get_by_role("heading", name="POST /api/v1/issuers/{slug}/awards", exact=True)
        ).to_be_visible()
        page.locator("#post--api-v1-issuers-slug-awards summary", has_text="curl").click()
        expect(page.locator("#post--api-v1-issuers-slug-awards pre").first).to_contain_text(
            "Idempotency-Key"
        )
        shot(page, f"api-docs-{width}")
        fits(page)
        outside = [url for url in requested if not url.startswith(site.url("/"))]
        assert outside == [], outside


def test_token_and_docs_pages_pass_axe(new_page: Callable[..., Page], site: Site) -> None:
    page = new_page(bypass_csp=True)
    sign_in(page, site)
    make_token(page, site, "axe")
    for name in ("made", "docs"):
        if name == "docs":
            page.goto(site.url("/api/docs"))
        blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
        assert not blocking, f"{name}:\n{describe(blocking)}"
