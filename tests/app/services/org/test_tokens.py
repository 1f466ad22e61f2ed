"""API tokens: shown once and stored hashed, scopes bounded by the creator's role at creation
and at every use, expiry and revocation, and audit events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditEvent
from app.services._core.errors import Forbidden, Invalid, NotFound
from app.services.org import staff, tokens
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.forgeries import tampered


@pytest.fixture
def owner_and_issuer(make_staff, make_issuer):
    owner = make_staff("owner@a.example.org")
    return owner, make_issuer("Issuer A", owner=owner)


def make(issuer, creator, scopes=("achievements:read",), **kwargs):
    return tokens.create(issuer, creator=creator, name=kwargs.pop("name", "LMS"), scopes=scopes,
                         expires_at=kwargs.pop("expires_at", None), actor=Actor(creator), env=service_env())  # fmt: skip


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(owner_and_issuer) -> None:
    owner, issuer = owner_and_issuer
    made = make(issuer, owner, ("awards:write", "achievements:read"))
    assert made.secret.startswith("cairn_") and len(made.secret) > 50
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == tokens.hash_secret(made.secret)
    assert made.secret not in (stored.token_hash, stored.hint)
    assert stored.scopes == ["achievements:read", "awards:write"]  # canonical order
    assert tokens.authenticate(made.secret, env=service_env()).id == stored.id
    assert tokens.authenticate(tampered(made.secret), env=service_env()) is None
    assert tokens.authenticate("not a token", env=service_env()) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.detail["scopes"] == ["achievements:read", "awards:write"]
    assert made.secret not in str(event.detail)


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [("", ("achievements:read",), "name"), ("x" * 101, ("achievements:read",), "name"),
     ("LMS", (), "scopes"), ("LMS", ("everything",), "scopes")],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_is_stored(owner_and_issuer, name, scopes, field) -> None:
    owner, issuer = owner_and_issuer
    with pytest.raises(Invalid) as refused:
        make(issuer, owner, scopes, name=name)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(ApiToken)) is None


def test_an_expiry_in_the_past_is_refused(owner_and_issuer) -> None:
    owner, issuer = owner_and_issuer
    with pytest.raises(Invalid):
        make(issuer, owner, expires_at=service_env().now - timedelta(seconds=1))


def test_a_scope_beyond_the_creators_role_is_refused(owner_and_issuer, make_staff) -> None:
    owner, issuer = owner_and_issuer
    awarder = make_staff("awarder@a.example.org")
    staff.set_role(issuer, awarder, "awarder", actor=Actor(owner), env=service_env())
    make(issuer, awarder, ("awards:write", "credentials:revoke"))
    with pytest.raises(Forbidden):
        make(issuer, awarder, ("achievements:write",))
    outsider = make_staff("out@b.example.org")
    with pytest.raises(NotFound):
        make(issuer, outsider, ("achievements:read",))


def test_a_demoted_or_removed_creators_token_loses_the_power(owner_and_issuer, make_staff) -> None:
    owner, issuer = owner_and_issuer
    editor = make_staff("editor@a.example.org")
    staff.set_role(issuer, editor, "editor", actor=Actor(owner), env=service_env())
    token = make(issuer, editor, ("achievements:write", "achievements:read")).token
    tokens.require_scope(token, issuer, "achievements:write")
    with pytest.raises(Forbidden):
        tokens.require_scope(token, issuer, "awards:write")  # not among its scopes
    staff.set_role(issuer, editor, "viewer", actor=Actor(owner), env=service_env())
    with pytest.raises(Forbidden):
        tokens.require_scope(token, issuer, "achievements:write")
    tokens.require_scope(token, issuer, "achievements:read")
    staff.set_role(issuer, editor, None, actor=Actor(owner), env=service_env())
    with pytest.raises(Forbidden):
        tokens.require_scope(token, issuer, "achievements:read")


def test_another_issuers_token_is_refused(owner_and_issuer, make_staff, make_issuer) -> None:
    owner, issuer = owner_and_issuer
    other = make_issuer("Issuer B", owner=make_staff("b@b.example.org"))
    token = make(issuer, owner).token
    with pytest.raises(Forbidden):
        tokens.require_scope(token, other, "achievements:read")


def test_revoked_and_expired_tokens_do_not_authenticate(owner_and_issuer) -> None:
    owner, issuer = owner_and_issuer
    env = service_env()
    revoked = make(issuer, owner)
    tokens.revoke(revoked.token, actor=Actor(owner), env=env)
    tokens.revoke(revoked.token, actor=Actor(owner), env=env)  # idempotent
    assert tokens.authenticate(revoked.secret, env=env) is None
    expiring = make(issuer, owner, expires_at=env.now + timedelta(hours=1))
    later = env.__class__(**{**env.__dict__, "now": env.now + timedelta(hours=2)})
    assert tokens.authenticate(expiring.secret, env=env) is not None
    assert tokens.authenticate(expiring.secret, env=later) is None
    revocations = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api_token.revoke")
    ).all()
    assert len(revocations) == 1


def test_a_disabled_creators_token_does_not_authenticate(owner_and_issuer, make_staff) -> None:
    owner, issuer = owner_and_issuer
    made = make(issuer, owner)
    admin = make_staff("admin@example.org", admin=True)
    staff.set_active(owner, False, actor=Actor(admin), env=service_env())
    assert tokens.authenticate(made.secret, env=service_env()) is None


def test_the_actor_names_the_token(owner_and_issuer) -> None:
    owner, issuer = owner_and_issuer
    token = make(issuer, owner, name="Moodle").token
    actor = tokens.actor_for(token)
    assert actor.staff_id == owner.id
    assert token.public_id in actor.label and "Moodle" in actor.label
