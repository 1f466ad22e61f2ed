"""Issue 13, the Learner Credential Wallet end to end against the live test server: the owner
opens "Add to a wallet" in the backpack (1280 and 390 px, screenshots), the LCW test client
(tests/interop/node/lcw-client.mjs, written from LCW's own code with LCW's libraries) takes each
of the page's two links, POSTs {}, signs the DID Authentication presentation with a fresh did:key
and receives the credential bound to that DID; the delivered copy verifies in vc.js and in the
DCC's verifier-core, and once the original is revoked both report it revoked.

Nothing leaves the machine: the client posts only to the live server's loopback origin; vc.js is
handed the issuer's DID document and status list as the server serves them; verifier-core's
https requests go to a loopback DocumentServer and the status list (an http URL of the live
server) to the server itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from credentials import did_web_document_url
from tests.browser.conftest import DESKTOP, Site, cairn_commands
from tests.browser.test_accessibility import BLOCKING, axe, describe
from tests.browser.test_claim import accessible, award_without_a_name, both_widths
from tests.browser.test_educator_journey import educator_sign_in, mailed_link
from tests.interop.conftest import (
    NODE_DIR,
    DocumentServer,
    VcJs,
    VerifierCore,
    bundled_context_files,
)

Shot = Callable[[Page, str], Path]
#: Holders of their own (not the seeded ann@example.org): other tests of the shared site open
#: Ann's backpack, where a credential revoked here would change what they find.
HOLDER = "lcw.holder@example.org"
AXE_HOLDER = "lcw.axe@example.org"
PHONE = {"width": 390, "height": 844}
REGISTRY_URL = "https://registry.cairn.test/registry.json"


def node() -> str:
    found = shutil.which("node")
    if found is None or not (NODE_DIR / "node_modules" / "@digitalcredentials" / "vc").is_dir():
        pytest.skip("LCW client: node or tests/interop/node/node_modules is missing (make test)")
    return found


def lcw(link: str) -> dict[str, Any]:
    """What LCW does with ``link``: the client's JSON answer."""
    request = {"op": "exchange", "link": link, "contexts": bundled_context_files()}
    completed = subprocess.run(
        [node(), str(NODE_DIR / "lcw-client.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=120,
        check=False,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    assert completed.returncode == 0, answer.get("error") or completed.stderr[-2000:]
    return answer


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the loopback test server)
        return json.loads(response.read())


def post_json(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 (the loopback test server)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def award_to(site: Site, email: str) -> str:
    (printed,) = cairn_commands(
        site,
        ["award", "--issuer", site.issuer_slug, "--achievement", site.achievement_id,
         "--recipient", email, "--name", "Lee Holder", "--json", "--no-email"],
    )  # fmt: skip
    return str(json.loads(printed)["id"]).rsplit("/", 1)[-1]


def open_wallet_page(page: Page, site: Site, credential_id: str) -> None:
    page.goto(site.url(f"/me/credentials/{credential_id}"))
    page.get_by_role("link", name="Add to a wallet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("to a wallet")


def lcw_section(page: Page) -> Locator:
    """The page's Learner Credential Wallet part (the page also offers OpenID wallets)."""
    return page.locator(
        "section", has=page.get_by_role("heading", name="Learner Credential Wallet")
    )


def show_qr(page: Page) -> tuple[str, str]:
    """Ask for a QR code; the page's two links (universal, scheme)."""
    lcw_section(page).get_by_role("button", name="Show the QR code and link").click()
    expect(page.get_by_text("Works once, for 15 minutes")).to_be_visible()
    page.wait_for_load_state("load")
    qr = page.get_by_role("img", name="QR code to scan with Learner Credential Wallet")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    universal = page.locator("#wallet-link").input_value()
    scheme = page.get_by_role("link", name="Open in Learner Credential Wallet").get_attribute(
        "href"
    )
    assert universal.startswith("https://lcw.app/request?request=")
    assert scheme is not None and scheme.startswith("dccrequest://request?request=")
    return universal, scheme


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling, the QR code and buttons inside."""
    page.wait_for_load_state("load")  # its stylesheet applied (a click may not wait for it)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for locator in (page.locator(".wallet-qr img"), page.locator(".wallet-steps .button").first):
        box = locator.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_the_wallet_page_has_no_serious_accessibility_violations(
    new_page: Callable[..., Page], site: Site
) -> None:
    credential_id = award_to(site, AXE_HOLDER)
    signed_in = new_page()
    educator_sign_in(signed_in, site, AXE_HOLDER)
    # axe is injected as a script, which the page's CSP refuses: this context bypasses it.
    page = new_page(bypass_csp=True, storage_state=signed_in.context.storage_state())
    open_wallet_page(page, site, credential_id)
    page.wait_for_load_state("load")
    blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)
    show_qr(page)
    blocking = [v for v in axe(page) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)


def test_lcw_receives_a_bound_copy_that_verifies_and_follows_revocation(
    new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    node()
    credential_id = award_to(site, HOLDER)
    page = new_page()
    educator_sign_in(page, site, HOLDER)
    open_wallet_page(page, site, credential_id)
    page.wait_for_load_state("load")
    shot(page, "wallet-lcw-1280-start")
    universal, _ = show_qr(page)
    fits(page, 1280)
    shot(page, "wallet-lcw-1280")

    phone = new_page(viewport=PHONE, storage_state=page.context.storage_state())
    open_wallet_page(phone, site, credential_id)
    phone.wait_for_load_state("load")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "wallet-lcw-390-start")
    _, scheme = show_qr(phone)
    fits(phone, PHONE["width"])
    shot(phone, "wallet-lcw-390")

    # LCW with each form of the link: two exchanges, two wallets, two bound copies.
    delivered = []
    for link in (universal, scheme):
        answer = lcw(link)
        statuses = [step["status"] for step in answer["steps"]]
        assert statuses == [200, 200], answer["steps"]
        vpr = answer["steps"][0]["answer"]["verifiablePresentationRequest"]
        assert vpr["query"][0]["type"] == "DIDAuthentication"
        assert vpr["domain"] == site.base_url
        sent = answer["steps"][1]["sent"]["verifiablePresentation"]["proof"]
        assert (sent["type"], sent["proofPurpose"]) == ("Ed25519Signature2020", "authentication")
        copy = answer["credential"]
        assert copy is not None and copy["credentialSubject"]["id"] == answer["holder"]
        assert copy["id"].endswith(credential_id)
        delivered.append(copy)
        # Single use: the exchange answers 410 from now on.
        status, refused = post_json(answer["request"]["protocols"]["vcapi"], {})
        assert status == 410 and refused["error"] == "gone"
    assert delivered[0]["credentialSubject"]["id"] != delivered[1]["credentialSubject"]["id"]

    copy = delivered[0]
    issuer_did = copy["issuer"]["id"]
    entries = copy["credentialStatus"]
    entries = entries if isinstance(entries, list) else [entries]

    def served() -> dict[str, Any]:
        """What a verifier needs, as the live server serves it now."""
        http_did_url = did_web_document_url(issuer_did).replace("https://", "http://", 1)
        documents = {issuer_did: fetch_json(http_did_url)}
        for entry in entries:
            documents[entry["statusListCredential"]] = fetch_json(entry["statusListCredential"])
        return documents

    vcjs = VcJs(node())
    verifier_core = VerifierCore(node())
    server = DocumentServer()
    try:
        documents = served()
        server.put(did_web_document_url(issuer_did), documents[issuer_did])
        server.put(REGISTRY_URL, {"registry": {issuer_did: {"name": site.issuer_name}}})
        registries = [{"name": "Cairn test registry", "type": "dcc-legacy", "url": REGISTRY_URL}]

        verified, error, status = vcjs.verify_with_status(copy, documents)
        assert verified, error
        assert status and not any(s["set"] for s in status), status
        summary = verifier_core.verify(copy, server, registries, direct=site.base_url)["summary"]
        assert summary["errors"] == [] and summary["valid_signature"] == {"valid": True}, summary
        assert summary["revocation_status"] == {"valid": True}, summary

        cairn_commands(site, ["revoke", credential_id, "--reason", "Wallet test",
                              "--public-reason", "issued_in_error"])  # fmt: skip
        for each in delivered:
            verified, error, status = vcjs.verify_with_status(each, served())
            revoked = [s for s in status if s["purpose"] == "revocation"]
            assert revoked == [{"purpose": "revocation", "set": True}], status
            summary = verifier_core.verify(each, server, registries, direct=site.base_url)[
                "summary"
            ]
            assert summary["valid_signature"] == {"valid": True}, summary
            assert summary["revocation_status"] == {"valid": False}, summary
    finally:
        server.close()

    # The owner's page no longer offers it.
    page.goto(site.url(f"/me/credentials/{credential_id}/wallet"))
    expect(page.get_by_text("cannot be added to a wallet")).to_be_visible()
    expect(page.get_by_role("button", name="Show the QR code")).to_have_count(0)
    expect(lcw_section(page)).to_have_count(0)


def test_the_award_email_manage_page_and_claim_step_lead_to_the_wallet(
    browser: Browser, new_page: Callable[..., Page], site: Site, shot: Shot
) -> None:
    """A recipient without an account: the award email's wallet link (through the manage link),
    the manage page's "Add to a wallet", and the claim step's "Claim it and add it to a wallet";
    each screen at both widths, without serious axe violations."""
    email = "wren.walker@school.example.org"
    credential_id = award_without_a_name(site, email)
    page = new_page(viewport=DESKTOP)
    manage = mailed_link(
        page, site, email, "You have earned", f"/credentials/{credential_id}/manage/"
    )
    mail = page.locator("pre").inner_text()
    assert manage + "/wallet" in mail and "Add it to a wallet app" in mail

    page.goto(manage)
    section = page.locator("section", has=page.get_by_role("heading", name="Add to a wallet"))
    expect(section).to_be_visible()
    section.scroll_into_view_if_needed()
    both_widths(page, shot, "wallet-manage-page")
    section.get_by_role("link", name="Add to a wallet").click()
    expect(page).to_have_url(manage + "/wallet")
    expect(page.get_by_role("link", name="← Manage your credential")).to_be_visible()
    show_qr(page)
    both_widths(page, shot, "wallet-via-manage-link")
    accessible(browser, page, manage + "/wallet")

    # The claim link of the same email: sign in, then claim straight on to the wallet.
    claim = mailed_link(page, site, email, "You have earned", f"/me/claim/{credential_id}/")
    page.goto(claim)
    page.get_by_role("button", name="Sign in and claim").click()
    expect(page.get_by_role("button", name="Claim it and add it to a wallet")).to_be_visible()
    both_widths(page, shot, "wallet-claim-step")
    accessible(browser, page)
    page.get_by_label("Your name").fill("Wren")
    page.get_by_label("Name on your credentials").fill("Wren Walker")
    page.get_by_role("button", name="Claim it and add it to a wallet").click()
    expect(page).to_have_url(site.url(f"/me/credentials/{credential_id}/wallet"))
    expect(page.locator(".flash").first).to_contain_text("It is in your backpack")
    universal, _ = show_qr(page)
    # The wallet gets the claimed credential, with the name just confirmed.
    answer = lcw(universal)
    assert answer["credential"]["credentialSubject"]["id"] == answer["holder"]
    assert "Wren Walker" in json.dumps(answer["credential"])

    page.goto(site.url(f"/me/credentials/{credential_id}"))
    expect(
        page.locator(".credential-actions").get_by_role("link", name="Add to a wallet")
    ).to_be_visible()
    both_widths(page, shot, "wallet-credential-page")
