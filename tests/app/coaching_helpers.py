"""A district with coaching under way, for the coaching tests (services, authorisation,
browser): two schools with rosters, a coach, a leader of each school and one of the whole
organisation, two educators with accounts on the first school's roster, a coaching-cycle
achievement, and a plan reporting to the first school's leader (full) and the district
leader (summary)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.models import Achievement, CoachingPlan, CoachingSession, Educator, Issuer, StaffAccount
from app.services.learning import coaching, coaching_sessions, educators, recognition
from app.services.learning.coaching import PlanInput
from app.services.learning.coaching_sessions import SessionInput
from app.services.org import schools, staff
from app.services.org.audit import Actor
from app.wiring import service_env

ACTOR = Actor(label="test")
#: What the coach keeps to themselves in every session :func:`log` logs.
PRIVATE_NOTE = "Ann seemed tired; check in about workload."


@dataclass
class District:
    """Everyone and everything of the coaching scenario."""

    issuer: Issuer
    owner: StaffAccount
    coach: StaffAccount
    school_leader: StaffAccount
    other_leader: StaffAccount
    district_leader: StaffAccount
    ann: Educator
    ben: Educator
    outsider: Educator
    school: Any
    other_school: Any
    cycle_badge: Achievement
    plan: CoachingPlan


def educator(email: str, name: str) -> Educator:
    """An educator with one confirmed address and a confirmed name (committed)."""
    found = educators.create(email, name, service_env(), verified=True, name_confirmed=True)
    db.session.commit()
    return found


def district(
    make_staff: Any, make_issuer: Any, make_achievement: Any, *, sessions: int = 2,
    evidence: bool = True, prefix: str = "",
) -> District:  # fmt: skip
    """The scenario; ``sessions`` and ``evidence`` are the cycle achievement's rule."""
    env = service_env()
    owner = make_staff(f"{prefix}owner@d7.example.org", name="Olive Owner")
    issuer = make_issuer(f"{prefix}District 7", owner=owner)
    people = {}
    for key, name in (("coach", "Cora Coach"), ("school_leader", "Lena Principal"),
                      ("other_leader", "Omar Principal"), ("district_leader", "Dina Superintendent")):  # fmt: skip
        account = make_staff(f"{prefix}{key.replace('_', '.')}@d7.example.org", name=name)
        staff.set_role(issuer, account, "viewer", actor=ACTOR, env=env)
        people[key] = account
    school = schools.create(issuer, "Northside Elementary", actor=ACTOR, env=env)
    other_school = schools.create(issuer, "Southside Middle", actor=ACTOR, env=env)
    ann = educator(f"{prefix}ann@northside.example.org", "Ann Lee")
    ben = educator(f"{prefix}ben@northside.example.org", "Ben Ortiz")
    outsider = educator(f"{prefix}sue@southside.example.org", "Sue Park")
    schools.set_members(school, [ann.emails[0].email, ben.emails[0].email], actor=ACTOR, env=env)
    schools.set_members(other_school, [outsider.emails[0].email], actor=ACTOR, env=env)
    schools.appoint(issuer, people["school_leader"], school, actor=ACTOR, env=env)
    schools.appoint(issuer, people["other_leader"], other_school, actor=ACTOR, env=env)
    schools.appoint(issuer, people["district_leader"], None, actor=ACTOR, env=env)
    badge = make_achievement(issuer, "Coaching Cycle: Instructional Coaching")
    recognition.set_rule(issuer, badge.public_id, "coaching", sessions, evidence, actor=ACTOR,
                         env=env)  # fmt: skip
    focus = next(t for t in coaching.types_for(issuer, env) if t.name == "Instructional coaching")
    plan = coaching.create_plan(
        issuer,
        PlanInput(
            school=school.public_id, coach=str(people["coach"].id), coaching_type=str(focus.id),
            face_to_face="4", virtual="2",
            educators=(ann.emails[0].email, ben.emails[0].email),
            recipients={str(people["school_leader"].id): "full",
                        str(people["district_leader"].id): "summary"},
            achievement=badge.public_id,
        ),
        actor=ACTOR, env=env,
    )  # fmt: skip
    return District(issuer=issuer, owner=owner, ann=ann, ben=ben, outsider=outsider,
                    school=school, other_school=other_school, cycle_badge=badge, plan=plan,
                    **people)  # fmt: skip


def log(d: District, *, mode: str = "face_to_face", who: tuple[Educator, ...] | None = None,
        notes: str = "Modelled think-alouds in the reading block.",
        private: str = PRIVATE_NOTE) -> CoachingSession:  # fmt: skip
    """The coach logs a session held today with ``who`` (default: both educators)."""
    chosen = who if who is not None else (d.ann, d.ben)
    wanted = {e.emails[0].email for e in chosen}
    ids = tuple(str(p.id) for p in d.plan.participants if p.email in wanted)
    env = service_env()
    return coaching_sessions.log_session(
        d.plan, d.coach,
        SessionInput(held_on=env.now.date().isoformat(), mode=mode, focus="Guided reading",
                     notes=notes, private_notes=private,
                     next_steps="Ann tries think-alouds twice this week.",
                     participants=ids, evidence="Lesson plan | https://docs.example.org/lp1"),
        actor=Actor(d.coach), env=env,
    )  # fmt: skip
