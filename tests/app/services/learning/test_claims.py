"""Names and claims: the name an educator confirms is the one signed (never one made from an
address), nothing is issued in their name before they confirm it, and a credential awarded by
email is claimed into the backpack with the visibility the recipient chose."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement,
    AuditEvent,
    Educator,
    Enrolment,
    IssuedCredential,
    Issuer,
    MagicLink,
)
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.awarding.naming import unsigned_document
from app.services.learning import claims, completion, educators, enrolments, partners, reviews
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.app.mail_helpers import body_of, delivered
from tests.app.portfolio_helpers import PDF, add_item, portfolio_badge
from tests.app.services.awarding.test_issuing import verify as verify_document
from tests.app.services.learning.test_learning_modules import answer_all, build

ANN = "ann.lee@school.example.org"
CLAIM_LINK = re.compile(re.escape(BASE_URL) + r"/me/claim/([0-9a-f-]{36})/([A-Za-z0-9_-]{43})")


def unnamed(email: str = ANN, name: str = "") -> Educator:
    """An educator who has not confirmed a name (a first sign-in, or one an issuer made)."""
    found = educators.create(email, name, service_env(), verified=True)
    db.session.commit()
    return found


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


def signed_names(credential: IssuedCredential) -> list[str]:
    """The names the signed credential gives its subject (OB 3.0: identifiers of type name)."""
    subject = json.loads(credential.document)["credentialSubject"]
    found = subject.get("identifier", [])
    return [i["identityHash"] for i in found if i["identityType"] == "name"]


def claim_link(address: str) -> tuple[str, str]:
    """The credential id and token of the latest claim link delivered to ``address``."""
    found = delivered(to=address, kind="award")
    assert found, f"no award mail to {address}"
    match = CLAIM_LINK.search(body_of(found[-1]))
    assert match, "the award mail has no claim link"
    return match.group(1), match.group(2)


# --- names ------------------------------------------------------------------------------------


def test_no_name_is_made_from_the_address(app) -> None:
    ann = unnamed("jordan.baker@school.example.org")
    assert ann.name == "" and ann.credential_name is None
    assert "jordan" not in ann.profile_slug
    named = educators.create("pat@school.example.org", "Pat Kim", service_env(), verified=True)
    assert named.name == "Pat Kim" and named.credential_name is None  # an issuer's, unconfirmed


def test_confirming_the_name_sets_both_and_is_audited(app) -> None:
    ann = unnamed()
    with pytest.raises(Conflict, match="Confirm the name"):
        claims.credential_name(ann)
    claims.confirm_name(ann, "  Ann   Lee ", "Dr. Ann M. Lee", service_env())
    assert (ann.name, ann.credential_name) == ("Ann Lee", "Dr. Ann M. Lee")
    assert claims.credential_name(ann) == "Dr. Ann M. Lee"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "educator.name_confirm")
    )
    assert event is not None and event.subject_id == str(ann.id)


@pytest.mark.parametrize(
    ("name", "signed", "field"),
    [
        (" ", "Ann Lee", "name"),
        ("Ann", "", "credential_name"),
        ("Ann", "x" * 201, "credential_name"),
    ],
)
def test_a_blank_or_long_name_is_refused(app, name: str, signed: str, field: str) -> None:
    ann = unnamed()
    with pytest.raises(Invalid) as refused:
        claims.confirm_name(ann, name, signed, service_env())
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.get(Educator, ann.id).credential_name is None  # type: ignore[union-attr]


def test_a_module_is_not_completed_before_the_name_is_confirmed(app, issuer, badge) -> None:
    module = build(issuer, badge, requires_partner=False)
    ann = unnamed(name="ann.lee")
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann)
    with pytest.raises(Conflict) as refused:
        completion.complete(enrolment, ann, [], service_env())
    assert refused.value.field == "credential_name"
    assert db.session.scalar(select(IssuedCredential.id)) is None
    assert db.session.get(Enrolment, enrolment.id).state == "in_progress"  # type: ignore[union-attr]


def test_the_confirmed_name_is_signed_and_the_credential_is_claimed(app, issuer, badge) -> None:
    module = build(issuer, badge, requires_partner=False)
    ann = unnamed(name="ann.lee")
    claims.confirm_name(ann, "Ann", "Ann M. Lee", service_env())
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann)
    completion.complete(enrolment, ann, [], service_env())
    credential = db.session.get(IssuedCredential, enrolment.credential_id)
    assert credential is not None and credential.recipient_name == "Ann M. Lee"
    assert signed_names(credential) == ["Ann M. Lee"]
    # Earned signed in: already in the backpack, so the award email asks no claim.
    assert credential.claimed_at == credential.issued_at
    assert "/me/claim/" not in body_of(delivered(to=ANN, kind="award")[-1])


def test_a_portfolio_submission_waits_for_the_name(app, issuer, make_achievement) -> None:
    badge = portfolio_badge(issuer, make_achievement, "Portfolio badge")
    ann = unnamed()
    item = add_item(ann, file=(PDF, "plan.pdf"))
    with pytest.raises(Conflict, match="Confirm the name"):
        reviews.submit(ann, badge, [item.public_id], "", service_env())
    claims.confirm_name(ann, "Ann Lee", "Ann Lee", service_env())
    assert reviews.submit(ann, badge, [item.public_id], "", service_env()).state == "submitted"


# --- claims -----------------------------------------------------------------------------------


def test_a_staff_award_without_a_name_is_issued_without_one_and_invites_a_claim(
    app, issuer, badge, make_award
) -> None:
    credential = make_award(issuer, badge, ANN)
    assert credential.recipient_name is None and credential.claimed_at is None
    assert signed_names(credential) == []
    credential_id, token = claim_link(ANN)
    assert credential_id == credential.id
    link = db.session.scalar(select(MagicLink).where(MagicLink.purpose == "claim"))
    assert link is not None and link.email == ANN and token not in link.token_hash


def test_the_claim_link_signs_the_recipient_in_once(app, issuer, badge, make_award) -> None:
    credential = make_award(issuer, badge, ANN)
    other = make_award(issuer, badge, "someone.else@school.example.org")
    credential_id, token = claim_link(ANN)
    with pytest.raises(Invalid, match="expired or has already been used"):
        educators.claim_sign_in(token, other.id, service_env())  # another credential's id
    ann = educators.claim_sign_in(token, credential_id, service_env())
    assert educators.verified_emails(ann) == [ANN] and ann.credential_name is None
    with pytest.raises(Invalid, match="expired or has already been used"):
        educators.claim_sign_in(token, credential_id, service_env())
    assert claims.unclaimed(ann) == [credential]


def test_claiming_sets_the_visibility_and_is_audited(app, issuer, badge, make_award) -> None:
    credential = make_award(issuer, badge, ANN)
    ann = unnamed()
    claimed = claims.claim(ann, credential, public=False, env=service_env(), add_name=False)
    assert claimed is True
    assert credential.claimed_at is not None and credential.is_private
    assert claims.unclaimed(ann) == []
    claimed_at = credential.claimed_at
    assert claims.claim(ann, credential, public=True, env=service_env()) is False
    assert credential.claimed_at == claimed_at and not credential.is_private
    assert signed_names(credential) == []  # a second claim signs nothing
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == credential.id)
    ).all()
    assert actions.count("credential.claim") == 1


def named(email: str = ANN, credential_name: str = "Ann M. Lee") -> Educator:
    ann = unnamed(email)
    claims.confirm_name(ann, "Ann", credential_name, service_env())
    return ann


@pytest.mark.parametrize("proof_format", ["di", "jwt"])
def test_claiming_signs_the_confirmed_name_into_an_unnamed_award(
    app, make_issuer, make_achievement, make_award, local_fetch, proof_format: str
) -> None:
    issuer = make_issuer(proof_format=proof_format)
    credential = make_award(issuer, make_achievement(issuer), ANN)
    unnamed_copy = credential.document
    before = unsigned_document(credential)
    assert claims.claim(named(), credential, public=True, env=service_env()) is True
    db.session.expire_all()
    stored = db.session.get(IssuedCredential, credential.id)
    assert stored is not None and stored.recipient_name == "Ann M. Lee"
    after = unsigned_document(stored)
    identifiers = after["credentialSubject"]["identifier"]
    assert {"type": "IdentityObject", "identityType": "name", "hashed": False,
            "identityHash": "Ann M. Lee"}.items() <= identifiers[-1].items()  # fmt: skip
    # The same credential: id, dates, status entry and hashed email all as awarded.
    identifiers.pop()
    assert after == before
    for document in (stored.document, unnamed_copy):  # both copies verify
        report = verify_document(document, local_fetch)
        assert report.valid, report.as_json()["checks"]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == credential.id)
    ).all()
    assert "credential.name_added" in actions and actions.count("credential.claim") == 1


def test_the_recipient_may_keep_an_award_without_a_name(app, issuer, badge, make_award) -> None:
    credential = make_award(issuer, badge, ANN)
    document = credential.document
    claims.claim(named(), credential, public=True, env=service_env(), add_name=False)
    assert credential.document == document and credential.recipient_name is None


def test_a_named_award_keeps_the_name_staff_signed(app, issuer, badge, make_award) -> None:
    credential = make_award(issuer, badge, ANN, name="Ann Lee")
    document = credential.document
    claims.claim(named(), credential, public=True, env=service_env())
    assert credential.document == document and signed_names(credential) == ["Ann Lee"]


def test_no_name_is_signed_before_it_is_confirmed(app, issuer, badge, make_award) -> None:
    credential = make_award(issuer, badge, ANN)
    document = credential.document
    with pytest.raises(Conflict, match="Confirm the name"):
        claims.claim(unnamed(), credential, public=True, env=service_env())
    db.session.rollback()
    assert credential.document == document and credential.claimed_at is None


def test_nobody_claims_what_is_not_theirs_nor_a_revoked_credential(
    app, issuer, badge, make_award
) -> None:
    credential = make_award(issuer, badge, ANN)
    stranger = unnamed("stranger@school.example.org")
    with pytest.raises(NotFound):
        claims.claim(stranger, credential, public=True, env=service_env())
    with pytest.raises(NotFound):
        claims.claimable(stranger, credential.id)
    credential.revoked_at = service_env().now  # as revocation does (its form is not the point)
    db.session.commit()
    ann = unnamed()
    with pytest.raises(Conflict, match="revoked"):
        claims.claim(ann, credential, public=True, env=service_env())
    assert credential.claimed_at is None


def test_a_partner_is_not_invited_by_someone_without_a_name(app, issuer, badge) -> None:
    module = build(issuer, badge, requires_partner=True)
    ann = unnamed()
    enrolment = enrolments.enrol(ann, module, service_env())
    with pytest.raises(Conflict, match="Confirm your name first"):
        partners.invite_partner(
            enrolment, ann, "Ben Partner", "ben@school.example.org", service_env()
        )
    assert not delivered(kind="partner_invite")
