"""A wallet driving Cairn's OpenID4VCI endpoints through the test client (what Paradym or the
Animo wallet does, step by step), for the protocol tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask.testing import FlaskClient

from app.services.wallets.openid import PRE_AUTHORIZED_GRANT
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.credentials.key_proof_helpers import WalletKey, key_proof


def offer_uri_of(wallet_link: str) -> str:
    """The ``credential_offer_uri`` of an ``openid-credential-offer://`` link."""
    assert wallet_link.startswith("openid-credential-offer://?")
    (uri,) = parse_qs(urlsplit(wallet_link).query)["credential_offer_uri"]
    return unquote(uri)


class Wallet:
    """One wallet app, with its key."""

    def __init__(self, client: FlaskClient, key: WalletKey | None = None) -> None:
        self.client = client
        self.key = key or WalletKey.p256()

    def get(self, url: str) -> Any:
        assert url.startswith(BASE_URL)
        return self.client.get(url[len(BASE_URL) :], base_url=BASE_URL)

    def offer(self, wallet_link: str) -> Any:
        return self.get(offer_uri_of(wallet_link))

    def token(self, code: str | None, tx_code: str | None = None, **extra: str) -> Any:
        form = {"grant_type": PRE_AUTHORIZED_GRANT, **extra}
        if code is not None:
            form["pre-authorized_code"] = code
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.client.post("/oid4vci/token", data=form, base_url=BASE_URL)

    def access_token(self, wallet_link: str, tx_code: str | None = None) -> str:
        offer = self.offer(wallet_link).get_json()
        code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        answer = self.token(code, tx_code)
        assert answer.status_code == 200, answer.get_json()
        token: str = answer.get_json()["access_token"]
        return token

    def nonce(self) -> str:
        answer = self.client.post("/oid4vci/nonce", base_url=BASE_URL)
        assert answer.status_code == 200
        nonce: str = answer.get_json()["c_nonce"]
        return nonce

    def proof(self, nonce: str | None = "fresh", **options: Any) -> str:
        return key_proof(
            self.key,
            audience=BASE_URL,
            nonce=self.nonce() if nonce == "fresh" else nonce,
            now=service_env().now,
            **options,
        )

    def credential(
        self,
        token: str | None,
        configuration: str | None = "OpenBadgeCredential_ldp_vc",
        *,
        body: Any = None,
        proof: str | None = None,
    ) -> Any:
        if body is None:
            body = {"proofs": {"jwt": [proof or self.proof()]}}
            if configuration is not None:
                body["credential_configuration_id"] = configuration
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(
            "/oid4vci/credential", json=body, headers=headers, base_url=BASE_URL
        )
