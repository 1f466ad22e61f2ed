"""An issuer's webhook endpoints: subscribe a URL to events, edit, disable, delete, and the
signing secret (Standard Webhooks ``whsec_``), shown to the owner once and kept sealed.

The secret never rests in the database in clear: ``WebhookEndpoint.secret`` holds it encrypted
with AES-256-GCM under a key derived from ``SECRET_KEY`` with HKDF (a label of its own), bound
to the endpoint's public id, so a dump of the database cannot sign a forged delivery and a
ciphertext moved onto another endpoint does not open.

Every URL is vetted as the hostile-URL fetcher vets one (``app.fetch.vet_url``: https, public
addresses, resolvable) when it is saved, and again before each delivery.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import uuid
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select

from app.extensions import db
from app.fetch import FetchError, PostAnswer, Target, WebhookPoster
from app.models import (
    WEBHOOK_EVENT_TYPES,
    Issuer,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.org import audit
from app.services.org.audit import Actor

#: Names the key derivation; a new scheme gets a new label and a new prefix.
SECRET_KDF_INFO = b"cairn/webhook-secrets/v1"
CIPHERTEXT_PREFIX = "v1:"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)
#: 32 random bytes: the HMAC-SHA256 key (Standard Webhooks allows 24 to 64).
SECRET_BYTES = 32


class Poster(Protocol):
    """Vets a URL and POSTs to it (:class:`app.fetch.WebhookPoster`; tests may pass another)."""

    def vet(self, url: str) -> Target:
        """:raises FetchError: when ``url`` may not receive deliveries."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostAnswer:
        """:raises FetchError: when there is no answer."""


class UnreadableSecret(ValueError):
    """An endpoint's secret cannot be decrypted (``SECRET_KEY`` changed since it was made)."""


def poster(env: ServiceEnv) -> Poster:
    """The hostile-URL poster, with the operator's allow-list of local receivers."""
    return WebhookPoster(allowed_hosts=env.settings.webhook_allowed_hosts)


def _cipher(env: ServiceEnv) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRET_KDF_INFO).derive(
        env.settings.secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _bound_to(public_id: str) -> bytes:
    return b"cairn webhook endpoint " + public_id.encode("ascii")


def new_secret() -> str:
    """A fresh ``whsec_`` secret (base64 of random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def seal_secret(secret: str, public_id: str, env: ServiceEnv) -> str:
    """``secret`` encrypted for the endpoint ``public_id``."""
    nonce = os.urandom(12)
    sealed = _cipher(env).encrypt(nonce, secret.encode("ascii"), _bound_to(public_id))
    return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(endpoint: WebhookEndpoint, env: ServiceEnv) -> str:
    """The endpoint's ``whsec_`` secret, to sign a delivery.

    :raises UnreadableSecret: when it cannot be decrypted.
    """
    problem = UnreadableSecret(
        "the endpoint's secret cannot be decrypted (was CAIRN_SECRET_KEY changed?); "
        "rotate the secret"
    )
    if not endpoint.secret.startswith(CIPHERTEXT_PREFIX):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(endpoint.secret[len(CIPHERTEXT_PREFIX) :])
        plain = _cipher(env).decrypt(raw[:12], raw[12:], _bound_to(endpoint.public_id))
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise problem from exc
    return plain.decode("ascii")


def check_url(url: str, post: Poster) -> str:
    """The URL, if deliveries may go there.

    :raises Invalid: saying why not (on the ``url`` field).
    """
    try:
        post.vet(url)
    except FetchError as exc:
        raise Invalid(
            f"Deliveries cannot go to this URL: {_reason(str(exc))}. Use a public https address.",
            "url",
        ) from None
    return url


def _reason(message: str) -> str:
    # "refusing to fetch 'x': <why>" → "<why>"
    return message.split(": ", 1)[1] if message.startswith("refusing") else message


def _events(chosen: Sequence[str]) -> str:
    unknown = [kind for kind in chosen if kind not in WEBHOOK_EVENT_TYPES]
    if unknown or not chosen:
        raise Invalid("Choose at least one event from the list.", "events")
    return " ".join(kind for kind in WEBHOOK_EVENT_TYPES if kind in set(chosen))


def create(
    issuer: Issuer,
    *,
    url: str,
    events: Sequence[str],
    description: str | None,
    enabled: bool = True,
    actor: Actor,
    env: ServiceEnv,
    post: Poster | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Subscribe ``url`` to ``events``. Committed; returns the endpoint and its secret, which
    is shown once and never again.

    :raises Invalid: for a URL deliveries may not go to, or no (or unknown) events.
    """
    check_url(url, post or poster(env))
    endpoint = WebhookEndpoint(
        public_id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        url=url,
        description=description or "",
        event_types=_events(events),
        enabled=enabled,
        created_by_id=actor.staff_id,
        created_at=env.now,
        updated_at=env.now,
    )
    secret = new_secret()
    endpoint.secret = seal_secret(secret, endpoint.public_id, env)
    db.session.add(endpoint)
    db.session.flush()
    _audit("webhook.create", endpoint, actor, env, _detail(endpoint))
    db.session.commit()
    return endpoint, secret


def update(
    endpoint: WebhookEndpoint,
    *,
    url: str,
    events: Sequence[str],
    description: str | None,
    enabled: bool,
    actor: Actor,
    env: ServiceEnv,
    post: Poster | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description or whether it is on. Committed.

    :raises Invalid: as :func:`create`.
    """
    check_url(url, post or poster(env))
    endpoint.url = url
    endpoint.event_types = _events(events)
    endpoint.description = description or ""
    endpoint.enabled = enabled
    endpoint.updated_at = env.now
    _audit("webhook.update", endpoint, actor, env, _detail(endpoint))
    db.session.commit()
    return endpoint


def set_enabled(
    endpoint: WebhookEndpoint, enabled: bool, *, actor: Actor, env: ServiceEnv
) -> WebhookEndpoint:
    """Turn deliveries to an endpoint on or off (waiting ones wait while it is off). Committed."""
    endpoint.enabled = enabled
    endpoint.updated_at = env.now
    _audit("webhook.enable" if enabled else "webhook.disable", endpoint, actor, env, {})
    db.session.commit()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, actor: Actor, env: ServiceEnv) -> str:
    """Give the endpoint a new secret (the old one stops signing at once). Committed; returns
    the new secret, shown once."""
    secret = new_secret()
    endpoint.secret = seal_secret(secret, endpoint.public_id, env)
    endpoint.secret_rotated_at = env.now
    endpoint.updated_at = env.now
    _audit("webhook.rotate_secret", endpoint, actor, env, {})
    db.session.commit()
    return secret


def remove(endpoint: WebhookEndpoint, *, actor: Actor, env: ServiceEnv) -> None:
    """Delete an endpoint with its deliveries and their attempts. Committed."""
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    _audit("webhook.delete", endpoint, actor, env, _detail(endpoint))
    db.session.delete(endpoint)
    db.session.commit()


def _detail(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {"url": endpoint.url, "events": list(endpoint.events), "enabled": endpoint.enabled}


def _audit(
    action: str, endpoint: WebhookEndpoint, actor: Actor, env: ServiceEnv, detail: dict[str, object]
) -> None:
    audit.record(
        action,
        actor=actor,
        now=env.now,
        issuer_id=endpoint.issuer_id,
        subject_type="webhook",
        subject_id=endpoint.public_id,
        detail=detail,
    )


def get(issuer: Issuer, public_id: str) -> WebhookEndpoint:
    """One of the issuer's endpoints.

    :raises NotFound: when the issuer has none of that id.
    """
    endpoint = db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.public_id == public_id, WebhookEndpoint.issuer_id == issuer.id
        )
    )
    if endpoint is None:
        raise NotFound("There is no such webhook endpoint.")
    return endpoint


def of_issuer(issuer: Issuer) -> list[WebhookEndpoint]:
    """The issuer's endpoints, oldest first."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.issuer_id == issuer.id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def subscribed(issuer_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The issuer's enabled endpoints that take ``event_type``."""
    found = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.issuer_id == issuer_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    return [endpoint for endpoint in found if event_type in endpoint.events]
