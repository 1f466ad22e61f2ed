"""Coaching sessions: the coach logs each one (date, mode, participants from the plan's
educators, focus, notes, private notes, agreed next steps, links to evidence); each educator
confirms it or says it did not happen as logged; the plan's leaders get a report (email and
page) in the format they chose, never with the private notes; and a plan's coaching-cycle
achievement is awarded, once, when an educator has the confirmed sessions (and evidence) its
rule asks for."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    SESSION_MODES,
    Achievement,
    CoachingAttendance,
    CoachingParticipant,
    CoachingPlan,
    CoachingSession,
    Educator,
    EducatorEmail,
    IssuedCredential,
    Issuer,
    StaffAccount,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, ServiceError
from app.services._core.formatting import format_day
from app.services._core.transaction import all_or_nothing, roll_back_refused
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.learning import coaching, educators, recognition
from app.services.mail import emails
from app.services.org import achievements as org_achievements
from app.services.org import audit
from app.services.org.audit import Actor

log = logging.getLogger(__name__)

MODE_LABELS = {"face_to_face": "Face to face", "virtual": "Virtual"}
FOCUS_LIMIT = 200
TEXT_LIMIT = 10_000
COMMENT_LIMIT = 2_000
URL_LIMIT = 500
MAX_LINKS = 10
#: The actor of a coaching-cycle award.
CYCLE_ACTOR = Actor(label="coaching cycle")


@dataclass(frozen=True)
class SessionInput:
    """A session as the coach's form gives it."""

    held_on: str = ""
    mode: str = ""
    focus: str = ""
    notes: str = ""
    private_notes: str = ""
    next_steps: str = ""
    participants: tuple[str, ...] = ()
    #: One link a line: ``https://…`` or ``label | https://…``.
    evidence: str = ""


def _text(value: str, field_name: str, label: str, limit: int = TEXT_LIMIT) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise Invalid(f"Keep {label} to {limit:,} characters.", field_name)
    return text


def parse_links(text: str) -> list[dict[str, str]]:
    """Evidence links from the form, one per line (``label | url`` or a bare url).

    :raises Invalid: for a line that is not an http(s) URL, or too many.
    """
    links: list[dict[str, str]] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        label, _, url = line.rpartition("|")
        label, url = label.strip(), url.strip()
        if not url.startswith(("https://", "http://")) or len(url) > URL_LIMIT or " " in url:
            raise Invalid(f"{line!r} is not a link (https://…), one per line.", "evidence")
        links.append({"url": url, "label": label[:FOCUS_LIMIT] or url})
    if len(links) > MAX_LINKS:
        raise Invalid(f"Give at most {MAX_LINKS} links.", "evidence")
    return links


def links_text(links: list[dict[str, str]]) -> str:
    """The links as the form shows them again."""
    return "\n".join(
        f"{link['label']} | {link['url']}" if link.get("label") != link["url"] else link["url"]
        for link in links
    )


@dataclass(frozen=True)
class _Checked:
    held_on: date
    mode: str
    focus: str
    notes: str
    private_notes: str
    next_steps: str
    participants: list[CoachingParticipant]
    links: list[dict[str, str]]


def _check(plan: CoachingPlan, data: SessionInput, env: ServiceEnv) -> _Checked:
    try:
        held_on = date.fromisoformat((data.held_on or "").strip())
    except ValueError as error:
        raise Invalid("Give the day the session was held.", "held_on") from error
    if held_on > env.now.date():
        raise Invalid("Log a session once it has been held (the day is in the future).", "held_on")
    if data.mode not in SESSION_MODES:
        raise Invalid("Choose face to face or virtual.", "mode")
    focus = " ".join((data.focus or "").split()) or plan.coaching_type.name
    if len(focus) > FOCUS_LIMIT:
        raise Invalid(f"Keep the focus to {FOCUS_LIMIT} characters.", "focus")
    chosen = set(data.participants)
    participants = [p for p in plan.participants if str(p.id) in chosen]
    if len(participants) != len(chosen):
        raise Invalid("Choose the participants from the plan's educators.", "participants")
    if not participants:
        raise Invalid("Tick the educators who took part.", "participants")
    return _Checked(
        held_on=held_on,
        mode=data.mode,
        focus=focus,
        notes=_text(data.notes, "notes", "the notes"),
        private_notes=_text(data.private_notes, "private_notes", "the private notes"),
        next_steps=_text(data.next_steps, "next_steps", "the next steps"),
        participants=participants,
        links=parse_links(data.evidence),
    )


def log_session(
    plan: CoachingPlan, coach: StaffAccount, data: SessionInput, *, actor: Actor, env: ServiceEnv
) -> CoachingSession:
    """The coach logs a session: each participant is asked to confirm it, and each leader on
    the plan is sent the report in their format; audited.

    :raises Forbidden: for anyone but the plan's coach.
    :raises Invalid: naming the field at fault (nothing is stored).
    """
    coaching.require_coach(plan, coach)
    checked = _check(plan, data, env)
    session = CoachingSession(public_id=str(uuid.uuid4()), plan_id=plan.id,
                              logged_by_id=coach.id, created_at=env.now)  # fmt: skip
    _apply(session, checked, env)
    db.session.add(session)
    db.session.flush()
    for participant in checked.participants:
        db.session.add(CoachingAttendance(session_id=session.id, participant_id=participant.id,
                                          state="pending"))  # fmt: skip
    db.session.flush()
    audit.record("coaching.session_log", actor=actor, now=env.now, issuer_id=plan.issuer_id,
                 subject_type="coaching_session", subject_id=session.public_id,
                 detail={"plan": plan.public_id, "mode": checked.mode,
                         "participants": len(checked.participants)})  # fmt: skip
    db.session.refresh(session)
    _send_reports(plan, session, env)
    db.session.commit()
    emails.deliver_soon(env)
    return session


def _apply(session: CoachingSession, checked: _Checked, env: ServiceEnv) -> None:
    session.held_on = checked.held_on
    session.mode = checked.mode
    session.focus = checked.focus
    session.notes = checked.notes
    session.private_notes = checked.private_notes
    session.next_steps = checked.next_steps
    session.evidence_links = checked.links
    session.updated_at = env.now


def update_session(
    session: CoachingSession, coach: StaffAccount, data: SessionInput, *, actor: Actor,
    env: ServiceEnv,
) -> None:  # fmt: skip
    """The coach corrects a session nobody has confirmed yet; an educator's "did not happen
    as logged" is asked again; audited.

    :raises Forbidden: for anyone but the plan's coach.
    :raises Conflict: once an educator has confirmed it.
    :raises Invalid: naming the field at fault.
    """
    plan = session.plan
    coaching.require_coach(plan, coach)
    require_editable(session)
    checked = _check(plan, data, env)
    _apply(session, checked, env)
    wanted = {p.id for p in checked.participants}
    for attendance in list(session.attendees):
        if attendance.participant_id not in wanted:
            db.session.delete(attendance)
        else:
            attendance.state, attendance.comment, attendance.answered_at = "pending", None, None
            attendance.answered_by_id = None
    present = {a.participant_id for a in session.attendees}
    for participant_id in wanted - present:
        db.session.add(CoachingAttendance(session_id=session.id, participant_id=participant_id,
                                          state="pending"))  # fmt: skip
    audit.record("coaching.session_update", actor=actor, now=env.now, issuer_id=plan.issuer_id,
                 subject_type="coaching_session", subject_id=session.public_id,
                 detail={"plan": plan.public_id})  # fmt: skip
    db.session.commit()
    db.session.expire(session, ["attendees"])


def require_editable(session: CoachingSession) -> None:
    """:raises Conflict: once an educator has confirmed the session."""
    if any(a.state == "confirmed" for a in session.attendees):
        raise Conflict("An educator has confirmed this session as logged: it can no longer be "
                       "changed.")  # fmt: skip


def get_session(plan: CoachingPlan, public_id: str) -> CoachingSession:
    """One of the plan's sessions.

    :raises NotFound: when the plan has no such session.
    """
    found = db.session.scalar(
        select(CoachingSession).where(
            CoachingSession.plan_id == plan.id, CoachingSession.public_id == public_id
        )
    )
    if found is None:
        raise NotFound("This plan has no such session.")
    return found


def sessions_of(plan: CoachingPlan) -> list[CoachingSession]:
    """The plan's sessions, newest first."""
    return list(
        db.session.scalars(
            select(CoachingSession)
            .where(CoachingSession.plan_id == plan.id)
            .order_by(CoachingSession.held_on.desc(), CoachingSession.id.desc())
        )
    )


# ---------------------------------------------------------------------- delivered vs agreed


@dataclass(frozen=True)
class Delivery:
    """Sessions delivered against those agreed, by mode. A logged session counts as
    delivered unless every educator in it said it did not happen as logged."""

    face_to_face_agreed: int
    face_to_face: int
    virtual_agreed: int
    virtual: int
    confirmed: int
    disputed: int

    @property
    def agreed(self) -> int:
        """All sessions agreed."""
        return self.face_to_face_agreed + self.virtual_agreed

    @property
    def delivered(self) -> int:
        """All sessions delivered."""
        return self.face_to_face + self.virtual


def counts(session: CoachingSession) -> bool:
    """Whether a logged session counts as delivered (not disputed by all who took part)."""
    return not session.attendees or any(a.state != "disputed" for a in session.attendees)


def delivery(plan: CoachingPlan) -> Delivery:
    """What the plan has delivered against what it agreed."""
    sessions = sessions_of(plan)
    delivered = [s for s in sessions if counts(s)]
    answers = [a for s in sessions for a in s.attendees]
    return Delivery(
        face_to_face_agreed=plan.face_to_face_agreed,
        face_to_face=sum(1 for s in delivered if s.mode == "face_to_face"),
        virtual_agreed=plan.virtual_agreed,
        virtual=sum(1 for s in delivered if s.mode == "virtual"),
        confirmed=sum(
            1 for s in sessions if s.attendees and all(a.state == "confirmed" for a in s.attendees)
        ),
        disputed=sum(1 for a in answers if a.state == "disputed"),
    )


# ----------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Report:
    """What a leader sees of a session: ``summary`` (date, mode, focus, next steps) or
    ``full`` (also the notes, who took part and the evidence links). Never the private notes,
    which this type does not even hold."""

    report_format: str
    plan_label: str
    coach_name: str
    held_on: date
    mode: str
    focus: str
    next_steps: str
    notes: str | None
    participants: tuple[str, ...] | None
    links: tuple[dict[str, str], ...] | None


def report(session: CoachingSession, report_format: str) -> Report:
    """The session's report in ``report_format``."""
    coaching.check_format(report_format)
    plan = session.plan
    full = report_format == "full"
    names = coaching.names_by_address(a.participant.email for a in session.attendees)
    return Report(
        report_format=report_format,
        plan_label=coaching.plan_label(plan),
        coach_name=plan.coach.name,
        held_on=session.held_on,
        mode=MODE_LABELS[session.mode],
        focus=session.focus,
        next_steps=session.next_steps,
        notes=session.notes if full else None,
        participants=tuple(
            names.get(a.participant.email, a.participant.email) for a in session.attendees
        )
        if full
        else None,
        links=tuple(session.evidence_links or ()) if full else None,
    )


def report_format_for(session: CoachingSession, account: StaffAccount) -> str:
    """The format ``account`` reads the session's report in: a named leader's choice; the
    coach reads the full one.

    :raises Forbidden: for anyone but the plan's coach and the leaders named on it.
    """
    plan = session.plan
    recipient = coaching.recipient_of(plan, account)
    if recipient is not None:
        return recipient.report_format
    coaching.require_coach(plan, account)
    return "full"


def report_link(session: CoachingSession, env: ServiceEnv) -> str:
    """The report's page (staff sign in to read it)."""
    plan = session.plan
    return (f"{env.base_url}/workspace/{plan.issuer.slug}/coaching/plans/{plan.public_id}"
            f"/sessions/{session.public_id}/report")  # fmt: skip


def _send_reports(plan: CoachingPlan, session: CoachingSession, env: ServiceEnv) -> None:
    for recipient in plan.recipients:
        if not coaching.leads_for(recipient.staff, plan):
            continue  # no longer a leader there: nothing goes to them
        emails.queue_template(
            "coaching_report",
            env,
            to=recipient.staff.email,
            link=report_link(session, env),
            secret=False,
            issuer_id=plan.issuer_id,
            name=recipient.staff.name,
            report=report(session, recipient.report_format),
            day=format_day(session.held_on, env.settings.locale, width="long"),
        )


# --------------------------------------------------------------------- the educator's side


def attendance_of(session_public_id: str, educator: Educator) -> CoachingAttendance:
    """The educator's place in a session (by any of their confirmed addresses).

    :raises NotFound: when they did not take part (or there is no such session).
    """
    addresses = educators.verified_emails(educator)
    found = db.session.scalar(
        select(CoachingAttendance)
        .join(CoachingSession, CoachingSession.id == CoachingAttendance.session_id)
        .join(CoachingParticipant, CoachingParticipant.id == CoachingAttendance.participant_id)
        .where(
            CoachingSession.public_id == session_public_id,
            CoachingParticipant.email.in_(addresses or [""]),
        )
    )
    if found is None:
        raise NotFound("You have no such coaching session.")
    return found


def answer(
    session_public_id: str, educator: Educator, confirmed: bool, comment: str, env: ServiceEnv
) -> CoachingAttendance:
    """The educator confirms a session as logged, or says it did not happen as logged (with a
    comment, emailed to the coach); once. A confirmation may complete a coaching cycle, whose
    achievement is then awarded (:func:`check_cycle`).

    :raises NotFound: when they did not take part.
    :raises Conflict: when they have answered already.
    :raises Invalid: for a dispute without a comment, or a comment too long.
    """
    attendance = attendance_of(session_public_id, educator)
    text = (comment or "").strip()
    if len(text) > COMMENT_LIMIT:
        raise Invalid(f"Keep the comment to {COMMENT_LIMIT:,} characters.", "comment")
    if not confirmed and not text:
        raise Invalid("Say what did not happen as logged, for your coach.", "comment")
    claimed = db.session.execute(
        update(CoachingAttendance)
        .where(CoachingAttendance.id == attendance.id, CoachingAttendance.state == "pending")
        .values(state="confirmed" if confirmed else "disputed", comment=text or None,
                answered_at=env.now, answered_by_id=educator.id)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(claimed, "rowcount", 0) != 1:
        roll_back_refused()
        raise Conflict("You have already answered for this session.")
    session = attendance.session
    if not confirmed:
        _tell_the_coach(session, educator, text, env)
    audit.record("coaching.session_confirm" if confirmed else "coaching.session_dispute",
                 actor=educators.actor(educator), now=env.now, issuer_id=session.plan.issuer_id,
                 subject_type="coaching_session", subject_id=session.public_id)  # fmt: skip
    db.session.commit()
    emails.deliver_soon(env)
    db.session.refresh(attendance)
    if confirmed:
        check_cycle(attendance.participant, env)
    return attendance


def _tell_the_coach(
    session: CoachingSession, educator: Educator, comment: str, env: ServiceEnv
) -> None:
    """Email the coach that an educator says the session did not happen as logged."""
    plan = session.plan
    emails.queue_template(
        "coaching_disputed",
        env,
        to=plan.coach.email,
        link=(f"{env.base_url}/workspace/{plan.issuer.slug}/coaching/plans/{plan.public_id}"
              f"#session-{session.public_id}"),
        secret=False,
        issuer_id=plan.issuer_id,
        name=plan.coach.name,
        educator_name=educator.name,
        plan_label=coaching.plan_label(plan),
        day=format_day(session.held_on, env.settings.locale, width="long"),
        comment=comment,
    )  # fmt: skip


def add_evidence(
    participant: CoachingParticipant, educator: Educator, url: str, note: str, env: ServiceEnv
) -> None:
    """The educator adds the evidence of their coaching cycle (a link and a note), which may
    complete it (:func:`check_cycle`).

    :raises NotFound: when the place on the plan is not theirs.
    :raises Conflict: once the achievement is awarded.
    :raises Invalid: for no link and no note, a link that is not http(s), or too long a text.
    """
    if participant.email not in educators.verified_emails(educator):
        raise NotFound("You are not on this coaching plan.")
    coaching.require_not_awarded(participant)
    link = (url or "").strip()
    text = _text(note, "note", "the note", COMMENT_LIMIT)
    if link and (
        not link.startswith(("https://", "http://")) or len(link) > URL_LIMIT or " " in link
    ):
        raise Invalid("Give a link starting https://.", "url")
    if not link and not text:
        raise Invalid("Give a link to your evidence, or describe it.", "url")
    participant.evidence_url = link or None
    participant.evidence_note = text or None
    participant.evidence_added_at = env.now
    audit.record("coaching.evidence_add", actor=educators.actor(educator), now=env.now,
                 issuer_id=participant.plan.issuer_id, subject_type="coaching_plan",
                 subject_id=participant.plan.public_id)  # fmt: skip
    db.session.commit()
    check_cycle(participant, env)


def confirm_evidence(
    participant: CoachingParticipant, coach: StaffAccount, *, actor: Actor, env: ServiceEnv
) -> None:
    """The coach confirms the educator's cycle has its evidence, which may complete it;
    audited.

    :raises Forbidden: for anyone but the plan's coach.
    :raises Conflict: once the achievement is awarded, or when already confirmed.
    """
    coaching.require_coach(participant.plan, coach)
    coaching.require_not_awarded(participant)
    if participant.evidence_confirmed_at is not None:
        raise Conflict("You have already confirmed this educator's evidence.")
    participant.evidence_confirmed_at = env.now
    audit.record("coaching.evidence_confirm", actor=actor, now=env.now,
                 issuer_id=participant.plan.issuer_id, subject_type="coaching_plan",
                 subject_id=participant.plan.public_id,
                 detail={"educator": participant.email})  # fmt: skip
    db.session.commit()
    check_cycle(participant, env)


# ------------------------------------------------------------------ the coaching cycle award


@dataclass(frozen=True)
class Cycle:
    """An educator's progress toward the plan's coaching-cycle achievement."""

    achievement: Achievement
    name: str
    required: int
    confirmed: int
    evidence_required: bool
    has_evidence: bool
    credential_id: str | None

    @property
    def complete(self) -> bool:
        """Whether everything the rule asks for is there."""
        return self.confirmed >= self.required and (self.has_evidence or not self.evidence_required)


def confirmed_sessions(participant: CoachingParticipant) -> list[CoachingSession]:
    """The sessions the educator confirmed, oldest first."""
    return list(
        db.session.scalars(
            select(CoachingSession)
            .join(CoachingAttendance, CoachingAttendance.session_id == CoachingSession.id)
            .where(CoachingAttendance.participant_id == participant.id,
                   CoachingAttendance.state == "confirmed")
            .order_by(CoachingSession.held_on, CoachingSession.id)
        )
    )  # fmt: skip


def cycle_of(participant: CoachingParticipant) -> Cycle | None:
    """The educator's progress toward the plan's cycle achievement (None: the plan has none,
    or its achievement no longer recognises coaching cycles)."""
    plan = participant.plan
    if plan.achievement_id is None:
        return None
    achievement = db.session.get(Achievement, plan.achievement_id)
    rule = recognition.rule_of(achievement) if achievement is not None else None
    if achievement is None or rule is None or rule.kind != "coaching":
        return None
    return Cycle(
        achievement=achievement,
        name=org_achievements.current_version(achievement).name,
        required=rule.count,
        confirmed=len(confirmed_sessions(participant)),
        evidence_required=rule.evidence_required,
        has_evidence=participant.evidence_added_at is not None
        or participant.evidence_confirmed_at is not None,
        credential_id=participant.credential_id,
    )


def check_cycle(participant: CoachingParticipant, env: ServiceEnv) -> IssuedCredential | None:
    """Award the plan's coaching-cycle achievement to the educator when the rule is met and it
    was not awarded yet: exactly once (the participant row is claimed in the award's own
    transaction). The evidence: the confirmed sessions in summary (date, mode, focus, next
    steps; never notes or private notes) and the educator's evidence. A refused award is
    logged; what led to it (a confirmation, evidence) stays."""
    cycle = cycle_of(participant)
    if cycle is None or participant.credential_id is not None or not cycle.complete:
        return None
    issuer = participant.plan.issuer
    try:
        return _award_cycle(issuer, participant, cycle, env)
    except ServiceError as refused:
        log.warning("coaching-cycle award for plan %s not made: %s",
                    participant.plan.public_id, refused.message)  # fmt: skip
        return None


def cycle_evidence(participant: CoachingParticipant, locale: str) -> tuple[EvidenceInput, ...]:
    """The award's evidence: each confirmed session in summary, and the educator's evidence."""
    entries = []
    for session in confirmed_sessions(participant):
        day = format_day(session.held_on, locale, width="long")
        narrative = (
            f"{MODE_LABELS[session.mode]} coaching session on {day}. Focus: {session.focus}."
        )
        if session.next_steps:
            narrative += f"\n\nAgreed next steps: {session.next_steps}"
        entries.append(EvidenceInput(name=f"Coaching session, {day}", narrative=narrative))
    if participant.evidence_url or participant.evidence_note:
        entries.append(
            EvidenceInput(url=participant.evidence_url, name="Evidence of the coaching cycle",
                          narrative=participant.evidence_note)
        )  # fmt: skip
    return tuple(entries)


def _award_cycle(
    issuer: Issuer, participant: CoachingParticipant, cycle: Cycle, env: ServiceEnv
) -> IssuedCredential:
    plan = participant.plan
    holder = db.session.scalar(
        select(Educator)
        .join(EducatorEmail, EducatorEmail.educator_id == Educator.id)
        .where(EducatorEmail.email == participant.email, EducatorEmail.verified_at.is_not(None))
    )
    name = holder.credential_name if holder is not None else None

    def record(credential: IssuedCredential) -> None:
        claimed = db.session.execute(
            update(CoachingParticipant)
            .where(CoachingParticipant.id == participant.id,
                   CoachingParticipant.credential_id.is_(None))
            .values(credential_id=credential.id, awarded_at=env.now)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if getattr(claimed, "rowcount", 0) != 1:
            raise Conflict("The coaching-cycle achievement was just awarded.")

    with all_or_nothing():
        credential = issuing.award(
            issuer,
            cycle.achievement,
            AwardInput(
                email=participant.email,
                name=name,
                narrative=(
                    f"Completed a coaching cycle ({plan.coaching_type.name}) with "
                    f"{plan.coach.name}: {cycle.confirmed} sessions confirmed."
                ),
                evidence=cycle_evidence(participant, env.settings.locale),
                claimed=name is not None,
            ),
            actor=CYCLE_ACTOR,
            env=env,
            on_store=record,
        )
    db.session.refresh(participant)
    return credential
