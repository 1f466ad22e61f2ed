"""API tokens: made by a staff member for one issuer with some scopes, shown once and stored as
a SHA-256; authenticated on every API request against the creator's current role; revoked."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import API_SCOPES, ROLES, ApiToken, Issuer, Membership, StaffAccount
from app.services._core.env import ServiceEnv
from app.services._core.errors import Forbidden, Invalid, NotFound
from app.services.org import audit, staff
from app.services.org.audit import Actor

#: What every token starts with, so secret scanners (and people) recognise a leaked one.
PREFIX = "cairn_"
#: The least role each scope needs: a token never does more than its creator's role allows.
SCOPE_ROLES: dict[str, str] = {
    "achievements:read": "viewer",
    "achievements:write": "editor",
    "awards:write": "awarder",
    "credentials:read": "viewer",
    "credentials:revoke": "awarder",
    "staff:write": "owner",
    "audit:read": "viewer",
}
MAX_NAME = 100
#: Recently used tokens are not written to on every request; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)
_TOKEN = re.compile(r"cairn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class NewToken:
    """A token just made: the record, and the secret itself (never shown again)."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a token: SHA-256 (the secret has 256 random bits, so a fast hash is
    enough; nothing is gained from a slow one)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def allows(role: str | None, scope: str) -> bool:
    """Whether ``role`` is enough for ``scope``."""
    return role is not None and ROLES.index(role) <= ROLES.index(SCOPE_ROLES[scope])


def check_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The scopes in their canonical order, duplicates dropped.

    :raises Invalid: for none or an unknown one.
    """
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        raise Invalid(
            f"Unknown scope {unknown[0]!r}: choose from {', '.join(API_SCOPES)}.", "scopes"
        )
    if not scopes:
        raise Invalid("Choose at least one scope.", "scopes")
    return [scope for scope in API_SCOPES if scope in scopes]


def create(
    issuer: Issuer,
    *,
    creator: StaffAccount,
    name: str,
    scopes: list[str] | tuple[str, ...],
    expires_at: datetime | None,
    actor: Actor,
    env: ServiceEnv,
) -> NewToken:
    """Make a token for ``issuer`` that acts for ``creator`` with ``scopes``, and commit.

    :raises Invalid: for a blank or long name, no or unknown scopes, or an expiry in the past.
    :raises NotFound: when the creator has no role in the issuer.
    :raises Forbidden: when a scope needs more than the creator's role.
    """
    name = (name or "").strip()
    if not name:
        raise Invalid("Name the token (e.g. the system that will use it).", "name")
    if len(name) > MAX_NAME:
        raise Invalid(f"Use at most {MAX_NAME} characters.", "name")
    chosen = check_scopes(scopes)
    if expires_at is not None and expires_at <= env.now:
        raise Invalid("The expiry must be in the future.", "expires")
    role = staff.role_of(creator, issuer)
    if role is None:
        raise NotFound("There is no such organisation.")
    beyond = [scope for scope in chosen if not allows(role, scope)]
    if beyond:
        raise Forbidden(
            f"The scope {beyond[0]} needs the {SCOPE_ROLES[beyond[0]]} role; "
            f"{creator.email} is {role}."
        )
    public_id = secrets.token_hex(6)
    secret = f"{PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        public_id=public_id,
        issuer_id=issuer.id,
        name=name,
        scopes=chosen,
        token_hash=hash_secret(secret),
        hint=secret[: len(PREFIX) + 12],
        created_by_id=creator.id,
        created_at=env.now,
        expires_at=expires_at,
    )
    db.session.add(token)
    audit.record(
        "api_token.create",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="api_token",
        subject_id=public_id,
        detail={
            "name": name,
            "scopes": chosen,
            "for": creator.email,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    db.session.commit()
    return NewToken(token=token, secret=secret)


@dataclass(frozen=True)
class Authenticated:
    """A usable token, with its creator's role in the token's issuer as it is now (None: no
    longer a member), read in the same query."""

    token: ApiToken
    role: str | None


def check(secret: str, *, env: ServiceEnv) -> Authenticated | None:
    """The usable token ``secret`` is and its creator's current role, or None (unknown,
    malformed, revoked, expired, or its creator disabled), in one query: every API request
    asks. Notes when it was used (at most once a minute; committed)."""
    if not well_formed(secret):
        return None
    wanted = hash_secret(secret)
    # Its creator, issuer and the creator's role there come in the same query.
    found = db.session.execute(
        select(ApiToken, Membership.role)
        .outerjoin(
            Membership,
            (Membership.staff_id == ApiToken.created_by_id)
            & (Membership.issuer_id == ApiToken.issuer_id),
        )
        .where(ApiToken.token_hash == wanted)
        .options(joinedload(ApiToken.created_by), joinedload(ApiToken.issuer))
    ).first()
    if found is None:
        return None
    token, role = found
    # The lookup is by the hash (an index); compare again in constant time all the same.
    if not hmac.compare_digest(token.token_hash, wanted):
        return None
    if not token.is_usable(env.now) or not token.created_by.is_active:
        return None
    note_use(token, env)
    return Authenticated(token, role)


def well_formed(secret: str | None) -> bool:
    """Whether ``secret`` has a token's shape (anything else is refused without a lookup)."""
    return bool(_TOKEN.fullmatch(secret or ""))


def note_use(token: ApiToken, env: ServiceEnv) -> bool:
    """Note that ``token`` was used now, unless it was within ``LAST_USED_PRECISION`` (then
    nothing is written); committed. True when it was written."""
    if token.last_used_at is not None and env.now - token.last_used_at < LAST_USED_PRECISION:
        return False
    token.last_used_at = env.now
    db.session.commit()
    return True


def authenticate(secret: str, *, env: ServiceEnv) -> ApiToken | None:
    """The usable token ``secret`` is, or None (see :func:`check`)."""
    found = check(secret, env=env)
    return found.token if found is not None else None


#: ``require_scope``'s ``role`` when the caller has not read it: it is read then.
ASK = "?"


def require_scope(
    token: ApiToken, issuer: Issuer, scope: str | None, role: str | None = ASK
) -> None:
    """Check ``token`` may act on ``issuer`` with ``scope`` (None: any valid token of the issuer).
    ``role`` is its creator's current role in ``issuer`` when the caller has it (``check``
    read it), else it is read here.

    :raises Forbidden: for another issuer's token, a scope the token lacks, or a creator whose
        current role no longer allows it (demoted or removed).
    """
    if token.issuer_id != issuer.id:
        raise Forbidden("This token is for another organisation.")
    if role == ASK:
        role = staff.role_of(token.created_by, issuer)
    if scope is None:
        if role is None:
            raise Forbidden("The staff member who made this token no longer works here.")
        return
    if scope not in token.scopes:
        raise Forbidden(f"This token lacks the {scope} scope.")
    if not allows(role, scope):
        raise Forbidden(
            f"The {scope} scope needs the {SCOPE_ROLES[scope]} role, which the staff member "
            "who made this token no longer has."
        )


def actor_for(token: ApiToken, ip: str | None = None) -> Actor:
    """The audit actor of a change made with ``token``: its creator's account, labelled with
    the token, so the log tells an API change from the same change in the workspace."""
    label = f"{token.created_by.email} via API token {token.public_id} ({token.name})"
    return Actor(token.created_by, label=label[:320], ip=ip)


def list_for(issuer: Issuer) -> list[ApiToken]:
    """The issuer's tokens, newest first (revoked and expired ones too)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.issuer_id == issuer.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def get(issuer: Issuer, public_id: str) -> ApiToken:
    """One of the issuer's tokens.

    :raises NotFound: when it does not exist or belongs to another issuer.
    """
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.issuer_id == issuer.id, ApiToken.public_id == public_id)
    )
    if token is None:
        raise NotFound("There is no such token.")
    return token


def revoke(token: ApiToken, *, actor: Actor, env: ServiceEnv) -> None:
    """Revoke a token at once (idempotent: revoking a revoked token changes nothing) and commit."""
    if token.revoked_at is not None:
        return
    token.revoked_at = env.now
    token.revoked_by_id = actor.staff_id
    audit.record(
        "api_token.revoke",
        actor=actor,
        now=env.now,
        issuer_id=token.issuer_id,
        subject_type="api_token",
        subject_id=token.public_id,
        detail={"name": token.name},
    )
    db.session.commit()
