"""An independent OpenID4VCI wallet takes up Cairn's credential offers: the OpenWallet
Foundation's ``@openid4vc/openid4vci`` (its ``Openid4vciClient``, the library behind the Credo
and Animo wallets) runs the whole pre-authorized code flow through ``node/oid4vci_wallet.mjs``
against this app served live on a loopback port: it resolves the offer, reads the issuer and
authorization server metadata (as OpenID4VCI 1.0), trades the code (and the emailed transaction
code) for a token, asks for nonces and signs key proofs with a fresh did:key (P-256 or
Ed25519), and receives both configurations.

What it received then verifies elsewhere: the ``ldp_vc`` copy in vc.js and in the DCC's
verifier-core (every step, the revocation status included), the ``jwt_vc_json`` copy in Cairn's
verifier; and once the original is revoked, verifier-core and Cairn's verifier say revoked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.extensions import db
from app.models import AuditEvent, WalletCopy
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.services.wallets import openid_offers
from app.services.wallets.openid import JWT_VC_JSON, LDP_VC
from app.wiring import service_env
from credentials import decode_jwt, did_web_document_url
from tests.app.conftest import BASE_URL
from tests.app.mail_helpers import latest_delivered
from tests.app.services.awarding.test_issuing import verify
from tests.interop.conftest import NODE_DIR, DocumentServer, VcJs, VerifierCore
from tests.interop.test_verifier_core import (
    REGISTRIES,
    REGISTRY_URL,
    SLUG,
    assert_all_valid,
    publish,
)

pytestmark = pytest.mark.interop

WALLET = NODE_DIR / "oid4vci_wallet.mjs"
EMAIL = "ann.lee@school.example.org"


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The app served on a loopback port (its public origin stays BASE_URL: the wallet's fetch
    sends BASE_URL's requests here)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def node_wallet() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("OpenID4VCI interop: `node` is not on PATH (install Node 20+)")
    if not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vci").is_dir():
        pytest.skip("OpenID4VCI interop: run `npm ci` in tests/interop/node")
    return node


def run_wallet(node: str, server: str, wallet_link: str, **options: Any) -> dict[str, Any]:
    request = {"walletLink": wallet_link, "origin": BASE_URL, "server": server,
               "configurations": [LDP_VC, JWT_VC_JSON], "keyType": "p256", "txCode": None, **options}  # fmt: skip
    done = subprocess.run([node, str(WALLET)], input=json.dumps(request), capture_output=True,
                          text=True, cwd=NODE_DIR, timeout=120, check=False)  # fmt: skip
    answer: dict[str, Any] = (
        json.loads(done.stdout or "{}") if done.stdout else {"error": done.stderr}
    )
    return answer


@pytest.fixture
def award(app, make_issuer, make_achievement, make_award, server_documents) -> Any:
    issuer = make_issuer(slug=SLUG)
    server_documents.put(
        REGISTRY_URL,
        {"registry": {f"did:web:badges.example.org:issuers:{SLUG}": {"name": issuer.name}}},
    )
    return make_award(
        issuer, make_achievement(issuer, "Formative Assessment"), EMAIL, name="Ann Lee"
    )


@pytest.fixture
def server_documents() -> Iterator[DocumentServer]:
    served = DocumentServer()
    yield served
    served.close()


@pytest.mark.parametrize("key_type", ["p256", "ed25519"])
def test_the_openwallet_client_takes_up_an_offer_and_what_it_gets_verifies(
    node_wallet: str, live: str, award: Any, key_type: str, vcjs: VcJs,
    verifier_core: VerifierCore, server_documents: DocumentServer,
    local_fetch: Callable[[str], bytes],
) -> None:  # fmt: skip
    made = openid_offers.create_offer(
        award, send_code=False, actor=Actor(label="test"), env=service_env()
    )
    answer = run_wallet(node_wallet, live, made.wallet_link, keyType=key_type)
    assert "error" not in answer, answer
    # The library read the metadata as OpenID4VCI 1.0 and found its own authorization server.
    assert answer["version"] == "V1"
    assert answer["authorizationServers"][0]["issuer"] == BASE_URL
    # Step by step, as the client library does it.
    assert answer["steps"] == [
        f"GET {made.offer_uri}",
        f"GET {BASE_URL}/.well-known/openid-credential-issuer",
        f"GET {BASE_URL}/.well-known/oauth-authorization-server",
        f"POST {BASE_URL}/oid4vci/token",
        *[f"POST {BASE_URL}/oid4vci/{step}" for step in ("nonce", "credential") * 2],
    ], answer["steps"]
    holder = answer["holder"]
    assert holder.startswith("did:key:z")
    ldp, jwt = answer["credentials"][LDP_VC], answer["credentials"][JWT_VC_JSON]

    # ldp_vc: the award bound to the wallet's did:key, verifying in vc.js and verifier-core.
    assert ldp["credentialSubject"]["id"] == holder
    assert ldp["id"] == json.loads(award.document)["id"]
    did = ldp["issuer"]["id"]
    verified, error = vcjs.verify(ldp, {did: json.loads(local_fetch(did_web_document_url(did)))})
    assert verified, error
    publish(server_documents, local_fetch, ldp)
    assert_all_valid(verifier_core.verify(ldp, server_documents, REGISTRIES), server_documents)

    # jwt_vc_json: a VC-JWT whose subject is the wallet, verifying in Cairn's verifier.
    assert decode_jwt(jwt).payload["sub"] == holder
    report = verify(jwt, local_fetch)
    assert report.valid, report.as_json()["checks"]

    # Both deliveries are copies, audited and counted.
    db.session.expire_all()
    assert {c.holder_did for c in db.session.query(WalletCopy)} == {holder}
    assert db.session.query(AuditEvent).filter_by(action="credential.wallet_copy").count() == 2
    assert analytics.for_credential(award.id)["wallet"] == 2

    # Revoking the original: both copies show revoked.
    revocation.revoke(award, "Issued in error", actor=Actor(label="test"), env=service_env())
    db.session.commit()
    publish(server_documents, local_fetch, ldp)  # the status list as it is now
    summary = verifier_core.verify(ldp, server_documents, REGISTRIES)["summary"]
    assert summary["valid_signature"] == {"valid": True}
    assert summary["revocation_status"]["valid"] is False, summary
    report = verify(jwt, local_fetch)
    assert not report.valid and "revoked" in json.dumps(report.as_json()["checks"]).lower()


def test_the_openwallet_client_sends_the_emailed_transaction_code(
    node_wallet: str, live: str, award: Any
) -> None:
    made = openid_offers.create_offer(
        award, send_code=True, actor=Actor(label="test"), env=service_env()
    )
    tx_code = re.search(r"\b(\d{6})\b", latest_delivered(EMAIL, "wallet_code")).group(1)
    wrong = f"{(int(tx_code) + 1) % 10**6:06d}"
    refused = run_wallet(node_wallet, live, made.wallet_link, txCode=wrong)
    assert "invalid_grant" in refused["error"], refused
    answer = run_wallet(
        node_wallet, live, made.wallet_link, txCode=tx_code, configurations=[JWT_VC_JSON]
    )
    assert "error" not in answer, answer
    assert decode_jwt(answer["credentials"][JWT_VC_JSON]).payload["sub"] == answer["holder"]
    # Replayed: the code was spent.
    again = run_wallet(node_wallet, live, made.wallet_link, txCode=tx_code)
    assert "error" in again and ("410" in again["error"] or "invalid_grant" in again["error"]), (
        again
    )
