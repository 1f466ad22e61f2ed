"""Assessors' queues: the open stages given to a staff member or a peer assessor, with their
due times, and what a lead assessor has to decide; a peer opens only a submission in their
queue (never their own nor their learning partner's)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AssessmentStage,
    AssessorPoolMember,
    Educator,
    Issuer,
    StaffAccount,
    Submission,
)
from app.services._core.errors import NotFound, required
from app.services.learning import assessors, calibration
from app.services.org import achievements


@dataclass(frozen=True)
class QueueRow:
    """One open stage in an assessor's queue."""

    stage: AssessmentStage
    submission: Submission
    member: AssessorPoolMember | None
    achievement: Achievement
    version: AchievementVersion
    educator: Educator
    #: Scored blind by two (this assessor is one of them).
    double: bool


def _rows(
    found: list[tuple[AssessmentStage, Submission]],
    member_by_achievement: dict[int, AssessorPoolMember],
) -> list[QueueRow]:
    rows = []
    for stage, submission in found:
        achievement = required(db.session.get(Achievement, submission.achievement_id), "a")
        educator = required(db.session.get(Educator, submission.educator_id), "educator")
        member = member_by_achievement.get(achievement.id)
        if member is not None and calibration.rated_by(stage, member):
            continue  # their rating is in; the other assessor's is awaited
        rows.append(QueueRow(stage, submission, member, achievement,
                             achievements.current_version(achievement), educator,
                             stage.second_id is not None))  # fmt: skip
    return rows


def _open_for(members: list[AssessorPoolMember]) -> list[tuple[AssessmentStage, Submission]]:
    ids = [m.id for m in members]
    if not ids:
        return []
    return [
        (stage, submission)
        for stage, submission in db.session.execute(
            select(AssessmentStage, Submission)
            .join(Submission, Submission.id == AssessmentStage.submission_id)
            .where(
                AssessmentStage.state == "open",
                AssessmentStage.disputed_at.is_(None),
                or_(AssessmentStage.assignee_id.in_(ids), AssessmentStage.second_id.in_(ids)),
                Submission.state == "submitted",
            )
            .order_by(AssessmentStage.due_at, AssessmentStage.id)
        ).all()
    ]


def peer_queue(educator: Educator) -> list[QueueRow]:
    """The open assessments given to this peer assessor, soonest due first (never their own or
    their learning partner's: those are left out even if assigned before a partnership)."""
    members = [m for m in assessors.memberships_of(educator) if m.state == "active"]
    by_achievement = {m.achievement_id: m for m in members}
    return [
        row
        for row in _rows(_open_for(members), by_achievement)
        if row.member is not None
        and row.stage.stage in assessors.PEER_STAGES
        and assessors.may_assess(row.member, row.submission)
    ]


def peer_submission(
    educator: Educator, submission_public_id: str
) -> tuple[AssessorPoolMember, Submission, AssessmentStage]:
    """A submission in the peer's queue, with their pool place and its open stage.

    :raises NotFound: for anything not in their queue (their own, their partner's, another's).
    """
    for row in peer_queue(educator):
        if row.submission.public_id == submission_public_id and row.member is not None:
            return row.member, row.submission, row.stage
    raise NotFound("There is no such submission in your queue.")


def staff_queue(account: StaffAccount, issuer: Issuer) -> list[QueueRow]:
    """The open stages given to this staff member in the issuer's pools, soonest due first."""
    members = list(
        db.session.scalars(
            select(AssessorPoolMember)
            .join(Achievement, Achievement.id == AssessorPoolMember.achievement_id)
            .where(
                AssessorPoolMember.staff_id == account.id,
                AssessorPoolMember.state == "active",
                Achievement.issuer_id == issuer.id,
            )
        )
    )
    by_achievement = {m.achievement_id: m for m in members}
    return _rows(_open_for(members), by_achievement)


def disputed(account: StaffAccount, issuer: Issuer) -> list[QueueRow]:
    """Double-scored assessments whose assessors disagreed, for a lead assessor to decide."""
    found = db.session.execute(
        select(AssessmentStage, Submission)
        .join(Submission, Submission.id == AssessmentStage.submission_id)
        .where(
            AssessmentStage.state == "open",
            AssessmentStage.disputed_at.is_not(None),
            Submission.issuer_id == issuer.id,
        )
        .order_by(AssessmentStage.due_at, AssessmentStage.id)
    ).all()
    rows = []
    for row in _rows([(s, sub) for s, sub in found], {}):
        if calibration.is_lead(account, row.achievement):
            rows.append(row)
    return rows
