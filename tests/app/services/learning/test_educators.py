"""Educator service: single-use, short-lived sign-in links stored as hashes; addresses that are
confirmed only by their owner; the primary address; the backpack and the public profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, Educator, EducatorEmail, IssuedCredential, Issuer, MagicLink
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.awarding import revocation
from app.services.delivery import visibility
from app.services.learning import educators
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.educator.educator_helpers import count, latest_mail, make_educator, token_from_mail

ANN = "ann.lee@school.example.org"
ANN_HOME = "ann@home.example.net"
BOB = "bob@school.example.org"


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def achievement(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


def later(minutes: float) -> ServiceEnv:
    return service_env().at(service_env().now + timedelta(minutes=minutes))


# --- Sign-in links --------------------------------------------------------------------------


def test_a_sign_in_link_is_stored_only_as_its_hash(app: Flask) -> None:
    educators.request_sign_in(f"  {ANN.upper()} ", service_env())
    token = token_from_mail(ANN)
    link = db.session.scalar(select(MagicLink))
    assert link is not None and link.email == ANN and link.purpose == "sign_in"
    assert token not in link.token_hash and link.token_hash == educators._hash(token)
    assert link.expires_at - link.created_at == timedelta(minutes=educators.SIGN_IN_MINUTES)


def test_the_first_sign_in_creates_the_account_with_a_confirmed_address(app: Flask) -> None:
    educators.request_sign_in(ANN, service_env())
    educator = educators.sign_in(token_from_mail(ANN), service_env())
    assert educators.verified_emails(educator) == [ANN]
    assert educator.last_login_at is not None
    # Nothing is made from the address: no name until they give one, none on credentials
    # until they confirm it (the slug is a neutral one, not "ann-lee-…").
    assert educator.name == "" and educator.credential_name is None
    assert educator.profile_slug.startswith("educator-")


def test_a_sign_in_link_works_once(app: Flask) -> None:
    educator = make_educator(ANN)
    educators.request_sign_in(ANN, service_env())
    token = token_from_mail(ANN)
    assert educators.sign_in(token, service_env()).id == educator.id
    with pytest.raises(ServiceError, match="expired or has already been used"):
        educators.sign_in(token, service_env())


def test_a_sign_in_link_expires(app: Flask) -> None:
    make_educator(ANN)
    educators.request_sign_in(ANN, service_env(), minutes=10)
    token = token_from_mail(ANN)
    assert "for 10 minutes" in latest_mail(ANN, "sign_in").body_text
    with pytest.raises(ServiceError, match="expired"):
        educators.sign_in(token, later(10.5))
    # Refused without being used up: in time, the same link still works.
    assert educators.sign_in(token, later(9))


def test_an_unknown_token_is_refused(app: Flask) -> None:
    with pytest.raises(ServiceError):
        educators.sign_in("not-a-token", service_env())


def test_a_pending_address_does_not_open_its_owners_account(app: Flask) -> None:
    """Bob added Ann's address but never confirmed it; Ann signing in with it gets her own
    account, and the address leaves Bob's."""
    bob = make_educator(BOB, "Bob")
    educators.add_email(bob, ANN, service_env())
    educators.request_sign_in(ANN, service_env())
    ann = educators.sign_in(token_from_mail(ANN), service_env())
    assert ann.id != bob.id
    assert educators.verified_emails(ann) == [ANN]
    db.session.refresh(bob)
    assert [e.email for e in bob.emails] == [BOB]


def test_an_unclaimed_account_made_for_an_address_is_claimed_by_signing_in(app: Flask) -> None:
    placeholder = educators.create(ANN, "Ann", service_env(), verified=False)
    db.session.commit()
    educators.request_sign_in(ANN, service_env())
    assert educators.sign_in(token_from_mail(ANN), service_env()).id == placeholder.id
    assert educators.verified_emails(placeholder) == [ANN]


# --- Addresses ------------------------------------------------------------------------------


def test_an_added_address_is_confirmed_by_its_link_for_its_educator_only(app: Flask) -> None:
    ann = make_educator(ANN)
    bob = make_educator(BOB, "Bob")
    educators.add_email(ann, ANN_HOME, service_env())
    token = token_from_mail(ANN_HOME, "verify_email")
    assert educators.verified_emails(ann) == [ANN]
    with pytest.raises(ServiceError, match="another Cairn account"):
        educators.verify_email(token, service_env(), educator=bob)
    row = educators.verify_email(token, service_env(), educator=ann)
    assert row.educator_id == ann.id and row.verified_at is not None
    assert set(educators.verified_emails(ann)) == {ANN, ANN_HOME}
    with pytest.raises(ServiceError, match="already been used"):
        educators.verify_email(token, service_env(), educator=ann)


def test_an_address_confirmed_elsewhere_cannot_be_added(app: Flask) -> None:
    ann = make_educator(ANN)
    make_educator(BOB, "Bob")
    with pytest.raises(Conflict, match="another Cairn account"):
        educators.add_email(ann, BOB, service_env())
    with pytest.raises(Conflict, match="already confirmed on your account"):
        educators.add_email(ann, ANN, service_env())
    assert count(EducatorEmail) == 2


def test_a_squatted_pending_address_moves_to_whoever_adds_it_next(app: Flask) -> None:
    ann = make_educator(ANN)
    bob = make_educator(BOB, "Bob")
    educators.add_email(bob, ANN_HOME, service_env())
    bobs_token = token_from_mail(ANN_HOME, "verify_email")
    educators.add_email(ann, ANN_HOME, service_env())
    with pytest.raises(ServiceError):
        educators.verify_email(bobs_token, service_env(), educator=bob)
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    assert ANN_HOME in educators.verified_emails(ann)
    assert ANN_HOME not in educators.verified_emails(bob)


def test_removing_addresses(app: Flask) -> None:
    ann = make_educator(ANN)
    bob = make_educator(BOB, "Bob")
    only = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == ANN))
    assert only is not None
    with pytest.raises(Conflict, match="at least one confirmed address"):
        educators.remove_email(ann, only.id, service_env())
    with pytest.raises(NotFound):
        educators.remove_email(bob, only.id, service_env())
    assert count(EducatorEmail) == 2


def test_the_primary_address_comes_first_until_it_is_removed(app: Flask) -> None:
    ann = make_educator(ANN)
    educators.add_email(ann, ANN_HOME, service_env())
    home = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == ANN_HOME))
    assert home is not None
    with pytest.raises(Conflict, match="Confirm the address"):
        educators.set_primary(ann, home.id, service_env())
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    assert educators.primary_email(ann) == ANN
    educators.set_primary(ann, home.id, service_env())
    assert educators.primary_email(ann) == ANN_HOME
    assert educators.verified_emails(ann) == [ANN_HOME, ANN]
    educators.remove_email(ann, home.id, service_env())
    assert ann.primary_email is None and educators.primary_email(ann) == ANN


def test_update_account(app: Flask) -> None:
    ann = make_educator(ANN)
    educators.update_account(
        ann, name="Ann B. Lee", bio="Year 4 teacher", profile_public=True, env=service_env()
    )
    db.session.refresh(ann)
    assert (ann.name, ann.bio, ann.profile_public) == ("Ann B. Lee", "Year 4 teacher", True)


# --- Backpack and profile -------------------------------------------------------------------


def test_the_backpack_holds_credentials_sent_to_any_confirmed_address(
    app: Flask,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    ann = make_educator(ANN)
    at_school = make_award(issuer, achievement, ANN)
    at_home = make_award(issuer, achievement, ANN_HOME)
    educators.add_email(ann, ANN_HOME, service_env())
    assert [e.credential.id for e in educators.backpack(ann)] == [at_school.id]
    with pytest.raises(NotFound):
        educators.get_credential(ann, at_home.id)
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    assert {e.credential.id for e in educators.backpack(ann)} == {at_school.id, at_home.id}
    assert educators.get_credential(ann, at_home.id).id == at_home.id
    entry = educators.backpack(ann)[0]
    assert entry.name == achievement.versions[-1].name and entry.issuer_name == issuer.name


def test_nobody_else_reaches_a_credential(
    app: Flask,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    make_educator(ANN)
    bob = make_educator(BOB, "Bob")
    anns = make_award(issuer, achievement, ANN)
    with pytest.raises(NotFound):
        educators.get_credential(bob, anns.id)
    with pytest.raises(NotFound):
        educators.set_show_on_profile(bob, anns, True, service_env())
    assert not db.session.get(IssuedCredential, anns.id).show_on_profile  # type: ignore[union-attr]


def test_the_profile_lists_chosen_public_credentials_in_good_standing(
    app: Flask,
    issuer: Issuer,
    achievement: Achievement,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    ann = make_educator(ANN)
    shown = make_award(issuer, achievement, ANN)
    hidden = make_award(issuer, make_achievement(issuer, "Not chosen"), ANN)
    private = make_award(issuer, make_achievement(issuer, "Private one"), ANN)
    revoked = make_award(issuer, make_achievement(issuer, "Revoked one"), ANN)
    for credential in (shown, private, revoked):
        educators.set_show_on_profile(ann, credential, True, service_env())
    visibility.set_private(private, True, actor=educators.actor(ann), env=service_env())
    revocation.revoke(revoked, "Awarded by mistake", actor=Actor(label="test"), env=service_env())

    with pytest.raises(NotFound):
        educators.public_profile(ann.profile_slug)  # off by default
    educators.update_account(ann, name=ann.name, bio=None, profile_public=True, env=service_env())
    found, entries = educators.public_profile(ann.profile_slug)
    assert found.id == ann.id
    assert [e.credential.id for e in entries] == [shown.id]
    assert hidden.id not in {e.credential.id for e in entries}
    with pytest.raises(NotFound):
        educators.public_profile("no-such-person")


def test_an_educator_is_found_by_any_address(app: Flask) -> None:
    ann = make_educator(ANN)
    found = educators.find_by_email(" Ann.Lee@School.Example.org ")
    assert isinstance(found, Educator) and found.id == ann.id
