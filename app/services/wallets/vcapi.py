"""The VC-API exchange that delivers a credential into the Learner Credential Wallet (LCW).

The owner opens an exchange from the credential's "Add to a wallet" page; the page shows the
exchange as LCW's deep link (``https://lcw.app/request?request=…`` and ``dccrequest://…``, both
holding ``{"credentialRequestOrigin", "protocols": {"vcapi": <exchange URL>}}``). What LCW then
does (``app/lib/exchanges.ts: handleVcApiExchangeComplete``) is the protocol here:

1. it POSTs ``{}`` to the exchange URL; Cairn answers a ``verifiablePresentationRequest`` for
   ``DIDAuthentication`` with a fresh ``challenge`` and this site's origin as ``domain``;
2. it POSTs ``{"verifiablePresentation": …}``, an empty presentation its DID signed
   (``Ed25519Signature2020``, purpose ``authentication``, that challenge and domain); Cairn
   verifies it (``credentials.verify_did_authentication``: did:key, or did:web through the
   hostile-URL fetcher), signs a copy of the credential bound to that DID
   (:func:`app.services.wallets.copies.issue_copy`) and answers
   ``{"verifiablePresentation": {"verifiableCredential": [<copy>]}}`` (LCW reads the array's
   first element; an answer without ``verifiablePresentationRequest`` ends its loop).

An exchange works once and for :data:`EXCHANGE_MINUTES`. Its URL holds a 256-bit secret stored
only as its SHA-256. A refused step changes nothing, so the wallet may try again.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import IssuedCredential, VcApiExchange
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Gone, Invalid, NotFound
from app.services._core.transaction import all_or_nothing
from app.services.org.audit import Actor
from app.services.wallets import copies
from credentials import (
    DID_AUTH_METHODS,
    CredentialError,
    Fetcher,
    verify_did_authentication,
)

#: How long an exchange works after the owner opens it.
EXCHANGE_MINUTES = 15
#: LCW's two deep-link forms: its universal link and its own URL scheme.
LCW_UNIVERSAL_LINK = "https://lcw.app/request"
LCW_SCHEME_LINK = "dccrequest://request"
#: The exchange URL's path; ``{token}`` is the secret.
EXCHANGE_PATH = "/wallets/vcapi/exchanges/{token}"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_VC_V2 = "https://www.w3.org/ns/credentials/v2"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def origin(env: ServiceEnv) -> str:
    """This site's origin (scheme, host, port): ``credentialRequestOrigin`` and the ``domain``
    a wallet's proof must name."""
    parts = urlsplit(env.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def exchange_url(token: str, env: ServiceEnv) -> str:
    """The URL a wallet POSTs to."""
    return env.base_url + EXCHANGE_PATH.format(token=token)


@dataclass(frozen=True)
class OpenedExchange:
    """An exchange just opened, with the links the owner's page shows (made once: only the
    secret's hash is stored)."""

    exchange: VcApiExchange
    url: str
    #: The wallet request LCW reads from either link.
    request: dict[str, Any]
    universal_link: str
    scheme_link: str

    @property
    def expires_at(self) -> datetime:
        return self.exchange.expires_at


def deep_links(request: dict[str, Any]) -> tuple[str, str]:
    """LCW's two links for a wallet request: ``?request=`` the URL-encoded JSON (LCW reads it
    with ``qs.parse`` then ``JSON.parse``; every reserved character is encoded)."""
    encoded = quote(json.dumps(request, separators=(",", ":")), safe="")
    return f"{LCW_UNIVERSAL_LINK}?request={encoded}", f"{LCW_SCHEME_LINK}?request={encoded}"


def open_exchange(credential: IssuedCredential, *, actor: Actor, env: ServiceEnv) -> OpenedExchange:
    """Open a single-use exchange for ``credential`` (committed). The caller has checked that
    ``actor`` owns it; the copy the wallet collects is audited in the actor's name.

    :raises Conflict: when the credential is revoked or suspended.
    """
    status = credential.status_at(env.now)
    if status in ("revoked", "suspended"):
        raise Conflict(f"This credential is {status}; it cannot be added to a wallet.")
    token = secrets.token_urlsafe(32)
    exchange = VcApiExchange(
        id=str(uuid.uuid4()),
        credential_id=credential.id,
        token_hash=_hash(token),
        opened_by=actor.label[:64],
        state="pending",
        created_at=env.now,
        expires_at=env.now + timedelta(minutes=EXCHANGE_MINUTES),
    )
    db.session.add(exchange)
    db.session.commit()
    url = exchange_url(token, env)
    request = {"credentialRequestOrigin": origin(env), "protocols": {"vcapi": url}}
    universal, scheme = deep_links(request)
    return OpenedExchange(exchange, url, request, universal, scheme)


def _find(token: str, env: ServiceEnv) -> VcApiExchange:
    """The exchange ``token`` opens, still usable.

    :raises NotFound: for an unknown token.
    :raises Gone: once it has been used or has expired.
    """
    found = None
    if _TOKEN.fullmatch(token):
        found = db.session.scalar(
            select(VcApiExchange).where(VcApiExchange.token_hash == _hash(token))
        )
    if found is None:
        raise NotFound("There is no such exchange.")
    if found.state == "completed":
        raise Gone("This exchange has been used: open a new one from the credential's page.")
    if found.expires_at <= env.now:
        raise Gone(
            f"This exchange expired ({EXCHANGE_MINUTES} minutes after it was opened): open a "
            "new one from the credential's page."
        )
    return found


def _credential_of(exchange: VcApiExchange, env: ServiceEnv) -> IssuedCredential:
    credential = db.session.get(IssuedCredential, exchange.credential_id)
    if credential is None:  # pragma: no cover - the foreign key guarantees it
        raise NotFound("The credential no longer exists.")
    status = credential.status_at(env.now)
    if status in ("revoked", "suspended"):
        raise Conflict(f"This credential is {status}; it cannot be added to a wallet.")
    return credential


def presentation_request(exchange: VcApiExchange, url: str, env: ServiceEnv) -> dict[str, Any]:
    """The ``verifiablePresentationRequest`` of a requested exchange (at ``url``): DID
    Authentication."""
    return {
        "verifiablePresentationRequest": {
            "query": [
                {
                    "type": "DIDAuthentication",
                    "acceptedMethods": [{"method": m} for m in DID_AUTH_METHODS],
                    "acceptedCryptosuites": [
                        {"cryptosuite": "Ed25519Signature2020"},
                        {"cryptosuite": "eddsa-rdfc-2022"},
                    ],
                }
            ],
            "challenge": exchange.challenge,
            "domain": origin(env),
            # LCW posts its answer here (else to the URL it first posted to: the same).
            "interact": {
                "service": [
                    {
                        "type": "UnmediatedPresentationService2021",
                        "serviceEndpoint": url,
                    }
                ]
            },
        }
    }


def step(
    token: str,
    body: Any,
    *,
    fetch: Fetcher | None,
    env: ServiceEnv,
    ip: str | None = None,
) -> dict[str, Any]:
    """One POST of a wallet to the exchange: ``{}`` (answered with the presentation request) or
    ``{"verifiablePresentation": …}`` (answered with the bound copy). Committed; a refusal
    changes nothing.

    :raises NotFound: for an unknown exchange.
    :raises Gone: for one used or expired.
    :raises Conflict: for a revoked or suspended credential, or a presentation sent before
        the request.
    :raises Invalid: for a body that is neither, or a presentation that does not verify.
    """
    exchange = _find(token, env)
    if not isinstance(body, dict):
        raise Invalid('Send a JSON object: {} to begin, then {"verifiablePresentation": …}.')
    if "verifiablePresentation" not in body:
        if body:
            raise Invalid(
                'Send {} to begin, then {"verifiablePresentation": …} with the DID '
                "Authentication the exchange asks for."
            )
        return _request(exchange, exchange_url(token, env), env)
    return _deliver(exchange, body["verifiablePresentation"], fetch=fetch, env=env, ip=ip)


def _request(exchange: VcApiExchange, url: str, env: ServiceEnv) -> dict[str, Any]:
    _credential_of(exchange, env)
    # A fresh challenge each time the wallet begins: an earlier one stops working.
    exchange.challenge = secrets.token_urlsafe(24)
    exchange.state = "requested"
    exchange.requested_at = env.now
    answer = presentation_request(exchange, url, env)
    db.session.commit()
    return answer


def _deliver(
    exchange: VcApiExchange,
    presentation: Any,
    *,
    fetch: Fetcher | None,
    env: ServiceEnv,
    ip: str | None,
) -> dict[str, Any]:
    if exchange.state != "requested" or exchange.challenge is None:
        raise Conflict("Ask for the presentation request first: POST {} to this exchange.")
    credential = _credential_of(exchange, env)
    challenge = exchange.challenge
    try:
        holder = verify_did_authentication(
            presentation, challenge=challenge, domain=origin(env), fetch=fetch, loader=env.loader
        )
    except CredentialError as exc:
        raise Invalid(f"The presentation does not prove the wallet's DID: {exc.message}") from None
    with all_or_nothing():
        # Single use even when two presentations race: only one update finds it requested.
        claimed = db.session.execute(
            update(VcApiExchange)
            .where(
                VcApiExchange.id == exchange.id,
                VcApiExchange.state == "requested",
                VcApiExchange.challenge == challenge,
            )
            .values(state="completed", completed_at=env.now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise Gone("This exchange has been used: open a new one from the credential's page.")
        copy = copies.issue_copy(
            credential,
            holder,
            protocol="vcapi",
            proof_format="di",
            actor=Actor(label=exchange.opened_by, ip=ip),
            env=env,
        )
        db.session.flush()
        db.session.execute(
            update(VcApiExchange)
            .where(VcApiExchange.id == exchange.id)
            .values(wallet_copy_id=copy.id)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    copies.count_delivery(credential.id, env)
    return {
        "verifiablePresentation": {
            "@context": [_VC_V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [json.loads(copy.document)],
        }
    }


def prune(now: datetime) -> int:
    """Delete exchanges that expired unused (not committed; the maintenance loop commits).
    Completed ones stay: they link the copy to the owner's request. Returns how many."""
    result = db.session.execute(
        delete(VcApiExchange)
        .where(VcApiExchange.state != "completed", VcApiExchange.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
