"""Calibration of assessors: peers trained on a short set of past submissions with reference
ratings (active once they agree enough), a share of assessments scored by two assessors blind
(neither sees the other's ratings until both are in; a disagreement goes to a lead assessor),
and the agreement figures. Agreement is *percent agreement*: of the criteria both assessors
rated, the share they rated the same ("demonstrated" or "not yet")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AssessmentPlan,
    AssessmentStage,
    AssessorPoolMember,
    BlindRating,
    CalibrationAnswer,
    CalibrationItem,
    Educator,
    Issuer,
    StaffAccount,
    Submission,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services.org import audit, staff
from app.services.org.audit import Actor

MAX_ITEMS = 10


def criteria_of(version: AchievementVersion) -> list[dict[str, str]]:
    """The rubric criteria (``id`` and ``name``) an assessor rates."""
    return [
        {"id": str(c["id"]), "name": str(c.get("name") or c["id"])} for c in version.rubric or []
    ]


# --- Training peers on a calibration set ------------------------------------------------------


def items(achievement: Achievement) -> list[CalibrationItem]:
    """The achievement's calibration set, in the order staff chose it."""
    return list(
        db.session.scalars(
            select(CalibrationItem)
            .where(CalibrationItem.achievement_id == achievement.id)
            .order_by(CalibrationItem.id)
        )
    )


def set_of(achievement: Achievement) -> list[tuple[CalibrationItem, Submission, Educator]]:
    """The calibration set with each item's submission and its educator."""
    found = []
    for item in items(achievement):
        submission = required(db.session.get(Submission, item.submission_id), "submission")
        educator = required(db.session.get(Educator, submission.educator_id), "educator")
        found.append((item, submission, educator))
    return found


def candidates(achievement: Achievement) -> list[tuple[Submission, AssessmentStage]]:
    """Past submissions whose assessment was decided with ratings (their latest), not in the
    set yet: what staff may add to it, newest first."""
    chosen = {i.submission_id for i in items(achievement)}
    rows = db.session.execute(
        select(Submission, AssessmentStage)
        .join(AssessmentStage, AssessmentStage.submission_id == Submission.id)
        .where(
            Submission.achievement_id == achievement.id,
            AssessmentStage.stage == "assessment",
            AssessmentStage.state.in_(("passed", "not_yet")),
        )
        .order_by(AssessmentStage.id.desc())
    ).all()
    seen: set[int] = set()
    found = []
    for submission, stage in rows:
        if submission.id in chosen or submission.id in seen or not stage.ratings:
            continue
        seen.add(submission.id)
        found.append((submission, stage))
    return found


def add_item(
    achievement: Achievement, submission_public_id: str, *, actor: Actor, env: ServiceEnv
) -> CalibrationItem:
    """Add a past submission to the calibration set; its reference ratings are those of its
    latest decided assessment.

    :raises ServiceError: for a submission that is not a candidate, or a full set.
    """
    if len(items(achievement)) >= MAX_ITEMS:
        raise Invalid(f"A calibration set holds at most {MAX_ITEMS} submissions.", "submission")
    for submission, stage in candidates(achievement):
        if submission.public_id == submission_public_id:
            reference = {cid: r["rating"] for cid, r in stage.ratings.items()}
            item = CalibrationItem(achievement_id=achievement.id, submission_id=submission.id,
                                   reference=reference, added_at=env.now)  # fmt: skip
            db.session.add(item)
            _audit("calibration.add", achievement, submission.public_id, actor, env)
            db.session.commit()
            return item
    raise Invalid("Choose a submission whose assessment was decided.", "submission")


def remove_item(achievement: Achievement, item_id: int, *, actor: Actor, env: ServiceEnv) -> None:
    """Take a submission out of the calibration set (answers to it go with it).

    :raises NotFound: for an item of another achievement.
    """
    item = db.session.get(CalibrationItem, item_id)
    if item is None or item.achievement_id != achievement.id:
        raise NotFound("There is no such calibration submission.")
    submission = required(db.session.get(Submission, item.submission_id), "submission")
    db.session.execute(delete(CalibrationAnswer).where(CalibrationAnswer.item_id == item.id))
    db.session.delete(item)
    db.session.flush()
    # A peer who had rated every other submission of the set is scored now (and one facing an
    # empty set is active, as if it had never had one).
    for member in db.session.scalars(
        select(AssessorPoolMember).where(
            AssessorPoolMember.achievement_id == achievement.id,
            AssessorPoolMember.state == "training",
        )
    ):
        if next_item(member) is None:
            _score(member, env)
    _audit("calibration.remove", achievement, submission.public_id, actor, env)
    db.session.commit()


def _audit(
    event: str, achievement: Achievement, subject: str, actor: Actor, env: ServiceEnv
) -> None:
    audit.record(event, actor=actor, now=env.now, issuer_id=achievement.issuer_id,
                 subject_type="achievement", subject_id=achievement.public_id,
                 detail={"submission": subject})  # fmt: skip


def answers_of(member: AssessorPoolMember) -> dict[int, CalibrationAnswer]:
    """The peer's answers to the calibration set, by item id."""
    return {
        a.item_id: a
        for a in db.session.scalars(
            select(CalibrationAnswer).where(CalibrationAnswer.member_id == member.id)
        )
    }


def next_item(member: AssessorPoolMember) -> CalibrationItem | None:
    """The next calibration submission the peer in training has to rate."""
    achievement = required(db.session.get(Achievement, member.achievement_id), "achievement")
    done = answers_of(member)
    return next((i for i in items(achievement) if i.id not in done), None)


def training_item(educator: Educator, item_id: int) -> tuple[AssessorPoolMember, CalibrationItem]:
    """A calibration submission the educator, in training for its achievement, may rate.

    :raises NotFound: for anyone else (or an item they already rated).
    """
    item = db.session.get(CalibrationItem, item_id)
    if item is not None:
        member = db.session.scalar(
            select(AssessorPoolMember).where(
                AssessorPoolMember.achievement_id == item.achievement_id,
                AssessorPoolMember.educator_id == educator.id,
                AssessorPoolMember.state == "training",
            )
        )
        if member is not None and item.id not in answers_of(member):
            return member, item
    raise NotFound("There is no such calibration submission to rate.")


def percent(agreed: int, total: int) -> int | None:
    """Percent agreement, rounded, or ``None`` with nothing to compare."""
    return round(100 * agreed / total) if total else None


def answer(
    member: AssessorPoolMember,
    item: CalibrationItem,
    ratings: dict[str, str],
    version: AchievementVersion,
    env: ServiceEnv,
) -> int | None:
    """Record a peer's rating of one calibration submission. After the last, compare them all
    with the reference: at or above the plan's threshold they become active; below it their
    answers are cleared so they can rate the set again. Returns their percent agreement once
    the set is done (``None`` before).

    :raises ServiceError: for a criterion left unrated; :raises Conflict: when not training.
    """
    if member.state != "training":
        raise Conflict("You are not rating the calibration set now.")
    checked: dict[str, str] = {}
    for criterion in criteria_of(version):
        rating = ratings.get(criterion["id"], "")
        if rating not in ("demonstrated", "not_yet"):
            raise Invalid(f"Rate “{criterion['name']}”: demonstrated or not yet.",
                          f"rating-{criterion['id']}")  # fmt: skip
        checked[criterion["id"]] = rating
    if item.id in answers_of(member):
        raise Conflict("You already rated this submission.")
    db.session.add(CalibrationAnswer(item_id=item.id, member_id=member.id, ratings=checked,
                                     answered_at=env.now))  # fmt: skip
    db.session.flush()
    if next_item(member) is not None:
        db.session.commit()
        return None
    score = _score(member, env)
    db.session.commit()
    return score


def _score(member: AssessorPoolMember, env: ServiceEnv) -> int:
    """Compare a peer's answers to the whole set with the reference (in the caller's
    transaction): active at the threshold, else their answers are cleared to rate it again. An
    empty set asks nothing of them."""
    agreed = total = 0
    achievement = required(db.session.get(Achievement, member.achievement_id), "achievement")
    for one in items(achievement):
        given = answers_of(member)[one.id].ratings
        for cid, reference in one.reference.items():
            total += 1
            agreed += given.get(cid) == reference
    score = percent(agreed, total) or 0
    plan = db.session.scalar(
        select(AssessmentPlan).where(AssessmentPlan.achievement_id == achievement.id)
    )
    threshold = plan.training_threshold if plan else 80
    if not total:
        member.state = "active"
        return 100
    member.training_agreement = score
    if score >= threshold:
        member.state, member.trained_at = "active", env.now
    else:
        db.session.execute(
            delete(CalibrationAnswer).where(CalibrationAnswer.member_id == member.id)
        )
    return score


# --- Two assessors blind, and the lead who settles a disagreement -----------------------------


def blind_ratings(stage: AssessmentStage) -> list[BlindRating]:
    """The blind ratings given to a stage scored by two, in the order they came in."""
    return list(
        db.session.scalars(
            select(BlindRating).where(BlindRating.stage_id == stage.id).order_by(BlindRating.id)
        )
    )


def rated_by(stage: AssessmentStage, member: AssessorPoolMember | None) -> bool:
    """Whether this member already gave their blind rating of the stage."""
    return member is not None and any(r.member_id == member.id for r in blind_ratings(stage))


def rate_blind(
    stage: AssessmentStage,
    member: AssessorPoolMember,
    ratings: dict[str, dict[str, str]],
    feedback: str,
    actor: Actor,
    env: ServiceEnv,
) -> dict[str, dict[str, str]] | None:
    """Record one of the two blind ratings (in the caller's transaction). Once both are in:
    the first assessor's ratings when they agree on every criterion (the stage is then decided
    with them), else ``None`` and the stage waits for a lead assessor.

    :raises Conflict: for someone not scoring it, or a second rating by the same assessor.
    """
    if member.id not in (stage.assignee_id, stage.second_id):
        raise Conflict("This assessment is scored by two other assessors.")
    if rated_by(stage, member):
        raise Conflict("You already rated this submission; the other assessor's rating is due.")
    db.session.add(BlindRating(stage_id=stage.id, member_id=member.id, ratings=ratings,
                               feedback=feedback, rated_at=env.now))  # fmt: skip
    db.session.flush()
    given = blind_ratings(stage)
    if len(given) < 2:
        return None
    first, second = given[0].ratings, given[1].ratings
    same = all(first.get(cid, {}).get("rating") == r.get("rating") for cid, r in second.items())
    if same:
        return {cid: dict(r) for cid, r in first.items()}
    stage.disputed_at = env.now
    submission = required(db.session.get(Submission, stage.submission_id), "submission")
    audit.record("submission.stage.disputed", actor=actor, now=env.now,
                 issuer_id=submission.issuer_id, subject_type="submission",
                 subject_id=submission.public_id, detail={"stage": stage.id})  # fmt: skip
    return None


def is_lead(account: StaffAccount, achievement: Achievement) -> bool:
    """Whether the staff member decides disagreements for the achievement: a lead of its pool,
    or an owner or editor of its issuer."""
    issuer = required(db.session.get(Issuer, achievement.issuer_id), "issuer")
    if staff.role_of(account, issuer) in ("owner", "editor"):
        return True
    return bool(
        db.session.scalar(
            select(AssessorPoolMember.id).where(
                AssessorPoolMember.achievement_id == achievement.id,
                AssessorPoolMember.staff_id == account.id,
                AssessorPoolMember.state == "active",
                AssessorPoolMember.lead.is_(True),
            )
        )
    )


# --- Agreement figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """Percent agreement of one row of the report: ``agreed`` of ``compared`` ratings."""

    label: str
    compared: int
    agreed: int

    @property
    def percent(self) -> int | None:
        return percent(self.agreed, self.compared)


def _pairs(achievement: Achievement) -> list[tuple[AssessmentStage, BlindRating, BlindRating]]:
    rows = db.session.execute(
        select(AssessmentStage, BlindRating)
        .join(Submission, Submission.id == AssessmentStage.submission_id)
        .join(BlindRating, BlindRating.stage_id == AssessmentStage.id)
        .where(Submission.achievement_id == achievement.id)
        .order_by(AssessmentStage.id, BlindRating.id)
    ).all()
    by_stage: dict[int, list[Any]] = {}
    for stage, rating in rows:
        by_stage.setdefault(stage.id, [stage]).append(rating)
    return [(v[0], v[1], v[2]) for v in by_stage.values() if len(v) >= 3]


def member_label(member: AssessorPoolMember, *, with_email: bool = False) -> str:
    """How a pool member is named in reports (with their address, for the pool's editors)."""
    if member.staff_id is not None:
        account = db.session.get(StaffAccount, member.staff_id)
        if account is None:
            return "A former staff member"
        return f"{account.name} (staff{', ' + account.email if with_email else ''})"
    educator = db.session.get(Educator, member.educator_id) if member.educator_id else None
    if educator is None:
        return "A former educator"
    email = educator.emails[0].email if with_email and educator.emails else ""
    return f"{educator.name or 'An educator'} (peer{', ' + email if email else ''})"


def agreement(
    achievement: Achievement, version: AchievementVersion
) -> tuple[list[Agreement], list[Agreement]]:
    """Percent agreement of the double-scored assessments, per criterion (rubric order) and
    per assessor (each pair counts for both of its assessors)."""
    names = {c["id"]: c["name"] for c in criteria_of(version)}
    per_criterion: dict[str, list[int]] = {cid: [0, 0] for cid in names}
    per_member: dict[int, list[int]] = {}
    for _stage, one, other in _pairs(achievement):
        for cid, rating in one.ratings.items():
            if cid not in other.ratings:
                continue
            same = int(rating.get("rating") == other.ratings[cid].get("rating"))
            tally = per_criterion.setdefault(cid, [0, 0])
            tally[0], tally[1] = tally[0] + 1, tally[1] + same
            for member_id in (one.member_id, other.member_id):
                mine = per_member.setdefault(member_id, [0, 0])
                mine[0], mine[1] = mine[0] + 1, mine[1] + same
    criteria = [
        Agreement(names.get(cid, cid), compared, agreed)
        for cid, (compared, agreed) in per_criterion.items()
    ]
    members = []
    for member_id, (compared, agreed) in sorted(per_member.items()):
        member = required(db.session.get(AssessorPoolMember, member_id), "member")
        members.append(Agreement(member_label(member), compared, agreed))
    return criteria, members


def monday(moment: datetime) -> datetime:
    """The start (Monday 00:00 UTC) of the moment's week."""
    day = moment - timedelta(days=moment.weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def agreement_by_week(achievement: Achievement, weeks: list[datetime]) -> list[Agreement]:
    """Percent agreement of the pairs completed in each of these weeks (by the second rating)."""
    tallies = {week: [0, 0] for week in weeks}
    for _stage, one, other in _pairs(achievement):
        week = monday(other.rated_at)
        if week not in tallies:
            continue
        for cid, rating in one.ratings.items():
            if cid in other.ratings:
                tallies[week][0] += 1
                tallies[week][1] += int(rating.get("rating") == other.ratings[cid].get("rating"))
    return [Agreement(week.strftime("%d %b"), c, a) for week, (c, a) in tallies.items()]
