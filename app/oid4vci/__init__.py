"""Blueprint ``oid4vci``: OpenID for Verifiable Credential Issuance 1.0, pre-authorized code
flow. Wallets (Paradym, Credo/Animo, walt.id...) read the issuer and authorization server
metadata, fetch an offer, trade its code for a token and receive the credential bound to the key
they prove (``endpoints``); the credential's owner makes the offer, shown as a QR code and a link
(``offers``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oid4vci", __name__)

# The views, registered on ``bp`` by importing them (last, since they import ``bp``).
from app.oid4vci import endpoints, offers  # noqa: E402,F401
