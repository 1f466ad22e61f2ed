"""Wallet keys and OpenID4VCI key proofs signed with them, for the tests (what a wallet does)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from credentials import b64url_encode, did_jwk, did_key, public_jwk

Private = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class WalletKey:
    """A wallet's key pair and how it names itself."""

    private: Private

    @classmethod
    def ed25519(cls) -> WalletKey:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def p256(cls) -> WalletKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def alg(self) -> str:
        return "EdDSA" if isinstance(self.private, ed25519.Ed25519PrivateKey) else "ES256"

    @property
    def did_key(self) -> str:
        return did_key(self.private.public_key())

    @property
    def kid(self) -> str:
        multikey = self.did_key.removeprefix("did:key:")
        return f"{self.did_key}#{multikey}"

    @property
    def did_jwk(self) -> str:
        return did_jwk(self.private.public_key())

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private.public_key())

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(data)
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def encode(value: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def jws(signer: WalletKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A compact JWS of ``header`` and ``payload`` signed by ``signer``."""
    signing_input = encode(header) + "." + encode(payload)
    return signing_input + "." + b64url_encode(signer.sign(signing_input.encode()))


def key_proof(
    key: WalletKey,
    *,
    audience: str,
    nonce: str | None,
    now: datetime,
    by_jwk: bool = False,
    signer: WalletKey | None = None,
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> str:
    """A key proof for ``key`` (named by its did:key ``kid``, or its ``jwk``), signed by
    ``signer`` (``key`` itself unless a test wants another), with overrides."""
    head: dict[str, Any] = {"alg": key.alg, "typ": "openid4vci-proof+jwt"}
    head.update({"jwk": key.jwk} if by_jwk else {"kid": key.kid})
    head.update(header or {})
    body: dict[str, Any] = {"aud": audience, "iat": int(now.timestamp())}
    if nonce is not None:
        body["nonce"] = nonce
    body.update(payload or {})
    return jws(signer or key, {k: v for k, v in head.items() if v is not None}, body)
