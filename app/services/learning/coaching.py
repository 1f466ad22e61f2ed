"""Coaching plans: an organisation's coaching types (the focus of a plan), and its plans: a
school (or a named team), the coach (a staff member), the educators (by address, from people
the organisation knows), the sessions agreed face to face and virtually, the leaders who
receive session reports and the format each wants, and the coaching-cycle achievement the plan
may lead to. Editors and owners make plans; the coach sees theirs. Sessions, answers, reports
and the cycle award are ``coaching_sessions``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (
    REPORT_FORMATS,
    ROLES,
    Achievement,
    CoachingAttendance,
    CoachingParticipant,
    CoachingPlan,
    CoachingRecipient,
    CoachingType,
    Educator,
    EducatorEmail,
    Enrolment,
    IssuedCredential,
    Issuer,
    Module,
    School,
    SchoolMember,
    StaffAccount,
)
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound, required
from app.services.learning import recognition
from app.services.org import achievements, audit, schools, staff
from app.services.org.audit import Actor

#: What a new organisation coaches, until it edits the list.
DEFAULT_TYPES = ("Leadership coaching", "Instructional mentoring", "Instructional coaching")
TYPE_NAME_LIMIT = 120
TEAM_NAME_LIMIT = 200
#: The most sessions of one mode a plan may agree, and the most educators it may name.
MAX_SESSIONS = 200
MAX_EDUCATORS = 200
FORMAT_LABELS = {"summary": "Summary", "full": "Full"}


# ------------------------------------------------------------------------------ coaching types


def types_for(
    issuer: Issuer, env: ServiceEnv, *, include_retired: bool = False
) -> list[CoachingType]:
    """The organisation's coaching types, by name; the defaults are added the first time an
    organisation that never had any is asked (retired types are kept, so that stays once)."""
    found = list(
        db.session.scalars(
            select(CoachingType)
            .where(CoachingType.issuer_id == issuer.id)
            .order_by(CoachingType.name)
        )
    )
    if not found:
        for name in DEFAULT_TYPES:
            db.session.add(CoachingType(issuer_id=issuer.id, name=name, created_at=env.now))
        db.session.commit()
        return types_for(issuer, env, include_retired=include_retired)
    return [t for t in found if include_retired or t.retired_at is None]


def get_type(issuer: Issuer, type_id: int | str) -> CoachingType:
    """One of the organisation's coaching types.

    :raises NotFound: when it has no such type.
    """
    try:
        number = int(type_id)
    except (TypeError, ValueError):
        number = 0
    found = db.session.get(CoachingType, number) if number > 0 else None
    if found is None or found.issuer_id != issuer.id:
        raise NotFound("This organisation has no such coaching type.")
    return found


def _type_name(issuer: Issuer, name: str, keep: CoachingType | None = None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("Give the coaching type a name.", "name")
    if len(cleaned) > TYPE_NAME_LIMIT:
        raise Invalid(f"A coaching type's name has at most {TYPE_NAME_LIMIT} characters.", "name")
    clash = db.session.scalar(
        select(CoachingType).where(
            CoachingType.issuer_id == issuer.id, CoachingType.name == cleaned
        )
    )
    if clash is not None and clash is not keep:
        raise Invalid(f"There is already a coaching type called {cleaned!r}.", "name")
    return cleaned


def add_type(issuer: Issuer, name: str, *, actor: Actor, env: ServiceEnv) -> CoachingType:
    """Add a coaching type; audited.

    :raises Invalid: for an empty, too long or already used name.
    """
    types_for(issuer, env)  # the defaults first, so adding one does not hide them
    kind = CoachingType(issuer_id=issuer.id, name=_type_name(issuer, name), created_at=env.now)
    db.session.add(kind)
    db.session.flush()
    audit.record("coaching.type_add", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="coaching_type", subject_id=kind.id,
                 detail={"name": kind.name})  # fmt: skip
    db.session.commit()
    return kind


def rename_type(kind: CoachingType, name: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Rename a coaching type (plans made with it show the new name); audited.

    :raises Invalid: for an empty, too long or already used name.
    """
    issuer = required(db.session.get(Issuer, kind.issuer_id), "No such organisation.")
    before = kind.name
    kind.name = _type_name(issuer, name, keep=kind)
    audit.record("coaching.type_rename", actor=actor, now=env.now, issuer_id=kind.issuer_id,
                 subject_type="coaching_type", subject_id=kind.id,
                 detail={"from": before, "to": kind.name})  # fmt: skip
    db.session.commit()


def set_retired(kind: CoachingType, retired: bool, *, actor: Actor, env: ServiceEnv) -> None:
    """Retire a coaching type (new plans cannot choose it; plans made with it keep it), or
    bring it back; audited."""
    kind.retired_at = env.now if retired else None
    audit.record("coaching.type_retire" if retired else "coaching.type_restore", actor=actor,
                 now=env.now, issuer_id=kind.issuer_id, subject_type="coaching_type",
                 subject_id=kind.id, detail={"name": kind.name})  # fmt: skip
    db.session.commit()


# ------------------------------------------------------------------------------- who is who


def known_addresses(issuer: Issuer) -> dict[str, str | None]:
    """The people the organisation knows, address → the name Cairn has for them (None when
    it has none): its schools' rosters, the recipients of its credentials, and the educators
    enrolled in its modules."""
    found: dict[str, str | None] = {}
    for email in db.session.scalars(
        select(SchoolMember.email).where(SchoolMember.issuer_id == issuer.id)
    ):
        found.setdefault(email, None)
    for email in db.session.scalars(
        select(IssuedCredential.recipient_email)
        .where(IssuedCredential.issuer_id == issuer.id)
        .distinct()
    ):
        found.setdefault(email, None)
    enrolled = db.session.execute(
        select(EducatorEmail.email)
        .join(Enrolment, Enrolment.educator_id == EducatorEmail.educator_id)
        .join(Module, Module.id == Enrolment.module_id)
        .where(Module.issuer_id == issuer.id, EducatorEmail.verified_at.is_not(None))
        .distinct()
    )
    for (email,) in enrolled:
        found.setdefault(email, None)
    for email, name in names_by_address(list(found)).items():
        found[email] = name
    return dict(sorted(found.items()))


def names_by_address(addresses: Iterable[str]) -> dict[str, str]:
    """The names of the educators holding (confirmed) some of ``addresses``."""
    wanted = list(addresses)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(EducatorEmail.email, Educator.name)
        .join(Educator, Educator.id == EducatorEmail.educator_id)
        .where(EducatorEmail.email.in_(wanted), EducatorEmail.verified_at.is_not(None))
    )
    return {email: name for email, name in rows}


def staff_of(issuer: Issuer) -> list[StaffAccount]:
    """The organisation's staff, who may coach."""
    return [account for account, _ in staff.members(issuer) if account.is_active]


def eligible_leaders(issuer: Issuer, school: School | None) -> list[StaffAccount]:
    """Staff with a leader appointment covering ``school`` (None, a team: the whole
    organisation's leaders only), each once, by name."""
    found: dict[int, StaffAccount] = {}
    for appointment in schools.leaders_of(issuer):
        if appointment.school_id is None or (
            school is not None and appointment.school_id == school.id
        ):
            found.setdefault(appointment.staff_id, appointment.staff)
    return sorted(found.values(), key=lambda a: (a.name.lower(), a.email))


def leads_for(account: StaffAccount, plan: CoachingPlan) -> bool:
    """Whether ``account`` still leads the plan's school (or the whole organisation)."""
    return schools.scope_of(account, plan.issuer).covers(plan.school)


# ---------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class PlanInput:
    """A plan as the form gives it (ids as strings, checked by :func:`create_plan`)."""

    school: str = ""
    team_name: str = ""
    coach: str = ""
    coaching_type: str = ""
    face_to_face: str = "0"
    virtual: str = "0"
    educators: tuple[str, ...] = ()
    #: Staff id (as text) → ``summary`` or ``full``, for each leader receiving reports.
    recipients: dict[str, str] = field(default_factory=dict)
    achievement: str = ""


@dataclass(frozen=True)
class _Checked:
    school: School | None
    team_name: str | None
    coach: StaffAccount
    coaching_type: CoachingType
    face_to_face: int
    virtual: int
    educators: list[str]
    recipients: dict[int, str]
    achievement: Achievement | None


def _count(value: str, field_name: str, label: str) -> int:
    try:
        number = int((value or "0").strip() or "0")
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_SESSIONS:
        raise Invalid(f"Give the {label} sessions agreed as a whole number from 0 to "
                      f"{MAX_SESSIONS}.", field_name)  # fmt: skip
    return number


def _check(issuer: Issuer, data: PlanInput, env: ServiceEnv, plan: CoachingPlan | None) -> _Checked:
    school: School | None = None
    team_name: str | None = None
    if data.school:
        try:
            school = schools.get(issuer, data.school)
        except NotFound as error:
            raise Invalid("Choose one of this organisation's schools.", "school") from error
    else:
        team_name = " ".join((data.team_name or "").split()) or None
        if team_name is None:
            raise Invalid("Choose the school, or name the team this plan is for.", "team_name")
        if len(team_name) > TEAM_NAME_LIMIT:
            raise Invalid(f"A team's name has at most {TEAM_NAME_LIMIT} characters.", "team_name")
    coaches = {str(a.id): a for a in staff_of(issuer)}
    coach = coaches.get((data.coach or "").strip())
    if coach is None:
        raise Invalid("Choose the coach from this organisation's staff.", "coach")
    try:
        kind = get_type(issuer, data.coaching_type)
    except NotFound as error:
        raise Invalid("Choose the focus from the organisation's coaching types.",
                      "coaching_type") from error  # fmt: skip
    keeping = plan is not None and plan.coaching_type_id == kind.id
    if kind.retired_at is not None and not keeping:
        raise Invalid(f"The coaching type {kind.name!r} is retired: choose another.",
                      "coaching_type")  # fmt: skip
    face_to_face = _count(data.face_to_face, "face_to_face", "face-to-face")
    virtual = _count(data.virtual, "virtual", "virtual")
    if face_to_face + virtual == 0:
        raise Invalid("Agree at least one session, face to face or virtual.", "face_to_face")
    educators = _educators(issuer, data.educators, plan)
    leaders = {a.id: a for a in eligible_leaders(issuer, school)}
    recipients: dict[int, str] = {}
    for staff_id, report_format in data.recipients.items():
        try:
            number = int(staff_id)
        except ValueError:
            number = 0
        if number not in leaders:
            where = school.name if school is not None else "the whole organisation"
            raise Invalid(f"Reports go to leaders of {where} only.", "recipients")
        if report_format not in REPORT_FORMATS:
            raise Invalid("Choose a summary or the full report for each leader.", "recipients")
        recipients[number] = report_format
    achievement: Achievement | None = None
    if data.achievement:
        try:
            achievement = achievements.get(issuer, data.achievement)
        except NotFound as error:
            raise Invalid(
                "Choose one of the organisation's achievements.", "achievement"
            ) from error
        rule = recognition.rule_of(achievement)
        if rule is None or rule.kind != "coaching":
            raise Invalid("Choose an achievement set to recognise a coaching cycle.", "achievement")
        if achievement.archived_at is not None and (
            plan is None or plan.achievement_id != achievement.id
        ):
            raise Invalid("That achievement is archived.", "achievement")
    return _Checked(school, team_name, coach, kind, face_to_face, virtual, educators, recipients,
                    achievement)  # fmt: skip


def _educators(issuer: Issuer, given: Iterable[str], plan: CoachingPlan | None) -> list[str]:
    addresses: dict[str, None] = {}
    for entry in given:
        for part in entry.replace(",", "\n").replace(";", "\n").split():
            try:
                addresses[check_email(part)] = None
            except Invalid as error:
                raise Invalid(error.message, "educators") from error
    if not addresses:
        raise Invalid("Name at least one educator of the plan.", "educators")
    if len(addresses) > MAX_EDUCATORS:
        raise Invalid(f"A plan names at most {MAX_EDUCATORS} educators.", "educators")
    known = known_addresses(issuer)
    already = {p.email for p in plan.participants} if plan is not None else set()
    unknown = [a for a in addresses if a not in known and a not in already]
    if unknown:
        raise Invalid(
            f"{unknown[0]} is not someone this organisation knows (on a school's roster, "
            "awarded one of its credentials, or enrolled in one of its modules).",
            "educators",
        )
    return list(addresses)


def create_plan(issuer: Issuer, data: PlanInput, *, actor: Actor, env: ServiceEnv) -> CoachingPlan:
    """Make a coaching plan; audited.

    :raises Invalid: naming the field at fault (nothing is stored).
    """
    checked = _check(issuer, data, env, None)
    plan = CoachingPlan(public_id=str(uuid.uuid4()), issuer_id=issuer.id, created_at=env.now)
    db.session.add(plan)
    _apply(plan, checked, env)
    audit.record("coaching.plan_create", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="coaching_plan", subject_id=plan.public_id,
                 detail=_summary(plan, checked))  # fmt: skip
    db.session.commit()
    return plan


def update_plan(plan: CoachingPlan, data: PlanInput, *, actor: Actor, env: ServiceEnv) -> None:
    """Change a plan; an educator who took part in a logged session stays on it; audited.

    :raises Invalid: naming the field at fault (nothing is changed).
    """
    checked = _check(plan.issuer, data, env, plan)
    staying = set(checked.educators)
    for participant in plan.participants:
        if participant.email in staying:
            continue
        took_part = db.session.scalar(
            select(CoachingAttendance.id).where(CoachingAttendance.participant_id == participant.id)
        )
        if took_part is not None:
            raise Invalid(
                f"{participant.email} took part in a logged session: they stay on the plan.",
                "educators",
            )
    _apply(plan, checked, env)
    audit.record("coaching.plan_update", actor=actor, now=env.now, issuer_id=plan.issuer_id,
                 subject_type="coaching_plan", subject_id=plan.public_id,
                 detail=_summary(plan, checked))  # fmt: skip
    db.session.commit()


def _apply(plan: CoachingPlan, checked: _Checked, env: ServiceEnv) -> None:
    plan.school_id = checked.school.id if checked.school is not None else None
    plan.team_name = checked.team_name
    plan.coach_id = checked.coach.id
    plan.coaching_type_id = checked.coaching_type.id
    plan.face_to_face_agreed = checked.face_to_face
    plan.virtual_agreed = checked.virtual
    plan.achievement_id = checked.achievement.id if checked.achievement is not None else None
    plan.updated_at = env.now
    db.session.flush()
    current = {p.email: p for p in plan.participants}
    for email in checked.educators:
        if email not in current:
            db.session.add(CoachingParticipant(plan_id=plan.id, email=email))
    for email, participant in current.items():
        if email not in checked.educators:
            db.session.delete(participant)
    existing = {r.staff_id: r for r in plan.recipients}
    for staff_id, report_format in checked.recipients.items():
        if staff_id in existing:
            existing[staff_id].report_format = report_format
        else:
            db.session.add(CoachingRecipient(plan_id=plan.id, staff_id=staff_id,
                                             report_format=report_format))  # fmt: skip
    for staff_id, recipient in existing.items():
        if staff_id not in checked.recipients:
            db.session.delete(recipient)
    db.session.flush()
    db.session.expire(plan, ["participants", "recipients"])


def _summary(plan: CoachingPlan, checked: _Checked) -> dict[str, object]:
    return {
        "school": checked.school.public_id if checked.school is not None else None,
        "team": checked.team_name,
        "coach": checked.coach.id,
        "type": checked.coaching_type.name,
        "face_to_face": checked.face_to_face,
        "virtual": checked.virtual,
        "educators": len(checked.educators),
        "recipients": {str(k): v for k, v in checked.recipients.items()},
        "achievement": checked.achievement.public_id if checked.achievement else None,
    }


def get_plan(issuer: Issuer, public_id: str) -> CoachingPlan:
    """One of the organisation's coaching plans.

    :raises NotFound: when it has no such plan.
    """
    found = db.session.scalar(
        select(CoachingPlan).where(
            CoachingPlan.issuer_id == issuer.id, CoachingPlan.public_id == public_id
        )
    )
    if found is None:
        raise NotFound("This organisation has no such coaching plan.")
    return found


def manages(role: str | None) -> bool:
    """Whether a workspace role makes and edits plans (editors and owners)."""
    return role is not None and ROLES.index(role) <= ROLES.index("editor")


def recipient_of(plan: CoachingPlan, account: StaffAccount) -> CoachingRecipient | None:
    """The account's place among the plan's report recipients, while they still lead there."""
    for recipient in plan.recipients:
        if recipient.staff_id == account.id:
            return recipient if leads_for(account, plan) else None
    return None


def require_coach(plan: CoachingPlan, account: StaffAccount) -> None:
    """:raises Forbidden: unless ``account`` is the plan's coach."""
    if plan.coach_id != account.id:
        raise Forbidden("Only the plan's coach logs its sessions.")


def require_reader(plan: CoachingPlan, account: StaffAccount, role: str | None) -> None:
    """Who may open a plan: editors and owners, its coach, and the leaders it reports to.

    :raises Forbidden: for anyone else.
    """
    if manages(role) or plan.coach_id == account.id or recipient_of(plan, account) is not None:
        return
    raise Forbidden("This coaching plan is for its coach, the leaders it reports to, and "
                    "the organisation's editors.")  # fmt: skip


def plans_for(issuer: Issuer, account: StaffAccount, role: str | None) -> list[CoachingPlan]:
    """The plans the account may open, newest first: all of them for editors and owners,
    else those they coach or receive reports of."""
    plans = list(
        db.session.scalars(
            select(CoachingPlan)
            .where(CoachingPlan.issuer_id == issuer.id)
            .order_by(CoachingPlan.created_at.desc(), CoachingPlan.id.desc())
        )
    )
    if manages(role):
        return plans
    return [p for p in plans if p.coach_id == account.id or recipient_of(p, account) is not None]


def plan_label(plan: CoachingPlan) -> str:
    """What a plan is called: its school or team, and its focus."""
    where = plan.school.name if plan.school is not None else (plan.team_name or "A team")
    return f"{where}: {plan.coaching_type.name}"


def get_participant(plan: CoachingPlan, participant_id: int | str) -> CoachingParticipant:
    """One of the plan's educators.

    :raises NotFound: when the plan has no such educator.
    """
    for participant in plan.participants:
        if str(participant.id) == str(participant_id):
            return participant
    raise NotFound("This plan has no such educator.")


def participants_of(educator: Educator) -> list[CoachingParticipant]:
    """The educator's places on coaching plans (by any of their confirmed addresses), newest
    plan first."""
    addresses = [e.email for e in educator.emails if e.verified_at is not None]
    if not addresses:
        return []
    return list(
        db.session.scalars(
            select(CoachingParticipant)
            .join(CoachingPlan, CoachingPlan.id == CoachingParticipant.plan_id)
            .where(CoachingParticipant.email.in_(addresses))
            .order_by(CoachingPlan.created_at.desc(), CoachingParticipant.id.desc())
        )
    )


def check_format(value: str) -> str:
    """A report format.

    :raises Invalid: for anything else.
    """
    if value not in REPORT_FORMATS:
        raise Invalid("Choose a summary or the full report.", "format")
    return value


def require_not_awarded(participant: CoachingParticipant) -> None:
    """:raises Conflict: when the cycle achievement was awarded already."""
    if participant.credential_id is not None:
        raise Conflict("The coaching-cycle achievement has already been awarded.")
