"""OpenID4VCI, the pre-authorized code flow end to end through the endpoints (metadata, offer,
token, nonce, credential) for both configurations, and every refusal: replayed and expired
codes, transaction codes (missing, wrong, guessed), nonces (wrong, expired, replayed, missing),
proofs (another key, none, several, of another type), unknown configurations and formats, bad
JSON and tokens. A refusal is the specification's JSON error and stores nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, OpenIdNonce, OpenIdOffer, WalletCopy
from app.services._core.errors import Conflict
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.services.wallets import openid_offers
from app.services.wallets.openid import JWT_VC_JSON, LDP_VC, PRE_AUTHORIZED_GRANT
from app.wiring import service_env, utcnow
from credentials import decode_jwt
from tests.app.conftest import BASE_URL
from tests.app.forgeries import tampered
from tests.app.mail_helpers import assert_nowhere_in_database, latest_delivered
from tests.app.oid4vci.wallet import Wallet, offer_uri_of
from tests.app.services.awarding.test_issuing import verify
from tests.credentials.key_proof_helpers import WalletKey

EMAIL = "ann@example.org"
OWNER = Actor(label="test")


@pytest.fixture
def credential(app, make_issuer, make_achievement, make_award):
    issuer = make_issuer("Riverside District")
    return make_award(
        issuer, make_achievement(issuer, "Formative Assessment"), EMAIL, name="Ann Lee"
    )


@pytest.fixture
def wallet(client) -> Wallet:
    return Wallet(client)


def offer(credential, send_code: bool = False) -> openid_offers.CreatedOffer:
    return openid_offers.create_offer(
        credential, send_code=send_code, actor=OWNER, env=service_env()
    )


def move_clock(app, delta: timedelta) -> None:
    now = utcnow() + delta
    app.extensions["cairn.wiring"].clock = lambda: now


def copies_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(WalletCopy)) or 0


def refused(response, status: int, error: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error, body
    assert body["error_description"].isascii()
    assert response.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------------------- metadata


def test_the_credential_issuer_metadata(client) -> None:
    response = client.get("/.well-known/openid-credential-issuer", base_url=BASE_URL)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    metadata = response.get_json()
    assert metadata["credential_issuer"] == BASE_URL
    assert metadata["credential_endpoint"] == f"{BASE_URL}/oid4vci/credential"
    assert metadata["nonce_endpoint"] == f"{BASE_URL}/oid4vci/nonce"
    assert "authorization_servers" not in metadata  # this instance is its own
    configurations = metadata["credential_configurations_supported"]
    assert {c["format"] for c in configurations.values()} == {"ldp_vc", "jwt_vc_json"}
    ldp = configurations[LDP_VC]
    assert ldp["credential_definition"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert ldp["credential_definition"]["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    for configuration in configurations.values():
        assert configuration["cryptographic_binding_methods_supported"] == ["did:key", "did:jwk"]
        algorithms = configuration["proof_types_supported"]["jwt"][
            "proof_signing_alg_values_supported"
        ]
        assert set(algorithms) == {"ES256", "EdDSA"}
        assert configuration["credential_metadata"]["display"][0]["name"]
    assert configurations[JWT_VC_JSON]["credential_signing_alg_values_supported"] == ["ES256"]


def test_the_authorization_server_metadata(client) -> None:
    response = client.get("/.well-known/oauth-authorization-server", base_url=BASE_URL)
    metadata = response.get_json()
    assert metadata["issuer"] == BASE_URL
    assert metadata["token_endpoint"] == f"{BASE_URL}/oid4vci/token"
    assert metadata["pre-authorized_grant_anonymous_access_supported"] is True
    assert metadata["grant_types_supported"] == [PRE_AUTHORIZED_GRANT]


def test_a_browser_wallet_may_ask_first(client) -> None:
    response = client.options(
        "/oid4vci/credential",
        headers={"Origin": "https://wallet.example.org", "Access-Control-Request-Method": "POST"},
        base_url=BASE_URL,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


# ---------------------------------------------------------------------------- the whole flow


@pytest.mark.parametrize("make_key", [WalletKey.p256, WalletKey.ed25519])
def test_a_wallet_receives_both_configurations_bound_to_its_did(
    client, credential, local_fetch, make_key
) -> None:
    wallet = Wallet(client, make_key())
    before = service_env().now
    made = offer(credential)
    assert made.code_sent_to is None
    assert timedelta(minutes=10) <= made.expires_at - before < timedelta(minutes=10, seconds=5)
    document = wallet.offer(made.wallet_link).get_json()
    assert document["credential_issuer"] == BASE_URL
    assert document["credential_configuration_ids"] == [LDP_VC, JWT_VC_JSON]
    assert "tx_code" not in document["grants"][PRE_AUTHORIZED_GRANT]
    token = wallet.access_token(made.wallet_link)

    ldp = wallet.credential(token, LDP_VC)
    assert ldp.status_code == 200, ldp.get_json()
    assert ldp.headers["Cache-Control"] == "no-store"
    delivered = ldp.get_json()["credentials"][0]["credential"]
    assert isinstance(delivered, dict)
    assert delivered["id"] == json.loads(credential.document)["id"]
    assert delivered["credentialSubject"]["id"] == wallet.key.did_key
    report = verify(json.dumps(delivered), local_fetch)
    assert report.valid, report.as_json()["checks"]

    jwt = wallet.credential(token, JWT_VC_JSON)
    assert jwt.status_code == 200, jwt.get_json()
    token_text = jwt.get_json()["credentials"][0]["credential"]
    assert isinstance(token_text, str)
    assert decode_jwt(token_text).payload["sub"] == wallet.key.did_key
    report = verify(token_text, local_fetch)
    assert report.valid, report.as_json()["checks"]

    # Each delivery is a copy, audited and counted as "added to a wallet".
    stored = db.session.scalars(select(WalletCopy).order_by(WalletCopy.id)).all()
    assert [(c.protocol, c.proof_format, c.holder_did) for c in stored] == [
        ("oid4vci", "di", wallet.key.did_key),
        ("oid4vci", "jwt", wallet.key.did_key),
    ]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == credential.id)
    ).all()
    assert actions.count("credential.wallet_copy") == 2
    assert actions.count("credential.wallet_offer") == 1
    assert analytics.for_credential(credential.id)["wallet"] == 2


def test_a_proof_by_jwk_binds_the_did_jwk_and_the_singular_proof_is_taken(
    wallet, credential
) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    body = {
        "credential_configuration_id": JWT_VC_JSON,
        "proof": {"proof_type": "jwt", "jwt": wallet.proof(by_jwk=True)},
    }
    response = wallet.credential(token, body=body)
    assert response.status_code == 200, response.get_json()
    jws = response.get_json()["credentials"][0]["credential"]
    assert decode_jwt(jws).payload["sub"] == wallet.key.did_jwk


def test_revoking_the_original_revokes_the_delivered_copy(wallet, credential, local_fetch) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    delivered = wallet.credential(token, LDP_VC).get_json()["credentials"][0]["credential"]
    revocation.revoke(credential, "Issued in error", actor=OWNER, env=service_env())
    db.session.commit()
    report = verify(json.dumps(delivered), local_fetch)
    assert not report.valid
    assert "revoked" in json.dumps(report.as_json()["checks"]).lower()
    # ... and nothing more goes out for it.
    refused(wallet.credential(token, JWT_VC_JSON), 400, "credential_request_denied")
    with pytest.raises(Conflict):
        offer(credential)


# ---------------------------------------------------------------------------- the code


def test_a_code_works_once(wallet, credential) -> None:
    made = offer(credential)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    assert wallet.token(code).status_code == 200
    refused(wallet.token(code), 400, "invalid_grant")
    # The offer itself is spent too.
    refused(wallet.offer(made.wallet_link), 410, "invalid_request")


def test_an_expired_offer_is_refused(app, wallet, credential) -> None:
    made = offer(credential)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    move_clock(app, timedelta(minutes=10, seconds=1))
    refused(wallet.offer(made.wallet_link), 410, "invalid_request")
    refused(wallet.token(code), 400, "invalid_grant")
    assert db.session.scalar(select(OpenIdOffer.used_at)) is None


def test_an_expired_access_token_is_refused(app, wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    proof = wallet.proof()
    move_clock(app, timedelta(minutes=5, seconds=1))
    response = wallet.credential(token, proof=proof)
    refused(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_unknown_offers_codes_and_tokens_are_refused(wallet, credential) -> None:
    made = offer(credential)
    refused(wallet.get(offer_uri_of(made.wallet_link) + "x"), 404, "invalid_request")
    refused(wallet.token("not-a-code"), 400, "invalid_grant")
    refused(wallet.token(None), 400, "invalid_request")
    refused(wallet.token("x", grant_type="authorization_code"), 400, "unsupported_grant_type")
    refused(wallet.credential("not-a-token"), 401, "invalid_token")
    refused(wallet.credential(None), 401, "invalid_token")
    assert copies_stored() == 0


def test_nothing_secret_is_stored_in_clear(wallet, credential) -> None:
    made = offer(credential, send_code=True)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    tx_code = re.search(r"\b(\d{6})\b", latest_delivered(EMAIL, "wallet_code")).group(1)
    token = wallet.token(code, tx_code).get_json()["access_token"]
    secret = offer_uri_of(made.wallet_link).rsplit("/", 1)[1]
    assert_nowhere_in_database(secret, code, tx_code, token)


# ---------------------------------------------------------------------------- transaction code


def test_the_transaction_code_is_emailed_and_asked_for(wallet, credential) -> None:
    made = offer(credential, send_code=True)
    assert made.code_sent_to == EMAIL
    text = latest_delivered(EMAIL, "wallet_code")
    tx_code = re.search(r"\b(\d{6})\b", text).group(1)
    assert "works once, for 10 minutes" in text
    grant = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT]
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    assert len(grant["tx_code"]["description"]) <= 300
    code = grant["pre-authorized_code"]
    refused(wallet.token(code), 400, "invalid_request")
    wrong = f"{(int(tx_code) + 1) % 10**6:06d}"
    refused(wallet.token(code, wrong), 400, "invalid_grant")
    response = wallet.token(code, tx_code)
    assert response.status_code == 200, response.get_json()


def test_an_unexpected_transaction_code_is_refused(wallet, credential) -> None:
    code = wallet.offer(offer(credential).wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    refused(wallet.token(code, "123456"), 400, "invalid_request")


def test_five_wrong_transaction_codes_end_the_offer(wallet, credential) -> None:
    made = offer(credential, send_code=True)
    tx_code = re.search(r"\b(\d{6})\b", latest_delivered(EMAIL, "wallet_code")).group(1)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    for guess in range(5):
        wrong = f"{(int(tx_code) + 1 + guess) % 10**6:06d}"
        refused(wallet.token(code, wrong), 400, "invalid_grant")
    assert db.session.scalar(select(OpenIdOffer.tx_failures)) == 5
    refused(wallet.token(code, tx_code), 400, "invalid_grant")
    refused(wallet.offer(made.wallet_link), 410, "invalid_request")


# ---------------------------------------------------------------------------- nonce and proof


def test_a_wrong_nonce_is_refused(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    refused(wallet.credential(token, proof=wallet.proof(nonce="made-up")), 400, "invalid_nonce")
    forged = tampered(wallet.nonce())
    refused(wallet.credential(token, proof=wallet.proof(nonce=forged)), 400, "invalid_nonce")
    assert copies_stored() == 0
    assert db.session.scalar(select(func.count()).select_from(OpenIdNonce)) == 0


def test_a_nonce_works_once(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    nonce = wallet.nonce()
    assert wallet.credential(token, LDP_VC, proof=wallet.proof(nonce=nonce)).status_code == 200
    response = wallet.credential(token, JWT_VC_JSON, proof=wallet.proof(nonce=nonce))
    refused(response, 400, "invalid_nonce")
    assert copies_stored() == 1


def test_an_expired_nonce_is_refused(app, wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    nonce = wallet.nonce()
    move_clock(app, timedelta(minutes=5, seconds=1))
    token = wallet.access_token(offer(credential).wallet_link)
    refused(wallet.credential(token, proof=wallet.proof(nonce=nonce)), 400, "invalid_nonce")


def test_a_proof_without_a_nonce_is_refused(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    refused(wallet.credential(token, proof=wallet.proof(nonce=None)), 400, "invalid_proof")


def test_a_proof_signed_by_another_key_than_its_kid_names_is_refused(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    proof = wallet.proof(signer=WalletKey.p256())
    response = wallet.credential(token, proof=proof)
    refused(response, 400, "invalid_proof")
    assert "signature" in response.get_json()["error_description"]
    assert copies_stored() == 0
    # The token and the nonce were not spent by the refusal: a good proof still works.
    assert wallet.credential(token).status_code == 200


@pytest.mark.parametrize(
    "options",
    [{"payload": {"aud": "https://evil.example.org"}}, {"header": {"typ": "JWT"}},
     {"header": {"alg": "HS256"}}, {"header": {"kid": "did:web:wallet.example.org#1"}}],
)  # fmt: skip
def test_a_proof_for_another_audience_or_of_another_kind_is_refused(
    wallet, credential, options
) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    refused(wallet.credential(token, proof=wallet.proof(**options)), 400, "invalid_proof")


@pytest.mark.parametrize(
    "proofs",
    [None, {}, {"jwt": []}, {"jwt": "x"}, {"di_vp": [{}]}, {"jwt": ["a", "b"]}, {"jwt": [7]},
     {"attestation": ["x"]}],
)  # fmt: skip
def test_missing_or_unsupported_proofs_are_refused(wallet, credential, proofs) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    body = {"credential_configuration_id": LDP_VC}
    if proofs is not None:
        body["proofs"] = proofs
    refused(wallet.credential(token, body=body), 400, "invalid_proof")


# ---------------------------------------------------------------------------- the request


def test_an_unknown_configuration_or_format_is_refused(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    refused(wallet.credential(token, "mDL"), 400, "unknown_credential_configuration")
    refused(wallet.credential(token, None), 400, "unknown_credential_configuration")
    legacy = {"format": "mso_mdoc", "proofs": {"jwt": [wallet.proof()]}}
    refused(wallet.credential(token, body=legacy), 400, "invalid_credential_request")
    by_identifier = {"credential_identifier": "x", "proofs": {"jwt": [wallet.proof()]}}
    refused(wallet.credential(token, body=by_identifier), 400, "unknown_credential_identifier")
    assert copies_stored() == 0


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"text"', "{"])
def test_a_body_that_is_not_a_json_object_is_refused(wallet, credential, client, body) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    response = client.post(
        "/oid4vci/credential",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        base_url=BASE_URL,
    )
    refused(response, 400, "invalid_credential_request")
    form = client.post(
        "/oid4vci/credential", data={"a": "b"}, headers={"Authorization": f"Bearer {token}"},
        base_url=BASE_URL,
    )  # fmt: skip
    refused(form, 400, "invalid_credential_request")


def test_each_configuration_is_delivered_once_per_offer(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    assert wallet.credential(token, LDP_VC).status_code == 200
    refused(wallet.credential(token, LDP_VC), 400, "credential_request_denied")
    assert copies_stored() == 1


def test_authorization_details_grant_credential_identifiers(wallet, credential) -> None:
    made = offer(credential)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    details = [{"type": "openid_credential", "credential_configuration_id": JWT_VC_JSON}]
    answer = wallet.token(code, authorization_details=json.dumps(details))
    assert answer.status_code == 200, answer.get_json()
    granted = answer.get_json()["authorization_details"]
    assert granted == [{**details[0], "credential_identifiers": [JWT_VC_JSON]}]
    token = answer.get_json()["access_token"]
    body = {"credential_identifier": JWT_VC_JSON, "proofs": {"jwt": [wallet.proof()]}}
    assert wallet.credential(token, body=body).status_code == 200
    both = {"credential_identifier": LDP_VC, "credential_configuration_id": LDP_VC,
            "proofs": {"jwt": [wallet.proof()]}}  # fmt: skip
    refused(wallet.credential(token, body=both), 400, "invalid_credential_request")


@pytest.mark.parametrize(
    "details",
    [
        "not json",
        "[]",
        "{}",
        '[{"type": "other"}]',
        '[{"type": "openid_credential", "credential_configuration_id": "mDL"}]',
        "[1]",
    ],
)
def test_bad_authorization_details_are_refused_and_spend_nothing(
    wallet, credential, details
) -> None:
    made = offer(credential)
    code = wallet.offer(made.wallet_link).get_json()["grants"][PRE_AUTHORIZED_GRANT][
        "pre-authorized_code"
    ]
    refused(wallet.token(code, authorization_details=details), 400, "invalid_authorization_details")
    assert wallet.token(code).status_code == 200  # the code still works


ODD = [None, 0, 1.5, True, "", "x", [], {}, [None], {"jwt": None}, ["a", "b"], {"jwt": [{}]}]


def test_no_request_shape_is_a_server_error(wallet, credential) -> None:
    token = wallet.access_token(offer(credential).wallet_link)
    for name in (
        "credential_configuration_id",
        "credential_identifier",
        "proofs",
        "proof",
        "format",
    ):
        for value in ODD:
            response = wallet.credential(
                token, body={"credential_configuration_id": LDP_VC, name: value}
            )
            assert response.status_code == 400, (name, value, response.get_data(as_text=True))
            assert response.get_json()["error"]
    for name in (
        "grant_type",
        "pre-authorized_code",
        "tx_code",
        "user_pin",
        "authorization_details",
    ):
        for value in ("", "x", "[]", "{}", "null", "\u00e9"):
            response = wallet.token("x", **{name: value})
            assert response.status_code == 400, (name, value)
    assert copies_stored() == 0
