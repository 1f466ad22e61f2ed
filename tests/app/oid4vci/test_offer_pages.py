"""The owner's offer page (``/me/credentials/<id>/wallet/openid`` and the same under the manage
link): a form, then the QR code of the ``openid-credential-offer://`` link, the link as a button
and how long it works, with the transaction code emailed when asked for. Only the holder (signed
in, or with the manage link) may make an offer; anyone else gets a 404 and nothing is made."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, OpenIdOffer
from app.qr import qr_png
from app.services.awarding import revocation
from app.services.delivery import visibility
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.mail_helpers import latest_delivered
from tests.app.oid4vci.wallet import Wallet
from tests.app.portfolio_helpers import make_educator, sign_in_educator
from tests.app.public.conftest import assert_csp_clean, page

EMAIL = "holder@h.example.org"


@pytest.fixture
def found(app, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    issuer = make_issuer("Issuer H")
    credential = make_award(
        issuer, make_achievement(issuer, "Formative Assessment"), EMAIL, name="Hana Holder"
    )
    return {"credential": credential, "holder": make_educator(EMAIL, "Hana Holder"),
            "stranger": make_educator("stranger@h.example.org", "Sam Stranger")}  # fmt: skip


def offers() -> int:
    return db.session.scalar(select(func.count()).select_from(OpenIdOffer)) or 0


def own_path(found: dict[str, Any]) -> str:
    return f"/me/credentials/{found['credential'].id}/wallet/openid"


def manage_path(found: dict[str, Any]) -> str:
    token = visibility.issue_manage_link(found["credential"], service_env()).rsplit("/", 1)[1]
    db.session.commit()
    return f"/credentials/{found['credential'].id}/manage/{token}/wallet/openid"


def shown_offer(response: Any) -> tuple[str, bytes]:
    """The wallet link and the QR code's PNG on an offer page."""
    html = response.get_data(as_text=True)
    link = re.search(r'href="(openid-credential-offer://\?credential_offer_uri=[^"]+)"', html)
    qr = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert link and qr, html[:2000]
    return link.group(1).replace("&amp;", "&"), base64.b64decode(qr.group(1))


def test_the_holder_makes_an_offer_and_a_wallet_takes_it_up(client, web: Web, found) -> None:
    sign_in_educator(client, found["holder"])
    form = web.get(own_path(found))
    shown = page(form)
    assert "Email me a code the wallet will ask for" in shown.text
    assert shown.unlabelled_inputs() == []
    assert offers() == 0  # looking makes nothing
    response = web.submit(own_path(found))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    assert_csp_clean(html)
    assert "It works once, for 10 minutes" in html
    link, qr = shown_offer(response)
    assert qr == qr_png(link)  # the QR code holds exactly the link
    assert offers() == 1
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_offer")
    ).one()
    assert event.subject_id == found["credential"].id
    assert event.actor == f"educator:{found['holder'].id}"
    wallet = Wallet(client)
    token = wallet.access_token(link)
    assert wallet.credential(token).status_code == 200


def test_the_code_by_email(client, web: Web, found) -> None:
    sign_in_educator(client, found["holder"])
    response = web.submit(own_path(found), data={"send_code": "1"})
    assert f"we have emailed it to {EMAIL}" in response.get_data(as_text=True)
    link, _ = shown_offer(response)
    tx_code = re.search(r"\b(\d{6})\b", latest_delivered(EMAIL, "wallet_code")).group(1)
    wallet = Wallet(client)
    assert wallet.access_token(link, tx_code)
    # "Make a new QR code" keeps the choice.
    assert 'name="send_code" value="1"' in response.get_data(as_text=True)


def test_through_the_manage_link(client, web: Web, found) -> None:
    path = manage_path(found)
    assert "Show the QR code" in page(web.get(path)).text
    response = web.submit(path)
    link, _ = shown_offer(response)
    assert Wallet(client).access_token(link)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_offer")
    ).one()
    assert event.actor == visibility.EARNER
    # A wrong or revoked link makes nothing.
    wrong = path.replace("/manage/", "/manage/x")
    assert web.get(wrong).status_code == 404
    assert (
        client.post(wrong, data={"csrf_token": web.csrf_token(path)}, base_url=BASE_URL).status_code
        == 404
    )
    csrf = web.csrf_token(path)
    visibility.revoke_manage_links(
        found["credential"], actor=Actor(label="test"), env=service_env()
    )
    assert web.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": csrf}, base_url=BASE_URL).status_code == 410
    assert offers() == 1


def test_a_revoked_credential_is_not_offered(client, web: Web, found) -> None:
    revocation.revoke(
        found["credential"], "Issued in error", actor=Actor(label="test"), env=service_env()
    )
    db.session.commit()
    sign_in_educator(client, found["holder"])
    response = web.submit(own_path(found))
    assert response.status_code == 409
    assert "revoked" in response.get_data(as_text=True)
    assert offers() == 0


def test_only_the_holder_may_make_an_offer(client, web: Web, found) -> None:
    # Anonymous: to sign in; nothing made.
    response = client.get(own_path(found), base_url=BASE_URL)
    assert response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]
    # Another educator: 404, GET and POST.
    sign_in_educator(client, found["stranger"])
    token = web.csrf_token("/me/")
    assert web.get(own_path(found)).status_code == 404
    assert (
        client.post(own_path(found), data={"csrf_token": token}, base_url=BASE_URL).status_code
        == 404
    )
    # Without the CSRF token, even the holder's post is refused.
    sign_in_educator(client, found["holder"])
    assert client.post(own_path(found), base_url=BASE_URL).status_code == 400
    assert offers() == 0
