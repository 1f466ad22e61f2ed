"""A known district for the leaders' tests: two schools with rosters and job roles, educators,
a module with enrolments, credentials of aligned achievements with hours, all dated in the last
complete school year (so every figure is the same whatever day the tests run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.models import (
    Achievement,
    Enrolment,
    IssuedCredential,
    Issuer,
    Module,
    School,
    StaffAccount,
)
from app.services.awarding import revocation
from app.services.learning import authoring, leadership
from app.services.learning.authoring import ModuleInput
from app.services.org import schools
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
