"""Connecting a wallet through the OB 3.0 API in a browser: the wallet registers, sends the
educator to the authorize URL, the educator signs in by emailed link and lands on the consent
page (the request kept across the sign-in), allows, and the wallet gets its code; the backpack's
connected applications page lists it and disconnects it. The consent page and the list at 1280
and 390 px, fitting the phone's width, with no serious axe-core violation."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Site
from tests.browser.test_accessibility import BLOCKING, axe, describe
from tests.browser.test_educator_journey import flash, mailed_link

Shot = Callable[[Page, str], Path]
PHONE = {"width": 390, "height": 844}
EMAIL = "olu.ade@school.example.org"
REDIRECT_URI = "https://wallet.example.net/callback"
SCOPES = " ".join(
    f"https://purl.imsglobal.org/spec/ob/v3p0/scope/{name}"
    for name in ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")
)
#: A 1x1 PNG: the wallet's logo, answered by the test in place of the wallet's site.
LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhgH/cBcKIgAAAABJRU5ErkJggg=="
)


def register(site: Site) -> tuple[str, str]:
    body = {
        "client_name": "Example Wallet",
        "client_uri": "https://wallet.example.net/",
        "logo_uri": "https://wallet.example.net/logo.png",
        "redirect_uris": [REDIRECT_URI],
        "scope": SCOPES,
    }
    request = urllib.request.Request(  # noqa: S310  (the local test instance)
        site.url("/ims/ob/v3p0/register"),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        assert answer.status == 201
        registered = json.loads(answer.read())
    return registered["client_id"], registered["client_secret"]


def exchange(site: Site, client: tuple[str, str], code: str, verifier: str) -> None:
    """The wallet's token request (client_secret_basic, with the PKCE verifier)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  (the local test instance)
        site.url("/ims/ob/v3p0/token"),
        data=urlencode(form).encode(),
        headers={"Authorization": f"Basic {basic}"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        assert answer.status == 200 and json.loads(answer.read())["access_token"]


def wallet_site(route: Route) -> None:
    """The wallet's own site: its logo, and a page for the redirect back."""
    if route.request.url.endswith("/logo.png"):
        route.fulfill(status=200, body=LOGO, content_type="image/png")
    else:
        route.fulfill(status=200, body="<title>Wallet</title>Connected", content_type="text/html")


def check_axe(page: Page, url: str, name: str) -> None:
    """No serious axe-core violation on ``url`` (in a context that lets axe's script in)."""
    page.route("https://wallet.example.net/**", wallet_site)
    page.goto(url)
    blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{name}:\n{describe(blocking)}"


def test_connect_a_wallet_then_disconnect_it(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    client = register(site)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client[0],
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPES,
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page = new_page()
    page.route("https://wallet.example.net/**", wallet_site)
    page.goto(site.url(f"/ims/ob/v3p0/authorize?{query}"))
    # Not signed in: the sign-in page, which keeps the authorize request for afterwards.
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(mailed_link(page, site, EMAIL, "sign-in link", "/me/sign-in/"))
    page.get_by_role("button", name="Sign in").click()
    if "/me/name" in page.url:
        page.get_by_label("Your name").fill("Olu")
        page.get_by_label("Name on your credentials").fill("Olu Ade")
        page.get_by_role("button", name="Confirm my name").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Example Wallet wants to connect to your backpack")
    expect(page.get_by_text("See the credentials in your backpack")).to_be_visible()
    expect(page.locator("img.consent-logo")).to_have_attribute("referrerpolicy", "no-referrer")
    assert page.locator("img.consent-logo").evaluate("img => img.naturalWidth") == 1
    shot(page, "ob-api-consent-1280")
    state = page.context.storage_state()
    check_axe(new_page(bypass_csp=True, storage_state=state), page.url, "consent")
    phone = new_page(viewport=PHONE, storage_state=state)
    phone.route("https://wallet.example.net/**", wallet_site)
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "ob-api-consent-390")

    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(lambda url: url.startswith(REDIRECT_URI))
    returned = parse_qs(urlsplit(page.url).query)
    assert returned["state"] == ["xyz"]
    exchange(site, client, returned["code"][0], verifier)

    page.goto(site.url("/me/connections"))
    expect(page.get_by_role("heading", name="Example Wallet")).to_be_visible()
    check_axe(new_page(bypass_csp=True, storage_state=state), page.url, "connections")
    shot(page, "ob-api-connections-1280")
    phone.goto(site.url("/me/connections"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "ob-api-connections-390")

    page.get_by_role("button", name="Disconnect Example Wallet").click()
    page.get_by_role("button", name="Disconnect").click()
    expect(flash(page)).to_contain_text("Example Wallet is disconnected")
    expect(page.get_by_text("No applications are connected")).to_be_visible()
