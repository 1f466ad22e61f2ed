"""OpenID for Verifiable Credential Issuance 1.0, what the offers and the issuance share: this
instance as a credential issuer (its identifier, endpoints and metadata), the two credential
configurations, and the protocol's refusals.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from app.services._core.env import ServiceEnv
from credentials import (
    OB_CONTEXT,
    OPEN_BADGE_CREDENTIAL,
    PROOF_ALGORITHMS,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)

#: Where the endpoints are (the views register these same paths).
OFFER_PATH = "/oid4vci/offers/"
TOKEN_PATH = "/oid4vci/token"  # noqa: S105  (a path, not a secret)
NONCE_PATH = "/oid4vci/nonce"
CREDENTIAL_PATH = "/oid4vci/credential"
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

#: The credential configurations: the same award as Data Integrity (``ldp_vc``, eddsa-rdfc-2022)
#: or as a VC-JWT (``jwt_vc_json``, ES256), each bound to the DID the key proof proved.
LDP_VC = "OpenBadgeCredential_ldp_vc"
JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"
#: Configuration id -> the proof format ``copies.issue_copy`` signs.
PROOF_FORMATS = {LDP_VC: "di", JWT_VC_JSON: "jwt"}
BINDING_METHODS = ["did:key", "did:jwk"]
_TYPES = [VERIFIABLE_CREDENTIAL, OPEN_BADGE_CREDENTIAL]
_DISPLAY = [
    {
        "name": "Open Badge",
        "locale": "en",
        "description": "An Open Badges 3.0 credential: an achievement recognised by its issuer.",
        "background_color": "#1f4e5f",
        "text_color": "#ffffff",
    }
]


@dataclass
class OpenIdRefusal(Exception):
    """A request the protocol refuses: the ``error`` code, a description (ASCII, shown to the
    wallet's developers) and the HTTP status."""

    error: str
    description: str
    status: int = 400

    def body(self) -> dict[str, str]:
        """The JSON error body (RFC 6749 §5.2, OID4VCI §8.3.1.2); the description is kept to
        the characters the specifications allow (printable ASCII but ``"`` and ``\\``)."""
        text = self.description
        allowed = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)
        return {"error": self.error, "error_description": allowed}


def digest(secret: str) -> str:
    """What is stored of a code, token or nonce: its SHA-256 (each holds at least 128 random
    bits or a MAC, so no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issuer_id(env: ServiceEnv) -> str:
    """This instance's Credential Issuer Identifier (the public origin, no trailing slash)."""
    return env.base_url.rstrip("/")


def _configuration(fmt: str, signing: list[str]) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": _TYPES}
    if fmt == "ldp_vc":
        definition = {"@context": [VC_V2_CONTEXT, OB_CONTEXT], **definition}
    return {
        "format": fmt,
        "cryptographic_binding_methods_supported": BINDING_METHODS,
        "credential_signing_alg_values_supported": signing,
        "proof_types_supported": {
            "jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}
        },
        "credential_definition": definition,
        "credential_metadata": {"display": _DISPLAY},
    }


def issuer_metadata(env: ServiceEnv) -> dict[str, Any]:
    """The Credential Issuer Metadata (``/.well-known/openid-credential-issuer``, §12.2). No
    ``authorization_servers``: this instance is its own authorization server."""
    base = issuer_id(env)
    return {
        "credential_issuer": base,
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": base + NONCE_PATH,
        "display": [
            {"name": "Cairn", "locale": "en", "logo": {"uri": base + "/static/favicon.svg"}}
        ],
        "credential_configurations_supported": {
            LDP_VC: _configuration("ldp_vc", ["eddsa-rdfc-2022"]),
            JWT_VC_JSON: _configuration("jwt_vc_json", ["ES256"]),
        },
    }


def authorization_server_metadata(env: ServiceEnv) -> dict[str, Any]:
    """The OAuth 2.0 Authorization Server Metadata (RFC 8414) of the pre-authorized code flow:
    anonymous token requests allowed (§12.3)."""
    base = issuer_id(env)
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_details_types_supported": ["openid_credential"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }
