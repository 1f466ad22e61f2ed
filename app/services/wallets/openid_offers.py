"""OpenID4VCI credential offers (pre-authorized code flow): the owner of a credential makes an
offer for a wallet; the wallet fetches it by its ``credential_offer_uri`` and trades its
pre-authorized code (and the transaction code emailed to the owner, when asked for) for an
access token at the token endpoint.

Nothing secret is stored in clear: the offer URI holds 256 random bits of which only the hash is
kept, the pre-authorized code is derived from them (so the offer document can be answered without
keeping the code), and the code, transaction code and access token are kept as hashes. A code
works once and for ten minutes; five wrong transaction codes end the offer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

from sqlalchemy import CursorResult, select, update

from app.extensions import db
from app.models import IssuedCredential, Issuer, OpenIdOffer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict
from app.services.mail import emails
from app.services.org import audit
from app.services.org.audit import Actor
from app.services.wallets.openid import (
    JWT_VC_JSON,
    LDP_VC,
    OFFER_PATH,
    PRE_AUTHORIZED_GRANT,
    OpenIdRefusal,
    digest,
    issuer_id,
)

#: How long an offer (its pre-authorized code) can be taken up.
OFFER_LIFETIME = timedelta(minutes=10)
#: How long the access token lasts: long enough to ask for both configurations.
TOKEN_LIFETIME = timedelta(minutes=5)
#: Digits of the transaction code, and the wrong tries after which the offer ends.
TX_CODE_LENGTH = 6
MAX_TX_FAILURES = 5
OFFER_SCHEME = "openid-credential-offer://"


@dataclass(frozen=True)
class CreatedOffer:
    """An offer as its owner sees it once: the wallet link (also the QR code's content), the
    offer URI in it, when it ends, and where the transaction code went (None: no code)."""

    wallet_link: str
    offer_uri: str
    expires_at: datetime
    code_sent_to: str | None


def _code_of(uri_secret: str) -> str:
    """The pre-authorized code of an offer, derived from the secret in its URI."""
    mac = hmac.new(uri_secret.encode(), b"oid4vci pre-authorized_code", hashlib.sha256)
    return mac.hexdigest()


def _live(offer: OpenIdOffer, now: datetime) -> bool:
    return offer.used_at is None and offer.expires_at > now


def create_offer(
    credential: IssuedCredential, *, send_code: bool, actor: Actor, env: ServiceEnv
) -> CreatedOffer:
    """Make an offer of ``credential`` (both configurations) for a wallet, with a transaction
    code emailed to the address it was awarded to when ``send_code``; commits.

    :raises Conflict: when the credential is revoked or suspended.
    """
    status = credential.status_at(env.now)
    if status in ("revoked", "suspended"):
        raise Conflict(f"This credential is {status}; it cannot be added to a wallet.")
    uri_secret = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}" if send_code else None
    offer = OpenIdOffer(
        credential_id=credential.id,
        uri_hash=digest(uri_secret),
        code_hash=digest(_code_of(uri_secret)),
        configurations=[LDP_VC, JWT_VC_JSON],
        tx_code_hash=digest(tx_code) if tx_code else None,
        tx_failures=0,
        created_at=env.now,
        expires_at=env.now + OFFER_LIFETIME,
        delivered=[],
    )
    db.session.add(offer)
    if tx_code:
        _send_code(credential, tx_code, env)
    audit.record(
        "credential.wallet_offer",
        actor=actor,
        now=env.now,
        issuer_id=credential.issuer_id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"protocol": "oid4vci", "code_by_email": bool(tx_code)},
    )
    db.session.commit()
    if tx_code:
        emails.deliver_soon(env)
    offer_uri = f"{issuer_id(env)}{OFFER_PATH}{uri_secret}"
    return CreatedOffer(
        wallet_link=f"{OFFER_SCHEME}?credential_offer_uri={quote(offer_uri, safe='')}",
        offer_uri=offer_uri,
        expires_at=offer.expires_at,
        code_sent_to=credential.recipient_email if tx_code else None,
    )


def _send_code(credential: IssuedCredential, tx_code: str, env: ServiceEnv) -> None:
    issuer = db.session.get(Issuer, credential.issuer_id)
    emails.queue_template(
        "wallet_code",
        env,
        to=credential.recipient_email,
        link=f"{issuer_id(env)}/credentials/{credential.id}",
        secret=False,
        # The code is a secret like a link: kept sealed while queued, removed once sent.
        secret_links=(tx_code,),
        issuer_id=credential.issuer_id,
        credential=credential,
        code=tx_code,
        minutes=int(OFFER_LIFETIME.total_seconds() // 60),
        recipient_name=credential.recipient_name,
        achievement_name=credential.achievement_version.name,
        issuer_name=issuer.name if issuer else "",
    )


def offer_document(uri_secret: str, env: ServiceEnv) -> dict[str, Any]:
    """The Credential Offer object (§4.1.1) an offer URI answers.

    :raises OpenIdRefusal: 404 for an unknown offer, 410 for one used or expired.
    """
    offer = db.session.scalar(select(OpenIdOffer).where(OpenIdOffer.uri_hash == digest(uri_secret)))
    if offer is None:
        raise OpenIdRefusal("invalid_request", "There is no such credential offer.", 404)
    if not _live(offer, env.now):
        raise OpenIdRefusal(
            "invalid_request",
            "This credential offer was used or has expired; ask for a new one.",
            410,
        )
    grant: dict[str, Any] = {"pre-authorized_code": _code_of(uri_secret)}
    if offer.tx_code_hash:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": TX_CODE_LENGTH,
            "description": "Enter the code Cairn emailed to the address the credential was "
            "awarded to.",
        }
    return {
        "credential_issuer": issuer_id(env),
        "credential_configuration_ids": list(offer.configurations),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


@dataclass(frozen=True)
class AccessToken:
    """What the token endpoint answers: the bearer token, its lifetime in seconds and, when the
    wallet sent ``authorization_details``, the details granted (each configuration's credential
    identifier is its configuration id)."""

    token: str
    expires_in: int
    authorization_details: list[dict[str, Any]] | None = None


def _authorization_details(value: Any, offer: OpenIdOffer) -> list[dict[str, Any]] | None:
    """The ``authorization_details`` of a token request (RFC 9396, OID4VCI §5.1.1) granted:
    each ``openid_credential`` entry for a configuration the offer names, with its identifier.

    :raises OpenIdRefusal: ``invalid_authorization_details`` for anything else.
    """
    if value is None:
        return None
    try:
        details = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        details = None
    if not isinstance(details, list) or not details:
        raise OpenIdRefusal("invalid_authorization_details", "Send a JSON array of objects.")
    granted = []
    for detail in details:
        if not isinstance(detail, dict):
            detail = {}
        wanted = detail.get("credential_configuration_id")
        if detail.get("type") != "openid_credential" or wanted not in offer.configurations:
            raise OpenIdRefusal(
                "invalid_authorization_details",
                "Each entry must be of type openid_credential for a configuration offered.",
            )
        granted.append({**detail, "credential_identifiers": [wanted]})
    return granted


def redeem(form: dict[str, Any], env: ServiceEnv) -> AccessToken:
    """Trade a pre-authorized code (and its transaction code) for an access token (§6); commits.

    A wrong transaction code is counted (and committed) before the refusal, so guessing is
    limited; nothing else is stored on a refusal.

    :raises OpenIdRefusal: ``unsupported_grant_type``, ``invalid_request`` (no code, a missing
        or unexpected transaction code), ``invalid_authorization_details`` or ``invalid_grant``
        (unknown, used or expired code, wrong transaction code).
    """
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OpenIdRefusal(
            "unsupported_grant_type", f"Only the grant {PRE_AUTHORIZED_GRANT} is supported."
        )
    code = form.get("pre-authorized_code")
    if not isinstance(code, str) or not code:
        raise OpenIdRefusal("invalid_request", "The pre-authorized_code is missing.")
    offer = db.session.scalar(select(OpenIdOffer).where(OpenIdOffer.code_hash == digest(code)))
    if offer is None or not _live(offer, env.now):
        raise OpenIdRefusal("invalid_grant", "The pre-authorized code is unknown, used or expired.")
    details = _authorization_details(form.get("authorization_details"), offer)
    # Older wallets send the transaction code as user_pin.
    tx_code = form.get("tx_code") or form.get("user_pin")
    if offer.tx_code_hash is None:
        if tx_code:
            raise OpenIdRefusal("invalid_request", "This offer has no transaction code.")
    elif not isinstance(tx_code, str) or not tx_code:
        raise OpenIdRefusal("invalid_request", "This offer needs the transaction code (tx_code).")
    elif not hmac.compare_digest(digest(tx_code), offer.tx_code_hash):
        offer.tx_failures += 1
        if offer.tx_failures >= MAX_TX_FAILURES:
            offer.expires_at = env.now  # too many guesses: the offer is over
        db.session.commit()
        raise OpenIdRefusal("invalid_grant", "The transaction code is wrong.")
    token = secrets.token_urlsafe(32)
    # Spent in one statement that only an unused offer matches: of two requests racing with
    # the same code, one gets a token.
    spent = db.session.execute(
        update(OpenIdOffer)
        .where(OpenIdOffer.id == offer.id, OpenIdOffer.used_at.is_(None))
        .values(
            used_at=env.now, token_hash=digest(token), token_expires_at=env.now + TOKEN_LIFETIME
        )
    )
    if cast(CursorResult[Any], spent).rowcount != 1:
        db.session.rollback()
        raise OpenIdRefusal("invalid_grant", "The pre-authorized code was used already.")
    db.session.commit()
    return AccessToken(token, int(TOKEN_LIFETIME.total_seconds()), details)


def offer_for_token(token: str, env: ServiceEnv) -> OpenIdOffer:
    """The offer an access token was issued for.

    :raises OpenIdRefusal: 401 ``invalid_token`` for an unknown or expired token.
    """
    offer = db.session.scalar(select(OpenIdOffer).where(OpenIdOffer.token_hash == digest(token)))
    if offer is None or offer.token_expires_at is None or offer.token_expires_at <= env.now:
        raise OpenIdRefusal("invalid_token", "The access token is unknown or has expired.", 401)
    return offer
