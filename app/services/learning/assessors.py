"""Assessor pools: who assesses an achievement's staged submissions (staff of its issuer, and
educators who hold the achievement, invited as peer assessors), how each stage is given to one
of them (round-robin, or to whoever has the fewest open stages), never to the submitter nor to
their learning partner (either way round), and reassignment when a stage's due time passes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    AssessmentPlan,
    AssessmentStage,
    AssessorPoolMember,
    BlindRating,
    CalibrationItem,
    Educator,
    EducatorEmail,
    Enrolment,
    Issuer,
    StaffAccount,
    Submission,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services.learning import educators
from app.services.mail import emails
from app.services.org import achievements, audit, staff
from app.services.org.audit import Actor

ASSIGNMENTS = ("round_robin", "load")
#: Stages a peer assessor may be given: the completeness check and the final sign-off (which
#: issues the credential) stay with the issuer's staff.
PEER_STAGES = ("assessment",)


def pool(
    achievement: Achievement, *, states: tuple[str, ...] = ("active",)
) -> list[AssessorPoolMember]:
    """The achievement's pool members in these states, oldest first."""
    return list(
        db.session.scalars(
            select(AssessorPoolMember)
            .where(
                AssessorPoolMember.achievement_id == achievement.id,
                AssessorPoolMember.state.in_(states),
            )
            .order_by(AssessorPoolMember.id)
        )
    )


def _existing(achievement: Achievement, *, staff_id: int | None = None,
              educator_id: int | None = None) -> AssessorPoolMember | None:  # fmt: skip
    query = select(AssessorPoolMember).where(AssessorPoolMember.achievement_id == achievement.id)
    if staff_id is not None:
        query = query.where(AssessorPoolMember.staff_id == staff_id)
    else:
        query = query.where(AssessorPoolMember.educator_id == educator_id)
    return db.session.scalar(query)


def add_staff(
    achievement: Achievement, account: StaffAccount, *, actor: Actor, env: ServiceEnv
) -> AssessorPoolMember:
    """Add a reviewer of the achievement's issuer to its pool (active at once).

    :raises ServiceError: for someone who does not review for the issuer.
    """
    issuer = required(db.session.get(Issuer, achievement.issuer_id), "missing issuer")
    if staff.role_of(account, issuer) not in ("owner", "editor", "awarder"):
        raise Invalid("Only your organisation's reviewers can be staff assessors.", "staff_id")
    found = _existing(achievement, staff_id=account.id)
    if found is None:
        found = AssessorPoolMember(achievement_id=achievement.id, staff_id=account.id,
                                   invited_at=env.now)  # fmt: skip
        db.session.add(found)
    found.state, found.accepted_at = "active", env.now
    _audit("assessors.add", achievement, found, actor, env)
    db.session.commit()
    return found


def invite_peer(
    achievement: Achievement, educator: Educator, *, actor: Actor, env: ServiceEnv
) -> AssessorPoolMember:
    """Invite an educator who holds the achievement to assess it (active once they accept).

    :raises Conflict: when they do not hold a current credential for it.
    """
    if not educators.holds_current(educator, achievement, env.now):
        raise Conflict("Peer assessors must hold this achievement themselves.")
    plan = db.session.scalar(
        select(AssessmentPlan).where(AssessmentPlan.achievement_id == achievement.id)
    )
    if plan is None or not plan.approval:
        # A peer's "demonstrated" must never issue a credential by itself.
        raise Conflict(
            "Turn on the approval stage first: a staff member signs off what peers assess."
        )
    found = _existing(achievement, educator_id=educator.id)
    if found is None:
        found = AssessorPoolMember(achievement_id=achievement.id, educator_id=educator.id,
                                   invited_at=env.now)  # fmt: skip
        db.session.add(found)
    newly = found.state != "active"
    if newly:
        found.state, found.invited_at, found.accepted_at = "invited", env.now, None
    _audit("assessors.invite", achievement, found, actor, env)
    if newly:
        issuer = required(db.session.get(Issuer, achievement.issuer_id), "missing issuer")
        emails.queue_template(
            "assessor_invite",
            env,
            to=educators.recipient_email(educator),
            link=f"{env.base_url}/me/assessing",
            secret=False,
            issuer_id=issuer.id,
            name=educator.name,
            issuer_name=issuer.name,
            achievement_name=achievements.current_version(achievement).name,
        )
    db.session.commit()
    if newly:
        emails.deliver_soon(env)
    return found


def has_calibration_set(achievement_id: int) -> bool:
    """Whether staff chose past submissions to train the achievement's peer assessors on."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CalibrationItem)
            .where(CalibrationItem.achievement_id == achievement_id)
        )
        or 0
    ) > 0


def accept(member: AssessorPoolMember, educator: Educator, env: ServiceEnv) -> None:
    """The invited peer accepts: they join the pool, after rating the calibration set when the
    achievement has one (``training`` until they agree enough with its reference ratings).

    :raises NotFound: for someone else's invitation; :raises Conflict: when it is not open.
    """
    if member.educator_id != educator.id:
        raise NotFound("There is no such invitation.")
    if member.state != "invited":
        raise Conflict("This invitation is not open.")
    trains = has_calibration_set(member.achievement_id)
    member.state, member.accepted_at = ("training" if trains else "active"), env.now
    db.session.commit()


def remove(member: AssessorPoolMember, *, actor: Actor, env: ServiceEnv) -> None:
    """Take someone out of the pool; the open stages given to them (that they have not rated
    blind yet) go to someone else in the pool now, or to any reviewer when nobody may."""
    member.state = "removed"
    member.lead = False
    db.session.flush()
    for stage in db.session.scalars(
        select(AssessmentStage).where(
            AssessmentStage.state == "open",
            (AssessmentStage.assignee_id == member.id) | (AssessmentStage.second_id == member.id),
        )
    ):
        rated = db.session.scalar(
            select(BlindRating.id).where(
                BlindRating.stage_id == stage.id, BlindRating.member_id == member.id
            )
        )
        if rated is not None:
            continue  # their blind rating counts; the pair completes without them
        submission = required(db.session.get(Submission, stage.submission_id), "submission")
        plan = required(
            db.session.scalar(
                select(AssessmentPlan).where(
                    AssessmentPlan.achievement_id == submission.achievement_id
                )
            ),
            "plan",
        )
        others = {m for m in (stage.assignee_id, stage.second_id) if m is not None}
        replacement = choose(submission, plan, stage=stage.stage, not_these=others)
        if stage.assignee_id == member.id:
            stage.assignee_id = replacement.id if replacement else None
            stage.assigned_at = env.now if replacement else None
        else:
            stage.second_id = replacement.id if replacement else None
        if stage.assignee_id is None and stage.second_id is not None:
            # Nobody to take their place: the other assessor alone decides it.
            stage.assignee_id, stage.second_id = stage.second_id, None
            stage.assigned_at = env.now
    achievement = required(db.session.get(Achievement, member.achievement_id), "achievement")
    _audit("assessors.remove", achievement, member, actor, env)
    db.session.commit()


def _audit(
    event: str, achievement: Achievement, member: AssessorPoolMember, actor: Actor, env: ServiceEnv
) -> None:
    audit.record(
        event,
        actor=actor,
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="achievement",
        subject_id=achievement.public_id,
        detail={"staff": member.staff_id, "educator": member.educator_id, "state": member.state},
    )


def _addresses(educator_id: int) -> set[str]:
    return {
        e.lower()
        for e in db.session.scalars(
            select(EducatorEmail.email).where(EducatorEmail.educator_id == educator_id)
        )
    }


def partners_of(educator_id: int) -> set[str]:
    """The addresses of the educator's learning partners, either way round: those they invited
    to any module, and those who invited one of their addresses."""
    mine = _addresses(educator_id)
    invited = {
        e.lower()
        for e in db.session.scalars(
            select(Enrolment.partner_email).where(
                Enrolment.educator_id == educator_id, Enrolment.partner_email.is_not(None)
            )
        )
        if e
    }
    inviters: set[str] = set()
    if mine:
        for other in db.session.scalars(
            select(Enrolment.educator_id).where(func.lower(Enrolment.partner_email).in_(mine))
        ):
            inviters |= _addresses(other)
    return invited | inviters


def _member_addresses(member: AssessorPoolMember) -> set[str]:
    if member.educator_id is not None:
        return _addresses(member.educator_id)
    account = db.session.get(StaffAccount, member.staff_id) if member.staff_id else None
    return {account.email.lower()} if account else set()


def may_assess(member: AssessorPoolMember, submission: Submission) -> bool:
    """Whether the member may assess the submission: never its submitter, nor their learning
    partner (either way round, by any of their addresses)."""
    if member.state != "active":
        return False
    if member.educator_id == submission.educator_id:
        return False
    mine = _member_addresses(member)
    if mine & _addresses(submission.educator_id):
        return False  # a staff member who is also the submitter
    return not mine & partners_of(submission.educator_id)


def _open_load(member_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(AssessmentStage.assignee_id, func.count())
        .where(AssessmentStage.assignee_id.in_(member_ids), AssessmentStage.state == "open")
        .group_by(AssessmentStage.assignee_id)
    ).all()
    return {int(member): int(count) for member, count in rows if member is not None}


def _last_assigned(member_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(AssessmentStage.assignee_id, func.max(AssessmentStage.id))
        .where(AssessmentStage.assignee_id.in_(member_ids))
        .group_by(AssessmentStage.assignee_id)
    ).all()
    return {int(member): int(last) for member, last in rows if member is not None}


def choose(
    submission: Submission,
    plan: AssessmentPlan,
    *,
    stage: str = "assessment",
    not_these: Collection[int] = (),
) -> AssessorPoolMember | None:
    """The pool member the next ``stage`` of ``submission`` goes to, or ``None`` when the pool
    has nobody who may assess it (any reviewer of the issuer then may); peers are given only
    the assessment itself."""
    achievement = required(db.session.get(Achievement, plan.achievement_id), "achievement")
    eligible = [
        m
        for m in pool(achievement)
        if m.id not in not_these
        and (m.educator_id is None or stage in PEER_STAGES)
        and may_assess(m, submission)
    ]
    if not eligible:
        return None
    ids = [m.id for m in eligible]
    # Round-robin: whoever was given a stage longest ago (never first, then by joining order).
    last = _last_assigned(ids)
    turn = {m.id: (last.get(m.id, 0), m.id) for m in eligible}
    if plan.assignment == "load":
        load = _open_load(ids)
        return min(eligible, key=lambda m: (load.get(m.id, 0), turn[m.id]))
    return min(eligible, key=lambda m: turn[m.id])


def assign(
    stage: AssessmentStage,
    submission: Submission,
    plan: AssessmentPlan,
    now: datetime,
    *,
    not_these: Collection[int] = (),
) -> AssessorPoolMember | None:
    """Give an opened stage to a pool member (in the caller's transaction)."""
    db.session.flush()
    member = choose(submission, plan, stage=stage.stage, not_these=not_these)
    stage.assignee_id = member.id if member else None
    stage.assigned_at = now if member else None
    if member is not None and stage.stage == "assessment" and _double_turn(plan):
        second = choose(submission, plan, stage=stage.stage, not_these={*not_these, member.id})
        stage.second_id = second.id if second else None
    return member


def _double_turn(plan: AssessmentPlan) -> bool:
    """Whether the assessment just opened (already flushed) is one of the plan's share scored
    by two: the n-th assessment is when the running count of doubles ``n * share // 100``
    goes up, so 50 % doubles every second one and 100 % every one, with no randomness."""
    if not plan.double_share:
        return False
    n = (
        db.session.scalar(
            select(func.count())
            .select_from(AssessmentStage)
            .join(Submission, Submission.id == AssessmentStage.submission_id)
            .where(
                Submission.achievement_id == plan.achievement_id,
                AssessmentStage.stage == "assessment",
            )
        )
        or 0
    )
    return n * plan.double_share // 100 > (n - 1) * plan.double_share // 100


def member_in_any(member_id: int | None) -> AssessorPoolMember | None:
    """A pool member by id (any achievement, any state), if there is one."""
    return db.session.get(AssessorPoolMember, member_id) if member_id else None


def assignee_of(stage: AssessmentStage) -> AssessorPoolMember | None:
    """Who the stage is assigned to, if anyone."""
    return db.session.get(AssessorPoolMember, stage.assignee_id) if stage.assignee_id else None


def set_assignment(plan: AssessmentPlan, assignment: str) -> None:
    """Round-robin or by load (in the caller's transaction).

    :raises ServiceError: for another word.
    """
    if assignment not in ASSIGNMENTS:
        raise Invalid("Assign round-robin or by load.", "assignment")
    plan.assignment = assignment


def member_of_staff(achievement_id: int, account: StaffAccount) -> AssessorPoolMember | None:
    """The staff member's active place in the achievement's pool, if they have one."""
    return db.session.scalar(
        select(AssessorPoolMember).where(
            AssessorPoolMember.achievement_id == achievement_id,
            AssessorPoolMember.staff_id == account.id,
            AssessorPoolMember.state == "active",
        )
    )


def memberships_of(educator: Educator) -> list[AssessorPoolMember]:
    """The educator's places in assessor pools (invited, training or active), oldest first."""
    return list(
        db.session.scalars(
            select(AssessorPoolMember)
            .where(
                AssessorPoolMember.educator_id == educator.id,
                AssessorPoolMember.state.in_(("invited", "training", "active")),
            )
            .order_by(AssessorPoolMember.id)
        )
    )


def set_lead(member: AssessorPoolMember, lead: bool, *, actor: Actor, env: ServiceEnv) -> None:
    """Make a staff member of the pool a lead assessor (who decides disagreements), or not.

    :raises Conflict: for a peer assessor or someone no longer in the pool.
    """
    if member.staff_id is None:
        raise Conflict("Lead assessors are members of your organisation's staff.")
    if member.state != "active":
        raise Conflict("They are not in the pool any more.")
    member.lead = lead
    achievement = required(db.session.get(Achievement, member.achievement_id), "achievement")
    _audit("assessors.lead" if lead else "assessors.unlead", achievement, member, actor, env)
    db.session.commit()


def open_load(members: list[AssessorPoolMember]) -> dict[int, int]:
    """How many open stages each of these members has (first or second assessor), by id."""
    ids = [m.id for m in members]
    if not ids:
        return {}
    load = _open_load(ids)
    seconds = db.session.execute(
        select(AssessmentStage.second_id, func.count())
        .where(AssessmentStage.second_id.in_(ids), AssessmentStage.state == "open")
        .group_by(AssessmentStage.second_id)
    ).all()
    for member, count in seconds:
        if member is None:
            continue
        load[int(member)] = load.get(int(member), 0) + int(count)
    return load


def overdue_assigned(now: datetime) -> list[AssessmentStage]:
    """Open stages past their due time that are assigned to a pool member."""
    return list(
        db.session.scalars(
            select(AssessmentStage)
            .where(
                AssessmentStage.state == "open",
                AssessmentStage.due_at <= now,
                AssessmentStage.assignee_id.is_not(None),
            )
            .order_by(AssessmentStage.due_at, AssessmentStage.id)
        )
    )


def set_settings(
    plan: AssessmentPlan,
    *,
    assignment: str,
    double_share: int,
    training_threshold: int,
    actor: Actor,
    env: ServiceEnv,
) -> None:
    """How the pool works: assignment, the percent of assessments scored by two blind, and
    the percent agreement a peer needs on the calibration set.

    :raises ServiceError: for values out of range.
    """
    set_assignment(plan, assignment)
    if not 0 <= double_share <= 100:
        raise Invalid("Give a percentage from 0 to 100.", "double_share")
    if not 1 <= training_threshold <= 100:
        raise Invalid("Give a percentage from 1 to 100.", "training_threshold")
    plan.double_share, plan.training_threshold = double_share, training_threshold
    plan.updated_at = env.now
    achievement = required(db.session.get(Achievement, plan.achievement_id), "achievement")
    audit.record("assessors.settings", actor=actor, now=env.now, issuer_id=achievement.issuer_id,
                 subject_type="achievement", subject_id=achievement.public_id,
                 detail={"assignment": assignment, "double_share": double_share,
                         "training_threshold": training_threshold})  # fmt: skip
    db.session.commit()


def member_in(achievement: Achievement, member_id: int | None) -> AssessorPoolMember:
    """A member of this achievement's pool.

    :raises NotFound: for anyone else's.
    """
    found = db.session.get(AssessorPoolMember, member_id) if member_id else None
    if found is None or found.achievement_id != achievement.id or found.state == "removed":
        raise NotFound("There is no such assessor in this pool.")
    return found


def pool_with_load(achievement: Achievement) -> list[tuple[AssessorPoolMember, int]]:
    """Everyone in the pool (invited, training or active) with their open load."""
    members = pool(achievement, states=("invited", "training", "active"))
    load = open_load(members)
    return [(m, load.get(m.id, 0)) for m in members]
