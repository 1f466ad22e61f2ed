"""The earner's privacy switch, and the secret links that let an earner manage a credential
without signing in: random tokens, stored only as SHA-256 hashes, that expire after
``MANAGE_LINK_DAYS`` and can be revoked; a new one is emailed to the credential's recipient
address on request."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import IssuedCredential, Issuer, MagicLink, ManageLink
from app.services._core import plain_rows
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import required
from app.services.mail import emails
from app.services.org import audit
from app.services.org.audit import Actor

#: Who changes a credential's visibility through the manage link.
EARNER = "earner"
#: What ``secrets.token_urlsafe(32)`` makes; anything else cannot name a manage link (the
#: signatures earlier versions mailed contain a dot, so they never match).
MANAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def manage_url(credential_id: str, token: str, env: ServiceEnv) -> str:
    """The earner's secret page for one credential."""
    return f"{env.base_url}/credentials/{credential_id}/manage/{token}"


def issue_manage_link(credential: IssuedCredential, env: ServiceEnv) -> str:
    """A new manage link for ``credential`` (its URL); only the token's hash is stored. Not
    committed: it is stored with the message that carries it."""
    token = secrets.token_urlsafe(32)
    plain_rows.add(
        ManageLink,
        {
            "credential_id": credential.id,
            "token_hash": _hash(token),
            "created_at": env.now,
            "expires_at": env.now + timedelta(days=env.settings.manage_link_days),
        },
    )
    return manage_url(credential.id, token, env)


def issue_claim_link(credential: IssuedCredential, env: ServiceEnv) -> str:
    """A single-use link (its URL) that signs the recipient in to claim ``credential`` into
    their backpack: a sign-in link for the address it was awarded to, working as long as a
    manage link. Only the token's hash is stored; not committed (stored with its message)."""
    token = secrets.token_urlsafe(32)
    plain_rows.add(
        MagicLink,
        {
            "token_hash": _hash(token),
            "email": credential.recipient_email,
            "purpose": "claim",
            "created_at": env.now,
            "expires_at": env.now + timedelta(days=env.settings.manage_link_days),
        },
    )
    return f"{env.base_url}/me/claim/{credential.id}/{token}"


@dataclass(frozen=True)
class Unusable:
    """Why a manage link does not work: ``unknown`` (never issued here, or one of the signed
    links earlier versions mailed), ``expired`` or ``revoked``, and since when."""

    reason: str
    since: datetime | None = None

    @property
    def status(self) -> int:
        """404 for a link we do not know, 410 for one that worked and no longer does."""
        return 404 if self.reason == "unknown" else 410


class ManageLinkUnusable(Exception):
    """The link in the request does not (or no longer) manage the credential."""

    def __init__(self, unusable: Unusable) -> None:
        super().__init__(unusable.reason)
        self.unusable = unusable


def find_managed(
    credential_id: str, token: str, env: ServiceEnv
) -> tuple[IssuedCredential, ManageLink]:
    """The credential a manage link ``token`` works for, and the link.

    :raises ManageLinkUnusable: for an unknown, expired or revoked link, or one of another
        credential (which looks unknown, like a credential that does not exist).
    """
    link = None
    if MANAGE_TOKEN.fullmatch(token):
        link = db.session.scalar(select(ManageLink).where(ManageLink.token_hash == _hash(token)))
    if link is None or link.credential_id != credential_id:
        raise ManageLinkUnusable(Unusable("unknown"))
    if link.revoked_at is not None:
        raise ManageLinkUnusable(Unusable("revoked", link.revoked_at))
    if link.expires_at <= env.now:
        raise ManageLinkUnusable(Unusable("expired", link.expires_at))
    found = db.session.get(IssuedCredential, credential_id)
    if found is None:
        raise ManageLinkUnusable(Unusable("unknown"))
    return found, link


def revoke_manage_links(credential: IssuedCredential, *, actor: Actor, env: ServiceEnv) -> int:
    """Stop every working manage link of ``credential`` (e.g. one was forwarded by mistake);
    audited and committed. Returns how many were revoked."""
    revoked = db.session.execute(
        update(ManageLink)
        .where(
            ManageLink.credential_id == credential.id,
            ManageLink.revoked_at.is_(None),
            ManageLink.expires_at > env.now,
        )
        .values(revoked_at=env.now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(revoked, "rowcount", 0) or 0)
    audit.record(
        "credential.manage_links_revoke",
        actor=actor,
        now=env.now,
        issuer_id=credential.issuer_id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"revoked": count},
    )
    db.session.commit()
    return count


def send_manage_link(credential: IssuedCredential, env: ServiceEnv) -> None:
    """Email a new manage link to the address the credential was awarded to. Committed."""
    issuer = required(db.session.get(Issuer, credential.issuer_id), "The issuer is missing.")
    emails.queue_template(
        "manage_link",
        env,
        to=credential.recipient_email,
        link=issue_manage_link(credential, env),
        secret=True,
        issuer_id=credential.issuer_id,
        recipient_name=credential.recipient_name,
        achievement_name=credential.achievement_version.name,
        issuer_name=issuer.name,
        days=env.settings.manage_link_days,
    )
    db.session.commit()
    emails.deliver_soon(env)


def request_manage_link(credential: IssuedCredential, email: str, env: ServiceEnv) -> bool:
    """Send a new manage link if ``email`` is the address the credential was awarded to (the
    caller answers the same either way). Returns whether one was sent.

    :raises ServiceError: when ``email`` is not an email address.
    """
    if check_email(email) != credential.recipient_email:
        return False
    send_manage_link(credential, env)
    return True


def set_private(
    credential: IssuedCredential, private: bool, *, actor: Actor, env: ServiceEnv
) -> bool:
    """Make a credential's public page private (or public again) and audit the change.

    Only the page and the shareable downloads are hidden: the stored credential and its status
    stay verifiable by anyone who holds it. Returns whether anything changed (no change, no
    audit event).
    """
    if bool(credential.is_private) == private:
        return False
    credential.is_private = private
    audit.record(
        "credential.visibility",
        actor=actor,
        now=env.now,
        issuer_id=credential.issuer_id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"private": private},
    )
    db.session.commit()
    return True
