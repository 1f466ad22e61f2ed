""" "Add to a wallet" at the edges: the award email's link (through the manage link, no account
needed), the backpack's page, the claim step, and the exchange endpoint a wallet posts to (JSON,
no CSRF, 4xx JSON for anything wrong, never cached)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, IssuedCredential, VcApiExchange, WalletCopy
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.educator.educator_helpers import make_educator, sign_in_as
from tests.app.mail_helpers import delivered, parts_of
from tests.app.services.wallets.wallet_helpers import Wallet, wallet_request

ANN = "ann.lee@school.example.org"
LCW_LINK = re.compile(r'value="(https://lcw\.app/request\?request=[^"]+)"')
SCHEME_LINK = re.compile(r'href="(dccrequest://request\?request=[^"]+)"')


@pytest.fixture
def credential(
    app: Flask, make_issuer: Any, make_achievement: Any, make_award: Any
) -> IssuedCredential:
    issuer = make_issuer()
    found: IssuedCredential = make_award(issuer, make_achievement(issuer, "Formative Assessment"), ANN,
                                         name="Ann Lee")  # fmt: skip
    return found


def links_on(page: str) -> tuple[str, str]:
    universal, scheme = LCW_LINK.search(page), SCHEME_LINK.search(page)
    assert universal and scheme, "the page shows no wallet links"
    return html.unescape(universal.group(1)), html.unescape(scheme.group(1))


def run_exchange(web: Web, link: str, wallet: Wallet | None = None) -> dict[str, Any]:
    """What LCW does with a link, over HTTP: POST {}, then the signed presentation."""
    wallet = wallet or Wallet()
    url = wallet_request(link)["protocols"]["vcapi"]
    path = url.removeprefix(BASE_URL)
    first = web.client.post(path, json={}, base_url=BASE_URL)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    request = first.get_json()
    served = request["verifiablePresentationRequest"]["interact"]["service"][0]["serviceEndpoint"]
    assert served == url
    second = web.client.post(path, json=wallet.present(request, service_env().loader),
                             base_url=BASE_URL)  # fmt: skip
    assert second.status_code == 200, second.get_data(as_text=True)
    answer: dict[str, Any] = second.get_json()
    return answer


def wallet_rows() -> tuple[int, int]:
    exchanges = db.session.scalar(select(func.count()).select_from(VcApiExchange)) or 0
    copies = db.session.scalar(select(func.count()).select_from(WalletCopy)) or 0
    return exchanges, copies


def test_the_award_email_leads_to_the_wallet_page_without_an_account(
    web: Web, credential: IssuedCredential
) -> None:
    text, body = parts_of(delivered(to=ANN, kind="award")[-1])
    pattern = (
        re.escape(f"{BASE_URL}/credentials/{credential.id}/manage/") + r"[A-Za-z0-9_-]{43}/wallet"
    )
    found_text, found_html = re.search(pattern, text), re.search(pattern, body)
    assert found_text and found_html and found_text.group(0) == found_html.group(0)
    assert "Add it to a wallet app" in body and "Learner Credential Wallet" in text
    path = found_text.group(0).removeprefix(BASE_URL)
    page = web.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    shown = page.get_data(as_text=True)
    assert "Show the QR code" in shown and "lcw.app/request" not in shown
    assert f'action="{path}/openid"' in shown  # the OpenID4VCI offer, through the same link
    assert wallet_rows() == (0, 0)  # a GET opens nothing
    opened = web.submit(path).get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in opened and "Works once, for 15 minutes" in opened
    universal, scheme = links_on(opened)
    assert wallet_request(universal) == wallet_request(scheme)
    answer = run_exchange(web, universal)
    copy = answer["verifiablePresentation"]["verifiableCredential"][0]
    assert copy["credentialSubject"]["id"] == Wallet().did
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_copy")
    ).one()
    assert event.actor == "earner" and event.subject_id == credential.id
    assert analytics.for_credential(credential.id)["wallet"] == 1


def test_the_backpack_offers_a_fresh_exchange_on_each_request(
    web: Web, credential: IssuedCredential
) -> None:
    educator = make_educator(ANN)
    sign_in_as(web, educator)
    page = web.get(f"/me/credentials/{credential.id}").get_data(as_text=True)
    wallet_page = f"/me/credentials/{credential.id}/wallet"
    assert f'href="{wallet_page}"' in page and "Add to a wallet" in page
    response = web.get(wallet_page)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    # Both kinds of wallet: the OpenID4VCI offer's form posts to its own page.
    assert f'action="/me/credentials/{credential.id}/wallet/openid"' in response.get_data(
        as_text=True
    )
    first = links_on(web.submit(wallet_page).get_data(as_text=True))
    second = links_on(web.submit(wallet_page).get_data(as_text=True))
    assert first != second and wallet_rows() == (2, 0)
    answer = run_exchange(web, second[1], Wallet(3))
    assert (
        answer["verifiablePresentation"]["verifiableCredential"][0]["credentialSubject"]["id"]
        == Wallet(3).did
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_copy")
    ).one()
    assert event.actor == f"educator:{educator.id}"
    # The first link still works (each exchange is its own), once.
    run_exchange(web, first[0])
    assert wallet_rows() == (2, 2)


def test_the_claim_step_can_go_on_to_the_wallet(web: Web, credential: IssuedCredential) -> None:
    sign_in_as(web, make_educator(ANN))
    claim_page = f"/me/credentials/{credential.id}/claim"
    form = web.get(claim_page).get_data(as_text=True)
    assert 'name="then" value="wallet"' in form
    done = web.submit(claim_page, data={"visibility": "public", "then": "wallet"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/me/credentials/{credential.id}/wallet")
    claimed = web.get(claim_page).get_data(as_text=True)
    assert f"/me/credentials/{credential.id}/wallet" in claimed


def test_a_revoked_credential_offers_no_wallet(web: Web, credential: IssuedCredential) -> None:
    sign_in_as(web, make_educator(ANN))
    wallet_page = f"/me/credentials/{credential.id}/wallet"
    token = web.csrf_token(wallet_page)
    revocation.revoke(credential, "Issued in error", actor=Actor(label="test"), env=service_env())
    db.session.commit()
    assert wallet_page not in web.get(f"/me/credentials/{credential.id}").get_data(as_text=True)
    page = web.get(wallet_page).get_data(as_text=True)
    assert "cannot be added to a wallet" in page and "Show the QR code" not in page
    refused = web.client.post(wallet_page, data={"csrf_token": token}, base_url=BASE_URL)
    assert refused.status_code == 409 and "revoked" in refused.get_data(as_text=True)
    assert wallet_rows() == (0, 0)


def test_the_exchange_endpoint_answers_json_refusals_and_changes_nothing(
    web: Web, credential: IssuedCredential
) -> None:
    sign_in_as(web, make_educator(ANN))
    universal, _ = links_on(
        web.submit(f"/me/credentials/{credential.id}/wallet").get_data(as_text=True)
    )
    path = wallet_request(universal)["protocols"]["vcapi"].removeprefix(BASE_URL)
    post = web.client.post

    def refused(response: Any, status: int, error: str) -> str:
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert body["error"] == error and body["message"]
        return str(body["message"])

    refused(
        post(path, data="{not json", content_type="application/json", base_url=BASE_URL),
        400,
        "invalid",
    )
    refused(post(path, data="", content_type="application/json", base_url=BASE_URL), 400, "invalid")
    refused(post(path, json=[1, 2], base_url=BASE_URL), 400, "invalid")
    refused(post(path, json={"hello": 1}, base_url=BASE_URL), 400, "invalid")
    refused(post(path, data=json.dumps({"pad": "x" * 70_000}), content_type="application/json",
                 base_url=BASE_URL), 413, "too_large")  # fmt: skip
    assert "POST {}" in refused(
        post(path, json={"verifiablePresentation": {}}, base_url=BASE_URL), 409, "conflict"
    )
    refused(
        post("/wallets/vcapi/exchanges/" + "A" * 43, json={}, base_url=BASE_URL), 404, "not_found"
    )
    assert web.client.get(path, base_url=BASE_URL).status_code == 405
    request = post(path, json={}, base_url=BASE_URL).get_json()
    wrong = Wallet().present(request, service_env().loader, domain="https://evil.example")
    assert "domain" in refused(post(path, json=wrong, base_url=BASE_URL), 400, "invalid")
    assert wallet_rows() == (1, 0)
    # No CSRF token, no session needed: a native app posts it (this client has a session cookie;
    # a fresh one has none).
    fresh = web.client.application.test_client()
    done = fresh.post(path, json=Wallet().present(request, service_env().loader), base_url=BASE_URL)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert "used" in refused(post(path, json={}, base_url=BASE_URL), 410, "gone")
    assert wallet_rows() == (1, 1)
