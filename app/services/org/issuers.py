"""Issuers: creating organisations, their keys and DIDs, profile edits and key rotation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Image, Issuer, IssuerKey, Membership, StaffAccount
from app.models.issuer import PROOF_FORMATS
from app.services._core import events, shared_reads
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.org import audit
from app.services.org.audit import Actor
from credentials import (
    DID_V1_CONTEXT,
    JWK_CONTEXT,
    MULTIKEY_CONTEXT,
    OB_CONTEXT,
    VC_V2_CONTEXT,
    Profile,
    encode_public_key,
    profile_json,
    public_jwk,
)
from credentials import Image as ImageRef
from keys import SigningKey, generate_key

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: Key types every issuer has: Ed25519 for Data Integrity proofs, P-256 for VC-JWT.
KEY_TYPES = ("ed25519", "p256")


@dataclass(frozen=True)
class IssuerProfileInput:
    """The editable parts of an issuer's profile (already validated by ``schemas``)."""

    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    proof_format: str = "di"


def slugify(name: str) -> str:
    """A URL- and DID-safe slug from a name (``District 7 PD`` -> ``district-7-pd``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    return slug or "issuer"


def key_owner(issuer: Issuer) -> str:
    """The key store owner name of an issuer (its id never changes)."""
    return f"issuer-{issuer.id}"


def issuer_did(issuer: Issuer, env: ServiceEnv) -> str:
    """``did:web:<host>:issuers:<slug>``."""
    return f"did:web:{env.did_host}:issuers:{issuer.slug}"


def verification_method(issuer: Issuer, key: IssuerKey, env: ServiceEnv) -> str:
    """The absolute verification method id of one of the issuer's keys."""
    return f"{issuer_did(issuer, env)}#{key.kid}"


def image_url(image: Image, env: ServiceEnv) -> str:
    """The public URL of a stored image."""
    extension = "svg" if image.media_type == "image/svg+xml" else "png"
    return f"{env.base_url}/images/{image.sha256}.{extension}"


def profile(issuer: Issuer, env: ServiceEnv) -> Profile:
    """The issuer as an OB 3.0 ``Profile`` input for credentials."""
    return Profile(
        id=issuer_did(issuer, env),
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        description=issuer.description,
        image=ImageRef(image_url(issuer.image, env), f"{issuer.name} logo")
        if issuer.image
        else None,
    )


def profile_document(issuer: Issuer, env: ServiceEnv) -> dict[str, Any]:
    """The issuer's OB 3.0 ``Profile`` as a JSON-LD document."""
    return {"@context": [VC_V2_CONTEXT, OB_CONTEXT], **profile_json(profile(issuer, env))}


def active_key(issuer: Issuer, key_type: str) -> IssuerKey:
    """The newest unretired key of a type.

    :raises NotFound: when the issuer has none (which creation and rotation never allow).
    """
    key = db.session.scalar(
        select(IssuerKey)
        .where(
            IssuerKey.issuer_id == issuer.id,
            IssuerKey.key_type == key_type,
            IssuerKey.retired_at.is_(None),
        )
        .order_by(IssuerKey.created_at.desc(), IssuerKey.id.desc())
        .limit(1)
    )
    if key is None:
        raise NotFound(f"{issuer.name} has no active {key_type} key")
    return key


def signing_key(issuer: Issuer, key_type: str, env: ServiceEnv) -> tuple[IssuerKey, SigningKey]:
    """The active key of a type with its private half from the key store."""
    record = shared_reads.remembered_row(
        ("issuer_key", issuer.id, key_type), IssuerKey, env, lambda: active_key(issuer, key_type)
    )
    return record, env.keystore.get(key_owner(issuer), record.kid)


def did_document(issuer: Issuer, env: ServiceEnv) -> dict[str, Any]:
    """The issuer's DID document: every key (retired ones too, so old credentials still verify)
    as an absolute-id verification method listed under ``assertionMethod``."""
    did = issuer_did(issuer, env)
    methods: list[dict[str, Any]] = []
    for key in sorted(issuer.keys, key=lambda k: (k.created_at, k.id)):
        method: dict[str, Any] = {"id": f"{did}#{key.kid}", "controller": did}
        if key.key_type == "ed25519":
            method.update(type="Multikey", publicKeyMultibase=key.public_key_multibase)
        else:
            method.update(type="JsonWebKey", publicKeyJwk=key.public_jwk)
        methods.append(method)
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_CONTEXT, JWK_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def jwks(issuer: Issuer, env: ServiceEnv) -> dict[str, Any]:
    """The issuer's VC-JWT keys as a JWK Set; each ``kid`` is the key's DID URL."""
    keys = []
    for key in issuer.keys:
        if key.key_type == "ed25519":
            continue
        keys.append({**key.public_jwk, "kid": verification_method(issuer, key, env), "use": "sig"})
    return {"keys": keys}


def _add_key(issuer: Issuer, key: SigningKey, env: ServiceEnv) -> IssuerKey:
    env.keystore.put(key_owner(issuer), key)
    public = key.public_key()
    record = IssuerKey(
        issuer_id=issuer.id,
        kid=key.kid,
        key_type=key.key_type,
        algorithm=key.algorithm,
        public_jwk={**public_jwk(public), "alg": key.algorithm},
        public_key_multibase=encode_public_key(public),  # type: ignore[arg-type]
        created_at=env.now,
    )
    db.session.add(record)
    issuer.keys.append(record)
    return record


def _check_profile(data: IssuerProfileInput) -> None:
    if not data.name.strip():
        raise Invalid("The organisation needs a name.", "name")
    if data.proof_format not in PROOF_FORMATS:
        raise Invalid("Choose Data Integrity (di) or VC-JWT (jwt).", "proof_format")


def create_issuer(
    data: IssuerProfileInput,
    *,
    slug: str | None,
    owner: StaffAccount | None,
    actor: Actor,
    env: ServiceEnv,
) -> Issuer:
    """Create an organisation with its signing keys, status lists and (optionally) its owner.

    :raises ServiceError: for a bad slug or profile.
    :raises Conflict: when the slug is taken.
    """
    _check_profile(data)
    slug = slug or slugify(data.name)
    if not SLUG.match(slug):
        raise Invalid("The short name may use lower-case letters, digits and dashes.", "slug")
    if db.session.scalar(select(Issuer.id).where(Issuer.slug == slug)) is not None:
        raise Conflict(f"The short name {slug!r} is taken.", "slug")
    issuer = Issuer(
        slug=slug,
        name=data.name.strip(),
        url=data.url,
        email=data.email,
        description=data.description,
        proof_format=data.proof_format,
        created_at=env.now,
    )
    db.session.add(issuer)
    db.session.flush()  # the id names the key store owner
    for key_type in KEY_TYPES:
        _add_key(issuer, generate_key(key_type, created=env.now), env)
    if owner is not None:
        db.session.add(
            Membership(staff_id=owner.id, issuer_id=issuer.id, role="owner", created_at=env.now)
        )
    events.publish(events.IssuerCreated(issuer, env))
    audit.record(
        "issuer.create",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="issuer",
        subject_id=issuer.id,
        detail={"slug": slug, "name": issuer.name},
    )
    db.session.commit()
    return issuer


def update_profile(
    issuer: Issuer, data: IssuerProfileInput, *, actor: Actor, env: ServiceEnv
) -> Issuer:
    """Change the profile. Credentials already issued keep the profile they were signed with."""
    _check_profile(data)
    before = {
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "description": issuer.description,
        "proof_format": issuer.proof_format,
    }
    issuer.name = data.name.strip()
    issuer.url, issuer.email, issuer.description = data.url, data.email, data.description
    issuer.proof_format = data.proof_format
    after = {
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "description": issuer.description,
        "proof_format": issuer.proof_format,
    }
    record_changes(issuer, "issuer.update", before, after, actor=actor, env=env)
    return issuer


def record_changes(
    issuer: Issuer,
    action: str,
    before: Mapping[str, object],
    after: Mapping[str, object],
    *,
    actor: Actor,
    env: ServiceEnv,
) -> None:
    """Audit the fields of an issuer a save changed (``from`` and ``to`` each) and commit; a
    save that changes nothing is not an event worth auditing, and commits nothing."""
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        return
    audit.record(
        action,
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="issuer",
        subject_id=issuer.id,
        detail=changed,
    )
    db.session.commit()


def set_image(issuer: Issuer, image: Image | None, *, actor: Actor, env: ServiceEnv) -> None:
    """Set (or clear) the issuer's logo."""
    issuer.image = image
    audit.record(
        "issuer.image",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="issuer",
        subject_id=issuer.id,
        detail={"image": image.sha256 if image else None},
    )
    db.session.commit()


def rotate_key(issuer: Issuer, key_type: str, *, actor: Actor, env: ServiceEnv) -> IssuerKey:
    """Make a new key of this type the signing key; the old one stays published, marked retired,
    so everything it signed still verifies.

    :raises ServiceError: for an unknown key type.
    """
    if key_type not in KEY_TYPES:
        raise Invalid(f"Unknown key type {key_type!r}.")
    old = active_key(issuer, key_type)
    new = _add_key(issuer, generate_key(key_type, created=env.now), env)
    old.retired_at = env.now
    env.keystore.retire(key_owner(issuer), old.kid, env.now)
    audit.record(
        "key.rotate",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="key",
        subject_id=new.kid,
        detail={"key_type": key_type, "retired": old.kid, "new": new.kid},
    )
    db.session.commit()
    return new


def get_by_slug(slug: str) -> Issuer:
    """An issuer by slug.

    :raises NotFound: when there is none.
    """
    issuer = db.session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is None:
        raise NotFound(f"There is no issuer {slug!r}.")
    return issuer
