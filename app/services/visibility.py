"""The earner's privacy switch, and the secret link that lets an earner manage a credential."""

from __future__ import annotations

import hmac

from flask import current_app
from itsdangerous import URLSafeSerializer

from app.extensions import db
from app.models import IssuedCredential
from app.services import audit
from app.services.audit import Actor
from app.services.env import ServiceEnv

#: Keeps these signatures apart from anything else signed with the secret key.
MANAGE_SALT = "credential-manage"
#: Who changes a credential's visibility through the manage link (educator accounts come later).
EARNER = "earner"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=MANAGE_SALT)


def manage_token(credential_id: str) -> str:
    """The secret that lets whoever holds it manage one credential (it never expires: the
    earner keeps the award email for as long as they keep the credential)."""
    return str(_serializer().dumps(credential_id))


def is_manage_token(credential_id: str, token: str) -> bool:
    """Whether ``token`` is the manage token of ``credential_id`` (compared in constant time,
    so a guess learns nothing from how long the refusal took)."""
    return hmac.compare_digest(manage_token(credential_id).encode(), token.encode())


def manage_url(credential_id: str, env: ServiceEnv) -> str:
    """The earner's secret page for one credential."""
    return f"{env.base_url}/credentials/{credential_id}/manage/{manage_token(credential_id)}"


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
