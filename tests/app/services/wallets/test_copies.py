"""Wallet copies: the same award bound to the wallet's DID, in either proof format, verifying,
audited, counted, sharing the original's status entry, and refused for a revoked credential or a
holder that is not a DID."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, WalletCopy
from app.services._core.errors import Conflict, Invalid
from app.services.awarding import revocation
from app.services.awarding.naming import unsigned_document
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.services.wallets import copies
from app.wiring import service_env
from credentials import decode_jwt
from tests.app.services.awarding.test_issuing import verify

HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
WALLET = Actor(label="wallet")


def payload(copy: WalletCopy) -> dict:
    if copy.proof_format == "jwt":
        return dict(decode_jwt(copy.document).credential)
    return json.loads(copy.document)


@pytest.mark.parametrize("proof_format", ["di", "jwt"])
def test_a_copy_is_the_same_award_bound_to_the_wallet_and_verifies(
    app, make_issuer, make_achievement, make_award, local_fetch, proof_format: str
) -> None:
    issuer = make_issuer()  # the original is Data Integrity; the copy may be either format
    credential = make_award(issuer, make_achievement(issuer), "ann@example.org", name="Ann Lee")
    original = unsigned_document(credential)
    copy = copies.issue_copy(credential, HOLDER, protocol="oid4vci", proof_format=proof_format,
                             actor=WALLET, env=service_env())  # fmt: skip
    db.session.commit()
    document = payload(copy)
    document.pop("proof", None)
    for claim in ("iss", "jti", "nbf", "sub", "exp"):
        document.pop(claim, None)
    assert document["credentialSubject"]["id"] == HOLDER
    del document["credentialSubject"]["id"]
    assert document == original  # nothing but the subject's id differs
    assert document["credentialStatus"] == original["credentialStatus"]
    report = verify(copy.document, local_fetch)
    assert report.valid, report.as_json()["checks"]
    if proof_format == "jwt":
        assert decode_jwt(copy.document).payload["sub"] == HOLDER
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.wallet_copy")
    ).one()
    assert event.subject_id == credential.id and event.detail["holder"] == HOLDER
    copies.count_delivery(credential.id, service_env())
    assert analytics.for_credential(credential.id)["wallet"] == 1


def test_revoking_the_original_revokes_the_copy(
    app, make_issuer, make_achievement, make_award, local_fetch
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer), "ann@example.org", name="Ann Lee")
    copy = copies.issue_copy(credential, HOLDER, protocol="vcapi", proof_format="di",
                             actor=WALLET, env=service_env())  # fmt: skip
    db.session.commit()
    revocation.revoke(credential, "Issued in error", actor=Actor(label="test"), env=service_env())
    db.session.commit()
    report = verify(copy.document, local_fetch)
    assert not report.valid
    assert "revoked" in json.dumps(report.as_json()["checks"]).lower()
    with pytest.raises(Conflict, match="revoked"):
        copies.issue_copy(credential, HOLDER, protocol="vcapi", proof_format="di",
                          actor=WALLET, env=service_env())  # fmt: skip


@pytest.mark.parametrize(
    "holder",
    ["", "ann@example.org", "did:", "did:key:", "did:web:example.org#key-1",
     "did:web:example.org/path", "DID:key:z6Mk", "did:key:abc:", "did:key:" + "z" * 2000],
)  # fmt: skip
def test_a_holder_that_is_not_a_did_is_refused(
    app, make_issuer, make_achievement, make_award, holder: str
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer), "ann@example.org")
    with pytest.raises(Invalid):
        copies.issue_copy(credential, holder, protocol="vcapi", proof_format="di",
                          actor=WALLET, env=service_env())  # fmt: skip
    assert db.session.scalars(select(WalletCopy)).all() == []


def test_dids_of_the_methods_wallets_use_are_accepted() -> None:
    for did in (HOLDER, "did:web:wallet.example.org", "did:web:example.org%3A8443:users:ann",
                "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjEyMyJ9"):  # fmt: skip
        assert copies.is_did(did), did
