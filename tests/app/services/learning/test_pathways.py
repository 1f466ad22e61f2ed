"""Pathways: holding N of a set of achievements earns another, automatically or after review,
counting only credentials that are current (not revoked, suspended or expired), awarded once,
through chains, after single awards and bulk jobs alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer, Submission
from app.services._core.errors import ServiceError
from app.services.awarding import bulk, issuing, revocation
from app.services.learning import educators, pathways, reviews
from app.services.org import achievements
from app.services.org.achievements import AwardRulesInput
from app.wiring import service_env
from credentials import schema_errors
from tests.app.portfolio_helpers import ACTOR, document, make_educator, verify

EMAIL = "ann.lee@school.example.org"


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def members(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> list[Achievement]:
    return [make_achievement(issuer, f"Coaching module {n}") for n in (1, 2, 3)]


def pathway(
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    members: list[Achievement],
    required: int,
    *,
    mode: str = "automatic",
    name: str = "Instructional Coach",
) -> Achievement:
    found = make_achievement(issuer, name, criteria_markdown="Earn the coaching module badges.")
    achievements.update_award_rules(
        found,
        AwardRulesInput(
            pathway_required=required,
            pathway_members=tuple(m.public_id for m in members),
            pathway_award_mode=mode,
        ),
        actor=ACTOR,
        env=service_env(),
    )
    return found


def held(achievement: Achievement, email: str = EMAIL) -> list[IssuedCredential]:
    return list(
        db.session.scalars(
            select(IssuedCredential).where(
                IssuedCredential.achievement_id == achievement.id,
                IssuedCredential.recipient_email == email,
            )
        )
    )


def move_clock(app: Flask, delta: timedelta) -> None:
    now = service_env().now + delta
    app.extensions["cairn.wiring"].clock = lambda: now


def test_n_of_m_is_awarded_when_the_nth_arrives_and_only_once(
    issuer, members, make_achievement, make_award, local_fetch
) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    make_award(issuer, members[0], EMAIL, name="Ann Lee")
    assert held(coach) == []
    make_award(issuer, members[1], EMAIL, name="Ann Lee")
    (awarded,) = held(coach)
    assert awarded.recipient_name == "Ann Lee"
    assert awarded.awarded_by_id is None  # awarded by the pathway, not by a person
    doc = document(awarded)
    assert doc["credentialSubject"]["achievement"]["name"] == "Instructional Coach"
    assert schema_errors(doc) == []
    assert verify(awarded, local_fetch).valid
    make_award(issuer, members[2], EMAIL)
    assert len(held(coach)) == 1  # no second award
    assert held(coach, "someone.else@school.example.org") == []


def test_other_recipients_do_not_add_up(issuer, members, make_achievement, make_award) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    make_award(issuer, members[0], EMAIL)
    make_award(issuer, members[1], "bob@school.example.org")
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential).where(
        IssuedCredential.achievement_id == coach.id)) == 0  # fmt: skip


def test_revoked_and_suspended_members_do_not_count(
    issuer, members, make_achievement, make_award
) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    first = make_award(issuer, members[0], EMAIL)
    revocation.revoke(first, "Awarded in error", actor=ACTOR, env=service_env())
    second = make_award(issuer, members[1], EMAIL)
    assert held(coach) == []
    revocation.suspend(second, "Under investigation", actor=ACTOR, env=service_env())
    make_award(issuer, members[2], EMAIL)
    assert held(coach) == []
    # Lifting the suspension does not award by itself; the next award is checked again.
    revocation.unsuspend(second, "Cleared", actor=ACTOR, env=service_env())
    make_award(issuer, members[0], EMAIL)
    assert len(held(coach)) == 1


def test_expired_members_do_not_count(app, issuer, members, make_achievement, make_award) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    make_award(issuer, members[0], EMAIL, valid_until=service_env().now + timedelta(days=1))
    move_clock(app, timedelta(days=2))
    make_award(issuer, members[1], EMAIL)
    assert held(coach) == []
    make_award(issuer, members[2], EMAIL)
    assert len(held(coach)) == 1


def test_credentials_at_any_confirmed_address_count(
    issuer, members, make_achievement, make_award
) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    ann = make_educator(EMAIL)
    personal = educators.add_email(ann, "ann@personal.example.org", service_env())
    make_award(issuer, members[0], "ann@personal.example.org")
    make_award(issuer, members[1], EMAIL)
    assert held(coach) == []  # the personal address is not confirmed yet: it proves nothing
    personal.verified_at = service_env().now
    db.session.commit()
    make_award(issuer, members[2], "ann@personal.example.org")
    assert len(held(coach, "ann@personal.example.org")) == 1
    make_award(issuer, members[0], EMAIL)  # holds it at the other address: not again
    assert held(coach, EMAIL) == []


def test_review_mode_queues_a_submission_once(
    issuer, members, make_achievement, make_award, make_staff
) -> None:
    coach = pathway(issuer, make_achievement, members, 2, mode="review")
    make_award(issuer, members[0], EMAIL, name="Ann Lee")
    make_award(issuer, members[1], EMAIL, name="Ann Lee")
    assert held(coach) == []
    (queued,) = pathways.open_reviews(issuer)
    assert (queued.origin, queued.state, queued.achievement_id) == (
        "pathway",
        "submitted",
        coach.id,
    )
    educator = educators.find_by_email(EMAIL)
    assert educator is not None and educator.name == "Ann Lee"
    assert educators.verified_emails(educator) == []  # created for the review, not confirmed
    make_award(issuer, members[2], EMAIL)
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    reviews.decide(queued, make_staff(), "approve", "Welcome, coach.", {}, service_env())
    assert [c.id for c in held(coach)] == [queued.credential_id]
    assert pathways.open_reviews(issuer) == []


def test_review_mode_uses_an_existing_educator(
    issuer, members, make_achievement, make_award
) -> None:
    ann = make_educator(EMAIL)
    pathway(issuer, make_achievement, members, 1, mode="review")
    make_award(issuer, members[0], EMAIL)
    (queued,) = pathways.open_reviews(issuer)
    assert queued.educator_id == ann.id
    assert reviews.get_for_educator(ann, queued.public_id) is queued


def test_chains_award_every_completed_pathway(
    issuer, members, make_achievement, make_award
) -> None:
    coach = pathway(issuer, make_achievement, members[:1], 1)
    mentor = pathway(issuer, make_achievement, [coach], 1, name="Instructional Mentor")
    leader = pathway(issuer, make_achievement, [mentor, members[1]], 2, name="Coaching Leader")
    make_award(issuer, members[0], EMAIL)
    assert len(held(coach)) == len(held(mentor)) == 1
    assert held(leader) == []
    make_award(issuer, members[1], EMAIL)
    assert len(held(leader)) == 1


def test_a_cycle_ends(issuer, make_achievement, make_award) -> None:
    first = make_achievement(issuer, "First")
    second = pathway(issuer, make_achievement, [first], 1, name="Second")
    achievements.update_award_rules(
        first, AwardRulesInput(pathway_required=1, pathway_members=(second.public_id,)),
        actor=ACTOR, env=service_env(),
    )  # fmt: skip
    make_award(issuer, first, EMAIL)
    assert len(held(second)) == 1 and len(held(first)) == 1


def test_archived_pathways_are_not_awarded(issuer, members, make_achievement, make_award) -> None:
    coach = pathway(issuer, make_achievement, members, 1)
    achievements.set_archived(coach, True, actor=ACTOR, env=service_env())
    make_award(issuer, members[0], EMAIL)
    assert held(coach) == []


def test_a_pathway_that_cannot_be_signed_does_not_undo_the_award(
    issuer, members, make_achievement, make_award, monkeypatch
) -> None:
    coach = pathway(issuer, make_achievement, members, 1)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ServiceError("The key is unavailable.")

    # Only the pathway's award breaks (pathways' own reference to the issuing module).
    monkeypatch.setattr(pathways, "issuing", SimpleNamespace(award=broken, holders=issuing.holders))
    credential = make_award(issuer, members[0], EMAIL)
    assert db.session.get(IssuedCredential, credential.id) is not None
    assert held(coach) == []


def test_bulk_jobs_award_pathways(issuer, members, make_achievement, make_award) -> None:
    coach = pathway(issuer, make_achievement, members, 2)
    make_award(issuer, members[0], EMAIL)
    make_award(issuer, members[0], "bob@school.example.org")
    data = f"email,name\n{EMAIL},Ann Lee\nbob@school.example.org,Bob\ncy@school.example.org,Cy\n"
    job = bulk.create_job(issuer, members[1], filename="cohort.csv", data=data.encode(),
                          actor=ACTOR, env=service_env(), max_rows=100)  # fmt: skip
    bulk.confirm(job, actor=ACTOR, env=service_env())  # jobs run inline in tests
    assert len(held(members[1], "cy@school.example.org")) == 1
    assert len(held(coach)) == len(held(coach, "bob@school.example.org")) == 1
    assert held(coach, "cy@school.example.org") == []


def test_credentials_no_pathway_names_are_not_reloaded(
    issuer, members, make_achievement, make_award
) -> None:
    # A bulk chunk's 250 credentials are expired by its commit: finding out that no pathway
    # names their achievement must not reload them one by one (it did: a query each).
    from sqlalchemy import event

    pathway(issuer, make_achievement, members, 2)
    elsewhere = make_achievement(issuer, "Not in any pathway")
    for n in range(20):
        make_award(issuer, elsewhere, f"p{n}@school.example.org")
    stored = list(db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.achievement_id == elsewhere.id)
    ))  # fmt: skip
    assert len(stored) == 20
    db.session.commit()  # expires them, as the bulk chunk's commit does
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert pathways.after_awards(stored, service_env()) == []
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    credential_reads = [s for s in statements if "FROM issued_credential" in s]
    assert len(credential_reads) == 1, credential_reads  # their achievements, in one query


def test_pathways_name_only_the_issuers_own_achievements(
    issuer, members, make_issuer, make_achievement
) -> None:
    other = make_achievement(make_issuer("Coaching Collective", slug="coaching"), "Theirs")
    coach = make_achievement(issuer, "Coach")
    for rules, message in [
        (AwardRulesInput(pathway_required=1, pathway_members=(other.public_id,)), "this organisation"),
        (AwardRulesInput(pathway_required=1, pathway_members=(coach.public_id,)), "itself"),
        (AwardRulesInput(pathway_required=3, pathway_members=(members[0].public_id,)), "how many of the 1"),
        (AwardRulesInput(pathway_required=0, pathway_members=(members[0].public_id,)), "how many"),
        (AwardRulesInput(pathway_required=1), "Choose the achievements"),
        (AwardRulesInput(pathway_award_mode="sometimes"), "automatically or after review"),
    ]:  # fmt: skip
        with pytest.raises(ServiceError, match=message):
            achievements.update_award_rules(coach, rules, actor=ACTOR, env=service_env())
    assert achievements.current_version(coach).version == 1


def test_an_issuer_without_pathways_is_checked_in_one_query(
    issuer, members, make_achievement, make_award
) -> None:
    # Most awards are of issuers with no pathway at all: the check after each batch of single
    # awards (grouping) asks one question and nothing more (it asked four).
    from sqlalchemy import event

    stored = [make_award(issuer, members[0], f"q{n}@school.example.org") for n in range(3)]
    db.session.commit()  # expires them, as the batch's commit does
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert pathways.after_awards(stored, service_env()) == []
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(statements) == 1, statements
    # With a pathway elsewhere in the issuer, the full check runs (and awards nothing here).
    pathway(issuer, make_achievement, members[1:], 1)
    db.session.commit()
    assert pathways.after_awards(stored, service_env()) == []
