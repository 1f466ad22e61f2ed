"""A known district for the leaders' tests: two schools with rosters and job roles, educators,
a module with enrolments, credentials of aligned achievements with hours, all dated in the last
complete school year (so every figure is the same whatever day the tests run); and, with
:func:`add_plans`, learning plans for that year and coaching plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Achievement,
    CoachingPlan,
    Educator,
    EducatorEmail,
    Enrolment,
    IssuedCredential,
    Issuer,
    LearningPlan,
    Module,
    School,
    StaffAccount,
)
from app.services._core.errors import required
from app.services.awarding import revocation
from app.services.learning import authoring, coaching, coaching_sessions, leadership, plans
from app.services.learning.authoring import ModuleInput
from app.services.learning.coaching import PlanInput
from app.services.learning.coaching_sessions import SessionInput
from app.services.org import schools, staff
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.educator.educator_helpers import make_educator

ISTE = "ISTE Standards for Educators"


def aligned(code: str, name: str) -> dict[str, Any]:
    return {"target_name": name, "target_code": code, "target_framework": ISTE,
            "target_url": f"https://iste.org/standards/educators#{code}"}  # fmt: skip


@dataclass
class District:
    """The known data set."""

    issuer: Issuer
    owner: StaffAccount
    hill: School
    vale: School
    year: int
    analyst: Achievement
    designer: Achievement
    partner: Achievement
    module: Module

    def day(self, month: int, day: int) -> datetime:
        """A moment in the data set's school year (August to July)."""
        year = self.year if month >= leadership.SCHOOL_YEAR_START_MONTH else self.year + 1
        return datetime(year, month, day, 15, tzinfo=UTC)


def build_district(make_staff: Any, make_issuer: Any, make_achievement: Any, make_award: Any
                   ) -> District:  # fmt: skip
    """Hill (ann and bo teachers, cy a coach with no Cairn account) and Vale (di a teacher, ed
    an administrator); fay is on no roster. Credentials in the school year: ann, cy and di the
    Data Analyst badge (ISTE 2.7, 10 clock hours), bo the Designer badge (ISTE 2.5 and 2.7, 1
    CEU), fay the Partner badge (no standard, no credit); ed's Data Analyst badge is revoked.
    Enrolments in the Data Analyst module: ann (1 Sep, completed 15 Sep), fay (1 Sep, open),
    di (1 Oct, completed 20 Oct), bo (10 July, open: the one active in the year's last 30
    days)."""
    owner = make_staff("owner@lakeside.example.org", name="Olive Owner")
    issuer = make_issuer("Lakeside District", owner=owner)
    actor, env = Actor(owner), service_env()
    hill = schools.create(issuer, "Hill Elementary", actor=actor, env=env)
    vale = schools.create(issuer, "Vale Middle", actor=actor, env=env)
    roster = schools.parse_roster("ann@hill.example.org, teacher\nbo@hill.example.org, Teacher\n"
                                  "cy@hill.example.org, coach")  # fmt: skip
    schools.set_members(hill, list(roster), roles=roster, actor=actor, env=env)
    vale_roster = {"di@vale.example.org": "teacher", "ed@vale.example.org": "administrator"}
    schools.set_members(vale, list(vale_roster), roles=vale_roster, actor=actor, env=env)
    ann = make_educator("ann@hill.example.org", "Ann Lee")
    bo = make_educator("bo@hill.example.org", "Bo Chen")
    di = make_educator("di@vale.example.org", "Di Park")
    fay = make_educator("fay@home.example.org", "Fay Moss")
    analyst = make_achievement(issuer, "Data Analyst", alignments=(aligned("2.7", "Analyst"),),
                               credits_available=10, credit_unit="clock_hours")  # fmt: skip
    designer = make_achievement(issuer, "Designer", credits_available=1, credit_unit="ceu",
                                alignments=(aligned("2.5", "Designer"), aligned("2.7", "Analyst")))  # fmt: skip
    partner = make_achievement(issuer, "Learning Partner")
    module = authoring.create_module(issuer, ModuleInput(title="Using student data", summary="S",
                                     achievement_public_id=analyst.public_id), actor=actor, env=env)  # fmt: skip
    today = env.now.date()
    district = District(issuer, owner, hill, vale, leadership.school_year_of(today) - 1,
                        analyst, designer, partner, module)  # fmt: skip
    d = district.day
    for email, achievement, when in (
        ("ann@hill.example.org", analyst, d(9, 15)), ("cy@hill.example.org", analyst, d(9, 20)),
        ("bo@hill.example.org", designer, d(10, 10)), ("di@vale.example.org", analyst, d(10, 20)),
        ("fay@home.example.org", partner, d(9, 1)), ("ed@vale.example.org", analyst, d(9, 2)),
    ):  # fmt: skip
        credential: IssuedCredential = make_award(issuer, achievement, email)
        # Committed at once: an open write would hold SQLite's lock while the next award
        # allocates its status index on a connection of its own.
        db.session.execute(update(IssuedCredential).where(IssuedCredential.id == credential.id)
                           .values(issued_at=when))  # fmt: skip
        db.session.commit()
        if email.startswith("ed@"):
            revocation.revoke(credential, "Awarded in error", actor=actor, env=env)
    for educator, enrolled, completed in (
        (ann, d(9, 1), d(9, 15)), (fay, d(9, 1), None), (di, d(10, 1), d(10, 20)),
        (bo, d(7, 10), None),
    ):  # fmt: skip
        db.session.add(Enrolment(module_id=module.id, educator_id=educator.id, enrolled_at=enrolled,
                                 state="awarded" if completed else "in_progress", completed_at=completed))  # fmt: skip
    db.session.commit()
    return district


def whole_year(district: District) -> dict[str, Any]:
    """filters_for's period arguments for the data set's school year."""
    return {"year": district.year, "start": None, "end": None,
            "today": service_env().now.date()}  # fmt: skip


# ------------------------------------------------------------------ plans and coaching

#: Text of the plans that no leader's page or CSV may show.
PLAN_SECRETS = ("VISION-OF-ANN", "GOAL-TITLE-ANN", "PRIVATE-DOUBTS", "SESSION-NOTE",
                "NOT-SHARED-VISION")  # fmt: skip
#: The reflection ann shared: leaders of her school read it on her plan (never on a panel).
SHARED_REFLECTION = "SHARED-INSIGHT"


@dataclass
class Planning:
    """The plans and coaching added to the known district by :func:`add_plans`."""

    ann_plan: LearningPlan
    bo_plan: LearningPlan
    di_plan: LearningPlan
    coach: StaffAccount
    other_coach: StaffAccount
    hill_coaching: CoachingPlan
    team_coaching: CoachingPlan
    ann: Educator
    di: Educator


def _educator(email: str) -> Educator:
    found = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == email))
    assert found is not None
    return required(db.session.get(Educator, found.educator_id), "educator")


def _plan(district: District, educator: Educator, goals: list[tuple[str, list[str], list[Any]]],
          *, vision: str, shared: bool) -> LearningPlan:  # fmt: skip
    env = service_env()
    year = f"{district.year}-{district.year + 1}"
    plan = plans.create(educator, {"school_year": year, "organisation": district.issuer.slug}, env)
    plans.update_vision(plan, {"vision": vision, "research_question": None}, env)
    keys = {s.name: s.key for s in plans.framework(district.issuer)}
    for title, standards, badges in goals:
        plans.add_goal(plan, educator, {"title": title, "description": "", "items": [],
                       "standards": [keys[s] for s in standards], "modules": [],
                       "achievements": [b.public_id for b in badges], "evidence": "",
                       "target_date": None}, env)  # fmt: skip
    if shared:
        plans.set_shared(plan, True, env)
    return plan


def add_plans(district: District, make_staff: Any) -> Planning:
    """Learning plans for the district's school year and two coaching plans:

    - ann (Hill, shared): "Analyst" with the Data Analyst badge (held: complete) and
      "Designer" with the Designer badge (not held); a shared and a private reflection.
    - bo (Hill, not shared): two goals, never counted.
    - di (Vale, shared): "Analyst" with the Data Analyst badge (complete), "Analyst" and
      "Designer" with the Designer badge (not held).
    - fay (no roster, shared): "Designer" with nothing chosen (not complete), and a goal
      aligned to no standard.
    - Hill's coaching plan (Cora Coach, Instructional coaching, ann): 4 face to face and 2
      virtual agreed; 2 face to face and 1 virtual delivered. A team plan (Carl Coach,
      Leadership coaching, di): 2 face to face agreed, none delivered.
    """
    env = service_env()
    a, d = district.analyst, district.designer
    ann, bo = _educator("ann@hill.example.org"), _educator("bo@hill.example.org")
    di, fay = _educator("di@vale.example.org"), _educator("fay@home.example.org")
    ann_plan = _plan(district, ann, [("GOAL-TITLE-ANN", ["Analyst"], [a]),
                                     ("Design lessons", ["Designer"], [d])],
                     vision="VISION-OF-ANN", shared=True)  # fmt: skip
    for body, shared in ((SHARED_REFLECTION, True), ("PRIVATE-DOUBTS", False)):
        plans.add_reflection(ann_plan, {"goal": None, "written_on": district.day(10, 1).date(),
                                        "body": body, "shared": shared}, env)  # fmt: skip
    bo_plan = _plan(district, bo, [("Bo one", ["Analyst"], []), ("Bo two", ["Designer"], [])],
                    vision="NOT-SHARED-VISION", shared=False)  # fmt: skip
    di_plan = _plan(district, di, [("Di one", ["Analyst"], [a]),
                                   ("Di two", ["Analyst", "Designer"], [d])],
                    vision="Di's vision", shared=True)  # fmt: skip
    _plan(district, fay, [("Fay one", ["Designer"], []), ("Fay two", [], [])],
          vision="Fay's vision", shared=True)  # fmt: skip
    actor = Actor(district.owner)
    coach = make_staff("cora@lakeside.example.org", name="Cora Coach")
    other_coach = make_staff("carl@lakeside.example.org", name="Carl Coach")
    for account in (coach, other_coach):
        staff.set_role(district.issuer, account, "viewer", actor=actor, env=env)
    types = {t.name: t for t in coaching.types_for(district.issuer, env)}
    hill_coaching = coaching.create_plan(district.issuer, PlanInput(
        school=district.hill.public_id, coach=str(coach.id),
        coaching_type=str(types["Instructional coaching"].id), face_to_face="4", virtual="2",
        educators=("ann@hill.example.org",)), actor=actor, env=env)  # fmt: skip
    team_coaching = coaching.create_plan(district.issuer, PlanInput(
        team_name="Vale team", coach=str(other_coach.id),
        coaching_type=str(types["Leadership coaching"].id), face_to_face="2",
        educators=("di@vale.example.org",)), actor=actor, env=env)  # fmt: skip
    ann_there = str(hill_coaching.participants[0].id)
    for mode in ("face_to_face", "face_to_face", "virtual"):
        coaching_sessions.log_session(hill_coaching, coach, SessionInput(
            held_on=env.now.date().isoformat(), mode=mode, focus="Guided reading",
            notes="SESSION-NOTE", private_notes="SESSION-NOTE private",
            participants=(ann_there,)), actor=Actor(coach), env=env)  # fmt: skip
    return Planning(ann_plan, bo_plan, di_plan, coach, other_coach, hill_coaching,
                    team_coaching, ann, di)  # fmt: skip
