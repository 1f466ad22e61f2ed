"""Coaching: types, plans (who may be on one, who may receive its reports), sessions delivered
against agreed, the educator's confirmation, reports that never hold the private notes, the
coaching-cycle achievement awarded once at N confirmed sessions with evidence, and the
learning-partner achievement awarded at the count from the confirmation itself."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    CoachingAttendance,
    EmailMessage,
    Enrolment,
    IssuedCredential,
    PartnerRecognition,
)
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.learning import (
    answers,
    authoring,
    coaching,
    coaching_sessions,
    enrolments,
    partners,
    recognition,
)
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.learning.coaching import PlanInput
from app.services.learning.coaching_sessions import SessionInput
from app.services.org import schools
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.coaching_helpers import ACTOR, District, district, educator, log
from tests.app.conftest import BASE_URL
from tests.app.mail_helpers import body_of, delivered
from tests.app.portfolio_helpers import sign_in_educator

PRIVATE = "Ann seemed tired; check in about workload."
NOTES = "Modelled think-alouds in the reading block."


@pytest.fixture
def d(make_staff, make_issuer, make_achievement) -> District:
    return district(make_staff, make_issuer, make_achievement)


def credentials_of(achievement: Any) -> list[IssuedCredential]:
    return list(
        db.session.scalars(
            select(IssuedCredential).where(IssuedCredential.achievement_id == achievement.id)
        )
    )


# --- types and plans --------------------------------------------------------------------------


def test_an_organisation_starts_with_the_default_types_and_edits_them(d: District) -> None:
    env = service_env()
    names = [t.name for t in coaching.types_for(d.issuer, env)]
    assert names == sorted(coaching.DEFAULT_TYPES)
    added = coaching.add_type(d.issuer, "  Peer   observation ", actor=ACTOR, env=env)
    assert added.name == "Peer observation"
    with pytest.raises(Invalid, match="already a coaching type"):
        coaching.add_type(d.issuer, "Peer observation", actor=ACTOR, env=env)
    coaching.rename_type(added, "Peer observation cycles", actor=ACTOR, env=env)
    coaching.set_retired(added, True, actor=ACTOR, env=env)
    assert "Peer observation cycles" not in [t.name for t in coaching.types_for(d.issuer, env)]
    # Retiring every type does not bring the defaults back a second time.
    for kind in coaching.types_for(d.issuer, env):
        coaching.set_retired(kind, True, actor=ACTOR, env=env)
    assert coaching.types_for(d.issuer, env) == []
    assert len(coaching.types_for(d.issuer, env, include_retired=True)) == 4


def test_a_plan_names_people_the_organisation_knows_and_its_leaders(d: District) -> None:
    env = service_env()
    focus = coaching.types_for(d.issuer, env)[0]
    base = dict(school=d.school.public_id, coach=str(d.coach.id), coaching_type=str(focus.id),
                face_to_face="1", virtual="0", educators=("ann@northside.example.org",))  # fmt: skip
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(Invalid, match="not someone this organisation knows") as refused:
        coaching.create_plan(d.issuer, PlanInput(**{**base, "educators": ("stranger@x.example.org",)}),
                             actor=ACTOR, env=env)  # fmt: skip
    assert refused.value.field == "educators"
    with pytest.raises(Invalid, match="leaders of Northside Elementary only"):
        coaching.create_plan(d.issuer, PlanInput(**base, recipients={str(d.other_leader.id): "full"}),
                             actor=ACTOR, env=env)  # fmt: skip
    with pytest.raises(Invalid, match="leaders of the whole organisation only"):
        coaching.create_plan(
            d.issuer,
            PlanInput(**{**base, "school": "", "team_name": "New teachers"},
                      recipients={str(d.school_leader.id): "summary"}),
            actor=ACTOR, env=env,
        )  # fmt: skip
    with pytest.raises(Invalid, match="at least one session"):
        coaching.create_plan(d.issuer, PlanInput(**{**base, "face_to_face": "0"}), actor=ACTOR,
                             env=env)  # fmt: skip
    with pytest.raises(Invalid, match="coach from this organisation"):
        coaching.create_plan(
            d.issuer, PlanInput(**{**base, "coach": "999999"}), actor=ACTOR, env=env
        )
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    team = coaching.create_plan(
        d.issuer,
        PlanInput(**{**base, "school": "", "team_name": "New teachers"},
                  recipients={str(d.district_leader.id): "full"}),
        actor=ACTOR, env=env,
    )  # fmt: skip
    assert coaching.plan_label(team) == f"New teachers: {focus.name}"
    # The coach sees their plans, a named leader theirs, another leader none, editors all.
    assert {p.public_id for p in coaching.plans_for(d.issuer, d.coach, "viewer")} == {
        d.plan.public_id, team.public_id}  # fmt: skip
    assert [p.public_id for p in coaching.plans_for(d.issuer, d.school_leader, "viewer")] == [
        d.plan.public_id]  # fmt: skip
    assert coaching.plans_for(d.issuer, d.other_leader, "viewer") == []
    assert len(coaching.plans_for(d.issuer, d.owner, "owner")) == 2


# --- sessions ---------------------------------------------------------------------------------


def test_only_the_coach_logs_and_delivered_is_counted_against_agreed(d: District) -> None:
    with pytest.raises(Forbidden):
        coaching_sessions.log_session(
            d.plan, d.owner, SessionInput(), actor=ACTOR, env=service_env()
        )
    empty = coaching_sessions.delivery(d.plan)
    assert (empty.face_to_face, empty.face_to_face_agreed, empty.virtual, empty.virtual_agreed) == (
        0,
        4,
        0,
        2,
    )
    log(d)
    log(d, mode="virtual", who=(d.ann,))
    disputed = log(d, who=(d.ann,))
    coaching_sessions.answer(
        disputed.public_id, d.ann, False, "We cancelled: snow day.", service_env()
    )
    counted = coaching_sessions.delivery(d.plan)
    # The session Ann (its only participant) said did not happen is not delivered.
    assert (counted.face_to_face, counted.virtual, counted.delivered, counted.agreed) == (
        1,
        1,
        2,
        6,
    )
    assert counted.disputed == 1


def test_a_session_is_checked_before_it_is_logged(d: District) -> None:
    env = service_env()
    ann = next(str(p.id) for p in d.plan.participants if p.email.startswith("ann"))
    good = dict(held_on=env.now.date().isoformat(), mode="virtual", participants=(ann,))
    for bad, field in (({"held_on": "2999-01-01"}, "held_on"), ({"mode": "phone"}, "mode"),
                       ({"participants": ()}, "participants"), ({"participants": ("0",)}, "participants"),
                       ({"evidence": "javascript:alert(1)"}, "evidence")):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            coaching_sessions.log_session(d.plan, d.coach, SessionInput(**{**good, **bad}),
                                          actor=ACTOR, env=env)  # fmt: skip
        assert refused.value.field == field
    assert coaching_sessions.sessions_of(d.plan) == []
    logged = coaching_sessions.log_session(
        d.plan, d.coach, SessionInput(**good), actor=ACTOR, env=env
    )
    assert logged.focus == "Instructional coaching"  # the plan's focus when none is given


def test_the_educator_confirms_once_and_only_their_own_sessions(d: District) -> None:
    env = service_env()
    session = log(d, who=(d.ann,))
    with pytest.raises(NotFound):
        coaching_sessions.answer(session.public_id, d.ben, True, "", env)  # not in it
    with pytest.raises(NotFound):
        coaching_sessions.answer(session.public_id, d.outsider, True, "", env)
    with pytest.raises(Invalid, match="Say what did not happen"):
        coaching_sessions.answer(session.public_id, d.ann, False, "  ", env)
    answered = coaching_sessions.answer(session.public_id, d.ann, True, "", env)
    assert answered.state == "confirmed" and answered.answered_by_id == d.ann.id
    with pytest.raises(Conflict, match="already answered"):
        coaching_sessions.answer(session.public_id, d.ann, False, "No", env)
    # Once confirmed, the coach can no longer change the log.
    with pytest.raises(Conflict, match="can no longer be changed"):
        coaching_sessions.require_editable(session)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.issuer_id == d.issuer.id)
    ).all()
    for action in ("coaching.plan_create", "coaching.session_log", "coaching.session_confirm",
                   "recognition.rule_set"):  # fmt: skip
        assert action in actions


def test_a_correction_asks_a_disputing_educator_again(d: District) -> None:
    env = service_env()
    session = log(d, who=(d.ann,))
    coaching_sessions.answer(session.public_id, d.ann, False, "It was virtual.", env)
    told = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "coaching_disputed")
    ).one()
    assert told.to_address == d.coach.email and "It was virtual." in told.body_text
    ann = next(str(p.id) for p in d.plan.participants if p.email.startswith("ann"))
    coaching_sessions.update_session(
        session, d.coach,
        SessionInput(held_on=env.now.date().isoformat(), mode="virtual", participants=(ann,)),
        actor=ACTOR, env=env,
    )  # fmt: skip
    attendance = db.session.scalars(select(CoachingAttendance)).one()
    assert (attendance.state, attendance.comment) == ("pending", None)
    assert session.mode == "virtual"


# --- reports ----------------------------------------------------------------------------------


def test_reports_never_hold_the_private_notes_in_either_format(d: District) -> None:
    session = log(d)
    summary = coaching_sessions.report(session, "summary")
    full = coaching_sessions.report(session, "full")
    assert summary.notes is None and summary.participants is None and summary.links is None
    assert summary.next_steps == "Ann tries think-alouds twice this week."
    assert full.notes == NOTES and set(full.participants or ()) == {"Ann Lee", "Ben Ortiz"}
    for report in (summary, full):
        assert PRIVATE not in json.dumps(report.__dict__, default=str)
    # The email to each leader is in their format, and never holds the private notes.
    mail = {m.to_address: m for m in db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "coaching_report"))}  # fmt: skip
    assert set(mail) == {d.school_leader.email, d.district_leader.email}
    for message in mail.values():
        assert PRIVATE not in message.body_text and PRIVATE not in (message.body_html or "")
        assert "think-alouds twice" in message.body_text
    assert NOTES in mail[d.school_leader.email].body_text  # full
    assert NOTES not in mail[d.district_leader.email].body_text  # summary
    # What leaders read: their own format; the coach reads the full one; nobody else.
    assert coaching_sessions.report_format_for(session, d.school_leader) == "full"
    assert coaching_sessions.report_format_for(session, d.district_leader) == "summary"
    assert coaching_sessions.report_format_for(session, d.coach) == "full"
    for stranger in (d.other_leader, d.owner):
        with pytest.raises(Forbidden):
            coaching_sessions.report_format_for(session, stranger)


def test_a_leader_no_longer_leading_there_gets_nothing(d: District) -> None:
    appointment = next(a for a in schools.leaders_of(d.issuer) if a.staff_id == d.school_leader.id)
    schools.dismiss(appointment, actor=ACTOR, env=service_env())
    session = log(d)
    sent = db.session.scalars(
        select(EmailMessage.to_address).where(EmailMessage.kind == "coaching_report")
    ).all()
    assert sent == [d.district_leader.email]
    with pytest.raises(Forbidden):
        coaching_sessions.report_format_for(session, d.school_leader)


# --- the coaching-cycle achievement -----------------------------------------------------------


def test_the_cycle_achievement_is_awarded_once_at_n_confirmed_sessions_with_evidence(
    d: District,
) -> None:
    env = service_env()
    first, second, third = log(d), log(d, mode="virtual"), log(d)
    coaching_sessions.answer(first.public_id, d.ann, True, "", env)
    assert credentials_of(d.cycle_badge) == []
    coaching_sessions.answer(second.public_id, d.ann, True, "", env)
    # Two confirmed, but the rule also asks for evidence: not yet.
    assert credentials_of(d.cycle_badge) == []
    participant = next(p for p in d.plan.participants if p.email.startswith("ann"))
    cycle = coaching_sessions.cycle_of(participant)
    assert cycle is not None and (cycle.confirmed, cycle.required, cycle.complete) == (2, 2, False)
    with pytest.raises(Invalid):
        coaching_sessions.add_evidence(participant, d.ann, "ftp://x", "", env)
    with pytest.raises(NotFound):
        coaching_sessions.add_evidence(participant, d.ben, "https://x.example.org", "", env)
    coaching_sessions.add_evidence(participant, d.ann, "https://portfolio.example.org/ann/think-alouds",
                                   "Two lessons with think-alouds, and my reflection.", env)  # fmt: skip
    awarded = credentials_of(d.cycle_badge)
    assert len(awarded) == 1 and awarded[0].recipient_email == participant.email
    assert participant.credential_id == awarded[0].id
    document = awarded[0].document
    assert "Guided reading" in document and "think-alouds twice this week" in document
    assert PRIVATE not in document and NOTES not in document  # summary only, never private
    assert "https://portfolio.example.org/ann/think-alouds" in document
    # A third confirmation, or more evidence, awards nothing again.
    coaching_sessions.answer(third.public_id, d.ann, True, "", env)
    with pytest.raises(Conflict, match="already been awarded"):
        coaching_sessions.add_evidence(participant, d.ann, "https://x.example.org", "", env)
    assert coaching_sessions.check_cycle(participant, env) is None
    assert len(credentials_of(d.cycle_badge)) == 1


def test_the_coach_may_confirm_the_evidence_instead(d: District) -> None:
    env = service_env()
    for session in (log(d, who=(d.ben,)), log(d, who=(d.ben,))):
        coaching_sessions.answer(session.public_id, d.ben, True, "", env)
    ben = next(p for p in d.plan.participants if p.email.startswith("ben"))
    with pytest.raises(Forbidden):
        coaching_sessions.confirm_evidence(ben, d.school_leader, actor=ACTOR, env=env)
    coaching_sessions.confirm_evidence(ben, d.coach, actor=Actor(d.coach), env=env)
    assert len(credentials_of(d.cycle_badge)) == 1 and ben.credential_id is not None
    with pytest.raises(Conflict):
        coaching_sessions.confirm_evidence(ben, d.coach, actor=Actor(d.coach), env=env)


def test_a_rule_without_evidence_awards_at_the_nth_confirmation(
    make_staff, make_issuer, make_achievement
) -> None:
    d = district(make_staff, make_issuer, make_achievement, sessions=1, evidence=False)
    session = log(d)
    coaching_sessions.answer(session.public_id, d.ann, True, "", service_env())
    assert [c.recipient_email for c in credentials_of(d.cycle_badge)] == [d.ann.emails[0].email]
    coaching_sessions.answer(session.public_id, d.ben, True, "", service_env())
    assert len(credentials_of(d.cycle_badge)) == 2  # each educator once


# --- the learning-partner achievement ---------------------------------------------------------


def partner_token() -> str:
    found = delivered(kind="partner_invite")
    match = re.search(r"/partner/([A-Za-z0-9_-]+)", body_of(found[-1]))
    assert match
    return match.group(1)


def test_the_learning_partner_achievement_is_awarded_at_the_count(
    client, make_issuer, make_achievement
) -> None:
    env = service_env()
    issuer = make_issuer("Partners District")
    module_badge = make_achievement(issuer, "Exit Tickets")
    partner_badge = make_achievement(issuer, "Learning Partner")
    recognition.set_rule(issuer, partner_badge.public_id, "partner", 2, True, actor=ACTOR, env=env)
    with pytest.raises(Invalid):
        recognition.set_rule(
            issuer, partner_badge.public_id, "partner", 0, False, actor=ACTOR, env=env
        )
    module = authoring.create_module(issuer, ModuleInput(title="Exit tickets", summary="S",
                                     achievement_public_id=module_badge.public_id), actor=ACTOR, env=env)  # fmt: skip
    activity = authoring.add_activity(module, ActivityInput(title="Try it"), actor=ACTOR, env=env)
    authoring.add_prompt(activity, "How did it go?", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    sam = educator("sam@school.example.org", "Sam Reyes")

    def colleague_confirmed_by_sam(email: str, name: str, thanks: str | None) -> Enrolment:
        who = educator(email, name)
        enrolment = enrolments.enrol(who, module, service_env())
        answers.save_answers(
            enrolment, who, activity, {activity.prompts[0].id: "Well."}, service_env()
        )
        partners.invite_partner(enrolment, who, "Sam", "SAM@school.example.org", service_env())
        partners.confirm_partner(partner_token(), service_env())
        if thanks:
            partners.thank_partner(enrolment, who, thanks, service_env())
        return enrolment

    colleague_confirmed_by_sam("ann@school.example.org", "Ann Lee", "Thank you for the chats!")
    assert credentials_of(partner_badge) == []
    colleague_confirmed_by_sam("ben@school.example.org", "Ben Ortiz", None)
    awarded = credentials_of(partner_badge)
    assert len(awarded) == 1 and awarded[0].recipient_email == "sam@school.example.org"
    assert "Thank you for the chats!" in awarded[0].document  # the thanks are evidence
    assert "Exit tickets" in awarded[0].document
    colleague_confirmed_by_sam("cal@school.example.org", "Cal Dunn", None)
    assert len(credentials_of(partner_badge)) == 1  # once
    assert db.session.scalar(select(func.count()).select_from(PartnerRecognition)) == 1
    # Sam sees the partnerships and the award.
    found = recognition.partnerships_of(sam)
    assert [name for _, name in found.as_partner] == ["Ann Lee", "Ben Ortiz", "Cal Dunn"]
    assert found.progress[0].credential_id == awarded[0].id
    # And on their page: the colleagues, the thanks, the award.
    sign_in_educator(client, sam)
    page = client.get("/me/partnerships", base_url=BASE_URL).get_data(as_text=True)
    assert "Ann Lee" in page and "Cal Dunn" in page and "Thank you for the chats!" in page
    assert "Learning Partner" in page and "Awarded" in page
