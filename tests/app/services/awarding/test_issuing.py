"""Awarding: signed once, stored as issued, verifiable against the running app's DID."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, StatusAllocation
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.awarding import issuing, revocation, status_lists
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.org import issuers
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import StatusList, schema_errors, verify_credential

ACTOR = Actor(label="test")


def verify(document: str, fetch: Callable[[str], bytes], **kwargs: Any) -> Any:
    env = service_env()
    return verify_credential(
        document, loader=env.loader, now=env.now + timedelta(seconds=1), fetch=fetch, **kwargs
    )


def test_award_is_valid_schema_clean_and_verifiable(
    make_issuer, make_achievement, make_award, local_fetch
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, learning_outcomes=("Use exit tickets",), credits_available=2.5,
                                   alignments=({"target_name": "Analyst", "target_url": "https://iste.org/x"},))  # fmt: skip
    credential = make_award(
        issuer, achievement, "Teacher@School.example.org", name="Ann Lee", narrative="Did it all.",
        evidence=(EvidenceInput(url="https://portfolio.example.org/ann", narrative="Exit tickets"),),
    )  # fmt: skip
    document = json.loads(credential.document)
    assert document["id"] == f"https://badges.example.org/credentials/{credential.id}"
    assert (
        document["issuer"]["id"]
        == "did:web:badges.example.org:issuers:district-7-professional-learning"
    )
    assert document["credentialStatus"]["statusListIndex"] == str(credential.status_index)
    assert schema_errors(document) == []
    report = verify(credential.document, local_fetch, recipient="teacher@school.example.org")
    assert report.valid, report.as_json()["checks"]
    assert report.check("issuer_key").status == "pass"
    assert report.check("status").status == "pass"
    assert credential.recipient_email == "teacher@school.example.org"
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 1
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "credential.issue" in actions


def test_stored_document_is_what_is_served(
    make_issuer, make_achievement, make_award, client
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer))
    served = client.get(f"/credentials/{credential.id}")
    assert served.get_data(as_text=True) == credential.document


def test_jwt_issuers_sign_vc_jwt(make_issuer, make_achievement, make_award, local_fetch) -> None:
    issuer = make_issuer(proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer))
    assert credential.document.count(".") == 2
    report = verify(credential.document, local_fetch)
    assert report.format == "jwt" and report.valid, report.as_json()["checks"]
    assert report.check("issuer_key").status == "pass"


def test_revocation_flips_exactly_that_bit(
    make_issuer, make_achievement, make_award, local_fetch, client
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    first, second = (
        make_award(issuer, achievement, "a@school.example.org"),
        make_award(issuer, achievement, "b@school.example.org"),
    )
    before = StatusList.decode(
        json.loads(client.get(f"/status/{issuer.slug}/revocation").data)["credentialSubject"][
            "encodedList"
        ]
    )
    revocation.revoke(first, "Awarded in error", actor=ACTOR, env=service_env())
    after_document = json.loads(client.get(f"/status/{issuer.slug}/revocation").data)
    after = StatusList.decode(after_document["credentialSubject"]["encodedList"])
    assert before.count_set() == 0 and after.count_set() == 1
    assert after.get(first.status_index) and not after.get(second.status_index)
    assert verify(first.document, local_fetch).check("status").code == "revoked"
    assert verify(second.document, local_fetch).valid
    with pytest.raises(Conflict):
        revocation.revoke(first, "again", actor=ACTOR, env=service_env())
    with pytest.raises(ServiceError):
        revocation.revoke(second, "   ", actor=ACTOR, env=service_env())


def test_status_list_is_resigned_only_when_a_bit_changes(
    make_issuer, make_achievement, make_award
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer))
    row = status_lists.get_list(issuer, "suspension")
    version, document = row.version, row.document
    assert not status_lists.set_bit(
        issuer, "suspension", credential.status_index, False, service_env()
    )
    assert (row.version, row.document) == (version, document)
    revocation.suspend(credential, "Under review", actor=ACTOR, env=service_env())
    assert status_lists.get_list(issuer, "suspension").version == version + 1


def test_suspension_and_unsuspension(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer))
    revocation.suspend(credential, "Complaint under review", actor=ACTOR, env=service_env())
    assert status_lists.is_set(issuer, "suspension", credential.status_index)
    with pytest.raises(Conflict):
        revocation.suspend(credential, "again", actor=ACTOR, env=service_env())
    revocation.unsuspend(credential, "Review closed", actor=ACTOR, env=service_env())
    assert not status_lists.is_set(issuer, "suspension", credential.status_index)
    assert credential.suspended_at is None


def test_replace_issues_a_corrected_credential_and_revokes_the_old(
    make_issuer, make_achievement, make_award, local_fetch
) -> None:
    issuer = make_issuer()
    old = make_award(issuer, make_achievement(issuer), name="Ann Le")
    new = revocation.replace(old, AwardInput(email=old.recipient_email, name="Ann Lee"), "Name was misspelt",
                             actor=ACTOR, env=service_env())  # fmt: skip
    assert old.revoked_at is not None and old.replaced_by_id == new.id
    assert new.id in (old.revocation_reason or "")
    assert verify(old.document, local_fetch).check("status").code == "revoked"
    assert verify(new.document, local_fetch).valid
    assert json.loads(new.document)["awardedDate"] == json.loads(old.document)["awardedDate"]


def test_key_rotation_keeps_old_credentials_verifiable(
    make_issuer, make_achievement, make_award, local_fetch, client
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    before = make_award(issuer, achievement, "a@school.example.org")
    old_key = issuers.active_key(issuer, "ed25519")
    new_key = issuers.rotate_key(issuer, "ed25519", actor=ACTOR, env=service_env())
    after = make_award(issuer, achievement, "b@school.example.org")
    assert json.loads(after.document)["proof"][0]["verificationMethod"].endswith("#" + new_key.kid)
    assert json.loads(before.document)["proof"][0]["verificationMethod"].endswith("#" + old_key.kid)
    did = client.get(f"/issuers/{issuer.slug}/did.json").json
    assert len(did["assertionMethod"]) == 3  # old and new Ed25519, one P-256
    assert verify(before.document, local_fetch).valid
    assert verify(after.document, local_fetch).valid


def test_random_distinct_status_indices(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    indices = [
        make_award(issuer, achievement, f"t{i}@school.example.org").status_index for i in range(12)
    ]
    assert len(set(indices)) == 12
    assert indices != sorted(indices) or max(indices) - min(indices) > 1000, (
        "indices must not be sequential"
    )
    allocated = set(db.session.scalars(select(StatusAllocation.status_index)))
    assert set(indices) <= allocated


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (AwardInput(email="not-an-email"), "email"),
        (
            AwardInput(
                email="a@b.example", valid_until=None, no_expiry=False, evidence=(EvidenceInput(),)
            ),
            None,
        ),
    ],
)
def test_bad_awards_store_nothing(
    make_issuer, make_achievement, data: AwardInput, field: str | None
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    with pytest.raises(ServiceError) as info:
        issuing.award(issuer, achievement, data, actor=ACTOR, env=service_env())
    if field:
        assert info.value.field == field
    from app.models import IssuedCredential

    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def test_past_expiry_is_refused(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    env = service_env()
    with pytest.raises(ServiceError, match="future"):
        issuing.award(issuer, make_achievement(issuer), AwardInput(email="a@b.example", valid_until=env.now - timedelta(days=1)),
                      actor=ACTOR, env=env)  # fmt: skip


def test_awards_cannot_cross_issuers(make_issuer, make_achievement) -> None:
    one, other = make_issuer("One"), make_issuer("Other")
    with pytest.raises(NotFound):
        issuing.award(
            one,
            make_achievement(other),
            AwardInput(email="a@b.example"),
            actor=ACTOR,
            env=service_env(),
        )


def test_archived_achievements_cannot_be_awarded(make_issuer, make_achievement) -> None:
    from app.services.org import achievements

    issuer = make_issuer()
    achievement = make_achievement(issuer)
    achievements.set_archived(achievement, True, actor=ACTOR, env=service_env())
    with pytest.raises(Conflict):
        issuing.award(
            issuer, achievement, AwardInput(email="a@b.example"), actor=ACTOR, env=service_env()
        )


def test_default_validity_and_overrides(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, default_validity_days=365)
    default = make_award(issuer, achievement, "a@b.example")
    assert (
        default.valid_until is not None and (default.valid_until - default.valid_from).days == 365
    )
    never = make_award(issuer, achievement, "b@b.example", no_expiry=True)
    assert never.valid_until is None and "validUntil" not in json.loads(never.document)


@pytest.mark.parametrize(("count", "free"), [(1, 6), (3, 7), (40, 41)])
def test_allocation_finds_the_last_free_indices_and_then_refuses(
    make_issuer, monkeypatch: pytest.MonkeyPatch, count: int, free: int
) -> None:
    """A small allocation guesses before reading the used indices; in a nearly full list its
    guesses meet taken ones, and it must still find only free ones, then say full."""
    issuer = make_issuer()
    monkeypatch.setattr(status_lists, "LIST_LENGTH", 64)
    env = service_env()
    free_indices = set(range(0, 64, 64 // free)) if free <= 8 else set(range(64 - free, 64))
    free_indices = set(sorted(free_indices)[:free])
    db.session.add_all(
        StatusAllocation(issuer_id=issuer.id, status_index=i, allocated_at=env.now)
        for i in range(64)
        if i not in free_indices
    )
    db.session.commit()
    got: list[int] = []
    for _ in range(free // count):
        got += status_lists.allocate(issuer, count, env)
    assert len(got) == len(set(got)) == free - free % count
    assert set(got) <= free_indices
    with pytest.raises(Conflict, match="full"):
        status_lists.allocate(issuer, free % count + 1, env)


def test_holders_are_those_with_an_unrevoked_credential_of_that_achievement(
    make_issuer, make_achievement, make_award
) -> None:
    """The duplicate check of bulk jobs and pathways (on PostgreSQL a lookup per address):
    revoked credentials, other achievements and other issuers do not count; an address asked
    twice is answered once; none asked, none held."""
    issuer, other_issuer = make_issuer(), make_issuer("Other District", slug="other")
    badge, other_badge = make_achievement(issuer), make_achievement(issuer, "Another Badge")
    theirs = make_achievement(other_issuer)
    make_award(issuer, badge, "held@d7.example.org")
    revoked = make_award(issuer, badge, "revoked@d7.example.org")
    revocation.revoke(revoked, "Awarded by mistake", actor=ACTOR, env=service_env())
    make_award(issuer, other_badge, "other-badge@d7.example.org")
    make_award(other_issuer, theirs, "other-issuer@d7.example.org")
    asked = ["held@d7.example.org", "revoked@d7.example.org", "other-badge@d7.example.org",
             "other-issuer@d7.example.org", "nobody@d7.example.org", "held@d7.example.org"]  # fmt: skip
    assert issuing.holders(issuer, badge, asked) == {"held@d7.example.org"}
    assert issuing.holders(issuer, other_badge, asked) == {"other-badge@d7.example.org"}
    assert issuing.holders(other_issuer, theirs, asked) == {"other-issuer@d7.example.org"}
    assert issuing.holders(issuer, badge, []) == set()
