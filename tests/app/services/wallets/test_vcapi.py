"""The VC-API exchange for the Learner Credential Wallet: the deep links, the DID Authentication
request, the bound copy, single use, 15 minutes, and every refusal changing nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, CredentialActivity, VcApiExchange, WalletCopy
from app.services._core.errors import Conflict, Gone, Invalid, NotFound
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.services.wallets import vcapi
from app.wiring import service_env
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.services.awarding.test_issuing import verify
from tests.app.services.wallets.wallet_helpers import Wallet, wallet_request

OWNER = Actor(label="educator:1")
ORIGIN = "https://badges.example.org"


@pytest.fixture
def credential(app, make_issuer, make_achievement, make_award) -> Any:
    issuer = make_issuer()
    return make_award(issuer, make_achievement(issuer), "ann@example.org", name="Ann Lee")


def token_of(opened: vcapi.OpenedExchange) -> str:
    return opened.url.rsplit("/", 1)[1]


def stored() -> tuple[int, int, int]:
    """What a delivery stores: copies, their audit events, analytics rows."""
    copies = db.session.scalar(select(func.count()).select_from(WalletCopy))
    events = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "credential.wallet_copy")
    )
    counted = db.session.scalar(select(func.count()).select_from(CredentialActivity))
    return copies or 0, events or 0, counted or 0


def begin(credential: Any, **open_options: Any) -> tuple[str, dict[str, Any]]:
    opened = vcapi.open_exchange(credential, actor=OWNER, env=service_env(), **open_options)
    token = token_of(opened)
    return token, vcapi.step(token, {}, fetch=None, env=service_env())


def test_the_deep_links_hold_the_request_lcw_reads(credential) -> None:
    opened = vcapi.open_exchange(credential, actor=OWNER, env=service_env())
    assert opened.universal_link.startswith("https://lcw.app/request?request=")
    assert opened.scheme_link.startswith("dccrequest://request?request=")
    for link in (opened.universal_link, opened.scheme_link):
        # Every reserved character is encoded: LCW splits the link at "?" and "&".
        assert "{" not in link and '"' not in link and link.count("?") == 1
        request = wallet_request(link)
        assert request == {"credentialRequestOrigin": ORIGIN, "protocols": {"vcapi": opened.url}}
    assert opened.url.startswith(ORIGIN + "/wallets/vcapi/exchanges/")
    row = db.session.get(VcApiExchange, opened.exchange.id)
    assert row is not None and row.state == "pending" and row.challenge is None
    assert token_of(opened) not in (row.token_hash, row.id)  # only the hash is stored
    assert row.expires_at - row.created_at == timedelta(minutes=15)


def test_the_whole_exchange_delivers_a_bound_copy_once(credential, local_fetch) -> None:
    wallet = Wallet()
    token, request = begin(credential)
    vpr = request["verifiablePresentationRequest"]
    assert vpr["query"][0]["type"] == "DIDAuthentication"
    assert vpr["domain"] == ORIGIN and len(vpr["challenge"]) >= 32
    assert vpr["interact"]["service"][0]["serviceEndpoint"].endswith("/" + token)
    answer = vcapi.step(token, wallet.present(request, service_env().loader), fetch=None,
                        env=service_env(), ip="203.0.113.9")  # fmt: skip
    delivered = answer["verifiablePresentation"]["verifiableCredential"]
    assert isinstance(delivered, list) and len(delivered) == 1
    copy = delivered[0]
    assert copy["id"] == json.loads(credential.document)["id"]
    assert copy["credentialSubject"]["id"] == wallet.did
    assert copy["credentialStatus"] == json.loads(credential.document)["credentialStatus"]
    assert verify(json.dumps(copy), local_fetch).valid
    row = db.session.scalars(select(VcApiExchange)).one()
    kept = db.session.scalars(select(WalletCopy)).one()
    assert (row.state, row.wallet_copy_id) == ("completed", kept.id)
    assert (kept.protocol, kept.holder_did) == ("vcapi", wallet.did)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_copy")
    ).one()
    assert (event.actor, event.ip_address) == (OWNER.label, "203.0.113.9")
    assert analytics.for_credential(credential.id)["wallet"] == 1
    # Single use: the same presentation again, or a new start, is refused; nothing more stored.
    before = stored()
    for body in (wallet.present(request, service_env().loader), {}):
        with pytest.raises(Gone, match="used"):
            vcapi.step(token, body, fetch=None, env=service_env())
    assert stored() == before


def test_an_exchange_expires_after_15_minutes(app, credential) -> None:
    opened = vcapi.open_exchange(credential, actor=OWNER, env=service_env())
    token = token_of(opened)
    almost = service_env().at(opened.expires_at - timedelta(seconds=1))
    request = vcapi.step(token, {}, fetch=None, env=almost)
    presentation = Wallet().present(request, almost.loader)
    with pytest.raises(Gone, match="expired"):
        vcapi.step(token, presentation, fetch=None, env=almost.at(opened.expires_at))
    with pytest.raises(Gone, match="expired"):
        vcapi.step(token, {}, fetch=None, env=almost.at(opened.expires_at + timedelta(hours=1)))
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"challenge": "an-older-challenge"}, "challenge"),
        ({"domain": "https://evil.example"}, "domain"),
        ({"proofPurpose": "assertionMethod"}, "authentication"),
        ({"holder": "https://wallet.example.org/ann"}, "did:key or did:web"),
        ({"signer": Wallet(9)}, "not of the holder"),
    ],
)
def test_a_presentation_that_does_not_prove_the_wallet_is_refused_and_nothing_stored(
    credential, changes: dict[str, Any], message: str
) -> None:
    token, request = begin(credential)
    with pytest.raises(Invalid, match=message):
        vcapi.step(token, Wallet().present(request, service_env().loader, **changes),
                   fetch=None, env=service_env())  # fmt: skip
    assert stored() == (0, 0, 0)
    row = db.session.scalars(select(VcApiExchange)).one()
    assert row.state == "requested" and row.wallet_copy_id is None
    # The wallet may try again: a good presentation still completes the exchange.
    answer = vcapi.step(token, Wallet().present(request, service_env().loader), fetch=None,
                        env=service_env())  # fmt: skip
    assert (
        answer["verifiablePresentation"]["verifiableCredential"][0]["credentialSubject"]["id"]
        == Wallet().did
    )


def test_a_new_start_replaces_the_challenge(credential) -> None:
    token, first = begin(credential)
    second = vcapi.step(token, {}, fetch=None, env=service_env())
    assert (
        first["verifiablePresentationRequest"]["challenge"]
        != second["verifiablePresentationRequest"]["challenge"]
    )
    with pytest.raises(Invalid, match="challenge"):
        vcapi.step(
            token, Wallet().present(first, service_env().loader), fetch=None, env=service_env()
        )
    vcapi.step(token, Wallet().present(second, service_env().loader), fetch=None, env=service_env())


@pytest.mark.parametrize(
    "body",
    [[], "text", 3, None, {"hello": "wallet"}, {"verifiablePresentation": "not an object"},
     {"verifiablePresentation": {"type": ["VerifiablePresentation"], "holder": "did:key:z6Mk"}}],
)  # fmt: skip
def test_bodies_that_are_neither_step_are_refused(credential, body: Any) -> None:
    token, _ = begin(credential)
    with pytest.raises(Invalid):
        vcapi.step(token, body, fetch=None, env=service_env())
    assert stored() == (0, 0, 0)


def test_a_presentation_before_the_request_unknown_tokens_and_revoked_credentials(
    credential,
) -> None:
    opened = vcapi.open_exchange(credential, actor=OWNER, env=service_env())
    fake_request = {"verifiablePresentationRequest": {"challenge": "x", "domain": ORIGIN}}
    with pytest.raises(Conflict, match=r"POST \{\}"):
        vcapi.step(token_of(opened), Wallet().present(fake_request, service_env().loader),
                   fetch=None, env=service_env())  # fmt: skip
    for token in ("nope", "A" * 43, token_of(opened)[:-1] + "?"):
        with pytest.raises(NotFound):
            vcapi.step(token, {}, fetch=None, env=service_env())
    request = vcapi.step(token_of(opened), {}, fetch=None, env=service_env())
    revocation.revoke(credential, "Issued in error", actor=Actor(label="test"), env=service_env())
    db.session.commit()
    with pytest.raises(Conflict, match="revoked"):
        vcapi.step(token_of(opened), Wallet().present(request, service_env().loader),
                   fetch=None, env=service_env())  # fmt: skip
    with pytest.raises(Conflict, match="revoked"):
        vcapi.step(token_of(opened), {}, fetch=None, env=service_env())
    with pytest.raises(Conflict, match="revoked"):
        vcapi.open_exchange(credential, actor=OWNER, env=service_env())
    assert stored() == (0, 0, 0)


def test_a_did_web_wallet_is_resolved_through_the_fetcher(credential) -> None:
    wallet = Wallet(5)
    did = "did:web:wallet.example.org:ann"
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": wallet.did.removeprefix("did:key:"),
            }
        ],
        "authentication": [f"{did}#key-1"],
    }
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return json.dumps(document).encode()

    token, request = begin(credential)
    body = wallet.present(request, service_env().loader, holder=did, method=f"{did}#key-1")
    answer = vcapi.step(token, body, fetch=fetch, env=service_env())
    assert (
        answer["verifiablePresentation"]["verifiableCredential"][0]["credentialSubject"]["id"]
        == did
    )
    assert asked == ["https://wallet.example.org/ann/did.json"]


def test_revoking_the_original_revokes_the_delivered_copy(credential, local_fetch) -> None:
    token, request = begin(credential)
    answer = vcapi.step(token, Wallet().present(request, service_env().loader), fetch=None,
                        env=service_env())  # fmt: skip
    copy = answer["verifiablePresentation"]["verifiableCredential"][0]
    assert verify(json.dumps(copy), local_fetch).valid
    revocation.revoke(credential, "Issued in error", actor=Actor(label="test"), env=service_env())
    db.session.commit()
    report = verify(json.dumps(copy), local_fetch)
    assert not report.valid and "revoked" in json.dumps(report.as_json()["checks"]).lower()


def test_exchanges_that_expired_unused_are_pruned_and_completed_ones_kept(credential) -> None:
    used, request = begin(credential)
    vcapi.step(used, Wallet().present(request, service_env().loader), fetch=None, env=service_env())
    begin(credential)  # requested, never answered
    vcapi.open_exchange(credential, actor=OWNER, env=service_env())  # never scanned
    now = service_env().now
    assert vcapi.prune(now + timedelta(minutes=14)) == 0
    assert vcapi.prune(now + timedelta(minutes=15)) == 2
    db.session.commit()
    assert [row.state for row in db.session.scalars(select(VcApiExchange))] == ["completed"]


def test_the_issuers_audit_log_and_overview_show_the_delivery(
    client, make_staff, make_issuer, make_achievement, make_award
) -> None:
    owner = make_staff("owner@example.org")
    issuer = make_issuer("District 9", owner=owner)
    credential = make_award(issuer, make_achievement(issuer), "ann@example.org")
    token, request = begin(credential)
    vcapi.step(
        token, Wallet().present(request, service_env().loader), fetch=None, env=service_env()
    )
    sign_in_directly(client, "staff", owner.id)
    audit_page = client.get(f"/workspace/{issuer.slug}/audit", base_url=BASE_URL)
    shown = audit_page.get_data(as_text=True)
    assert "credential.wallet_copy" in shown and Wallet().did in shown
    path = f"/workspace/{issuer.slug}/credentials/{credential.id}"
    page = client.get(path, base_url=BASE_URL).get_data(as_text=True)
    assert re.search(
        r'<span class="stat-value">1</span> <span class="stat-label">added to a wallet', page
    )


def test_a_vc_jwt_issuers_credential_reaches_lcw_as_data_integrity(
    make_issuer, make_achievement, make_award, local_fetch
) -> None:
    # LCW reads Data Integrity credentials; the issuer's Ed25519 key signs the copy.
    issuer = make_issuer("JWT District", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer), "ann@example.org")
    token, request = begin(credential)
    answer = vcapi.step(token, Wallet().present(request, service_env().loader), fetch=None,
                        env=service_env())  # fmt: skip
    copy = answer["verifiablePresentation"]["verifiableCredential"][0]
    assert copy["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert verify(json.dumps(copy), local_fetch).valid
