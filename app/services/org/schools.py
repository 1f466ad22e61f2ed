"""An organisation's schools and who works in each (by address), and its leaders: staff accounts
who lead one school or the whole organisation and see its aggregates.

An address belongs to at most one school of an organisation; an educator is in the school of
any of their verified addresses. Owners manage schools and leaders; every change is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from app.extensions import db
from app.models import Educator, EducatorEmail, Issuer, Leader, School, SchoolMember, StaffAccount
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.org import audit
from app.services.org.audit import Actor

NAME_LIMIT = 200


def list_for(issuer: Issuer) -> list[School]:
    """The organisation's schools, by name."""
    return list(
        db.session.scalars(
            select(School).where(School.issuer_id == issuer.id).order_by(School.name)
        )
    )


def get(issuer: Issuer, public_id: str) -> School:
    """One of the organisation's schools.

    :raises NotFound: when it has no such school.
    """
    found = db.session.scalar(
        select(School).where(School.issuer_id == issuer.id, School.public_id == public_id)
    )
    if found is None:
        raise NotFound("This organisation has no such school.")
    return found


def _checked_name(issuer: Issuer, name: str, *, keep: School | None = None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("Give the school a name.", "name")
    if len(cleaned) > NAME_LIMIT:
        raise Invalid(f"A school's name has at most {NAME_LIMIT} characters.", "name")
    clash = db.session.scalar(
        select(School).where(School.issuer_id == issuer.id, School.name == cleaned)
    )
    if clash is not None and clash is not keep:
        raise Invalid(f"There is already a school called {cleaned!r}.", "name")
    return cleaned


def create(issuer: Issuer, name: str, *, actor: Actor, env: ServiceEnv) -> School:
    """Add a school; audited.

    :raises Invalid: for an empty, too long or already used name.
    """
    school = School(
        public_id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        name=_checked_name(issuer, name),
        created_at=env.now,
    )
    db.session.add(school)
    db.session.flush()
    audit.record("school.create", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="school", subject_id=school.public_id,
                 detail={"name": school.name})  # fmt: skip
    db.session.commit()
    return school


def rename(school: School, name: str, *, actor: Actor, env: ServiceEnv) -> School:
    """Rename a school; audited.

    :raises Invalid: for an empty, too long or already used name.
    """
    before = school.name
    school.name = _checked_name(school.issuer, name, keep=school)
    audit.record("school.rename", actor=actor, now=env.now, issuer_id=school.issuer_id,
                 subject_type="school", subject_id=school.public_id,
                 detail={"from": before, "to": school.name})  # fmt: skip
    db.session.commit()
    return school


def remove(school: School, *, actor: Actor, env: ServiceEnv) -> None:
    """Remove a school with its roster and its leaders' appointments (educators, their
    credentials and the records that name the school keep nothing of it); audited."""
    db.session.execute(delete(SchoolMember).where(SchoolMember.school_id == school.id))
    db.session.execute(delete(Leader).where(Leader.school_id == school.id))
    audit.record("school.remove", actor=actor, now=env.now, issuer_id=school.issuer_id,
                 subject_type="school", subject_id=school.public_id,
                 detail={"name": school.name})  # fmt: skip
    db.session.delete(school)
    db.session.commit()


# ----------------------------------------------------------------------------------- rosters


@dataclass(frozen=True)
class RosterChange:
    """What setting a roster did: addresses added, moved here from another school, removed."""

    added: int
    moved: int
    removed: int


def parse_addresses(text: str) -> list[str]:
    """Addresses from pasted text: one per line, or separated by commas, semicolons or spaces
    (a spreadsheet column pastes as lines), normalised, each once.

    :raises Invalid: naming the first entry that is not an address.
    """
    seen: dict[str, None] = {}
    for entry in text.replace(",", "\n").replace(";", "\n").split():
        try:
            seen[check_email(entry)] = None
        except Invalid as error:
            raise Invalid(error.message, "emails") from error
    return list(seen)


def members(school: School) -> list[str]:
    """The school's addresses, sorted."""
    return list(
        db.session.scalars(
            select(SchoolMember.email)
            .where(SchoolMember.school_id == school.id)
            .order_by(SchoolMember.email)
        )
    )


def set_members(
    school: School, emails: Iterable[str], *, actor: Actor, env: ServiceEnv
) -> RosterChange:
    """Make ``emails`` the school's roster: new addresses are added, addresses of another
    school of the organisation move here, addresses no longer listed leave; audited.

    :raises Invalid: for an entry that is not an address (nothing changes).
    """
    wanted = {check_email(e) for e in emails}
    existing = {
        m.email: m
        for m in db.session.scalars(
            select(SchoolMember).where(
                SchoolMember.issuer_id == school.issuer_id, SchoolMember.email.in_(wanted)
            )
        )
    } if wanted else {}  # fmt: skip
    added = moved = 0
    for email in sorted(wanted):
        member = existing.get(email)
        if member is None:
            db.session.add(SchoolMember(issuer_id=school.issuer_id, school_id=school.id,
                                        email=email, created_at=env.now))  # fmt: skip
            added += 1
        elif member.school_id != school.id:
            member.school_id = school.id
            moved += 1
    leaving = delete(SchoolMember).where(SchoolMember.school_id == school.id)
    if wanted:
        leaving = leaving.where(SchoolMember.email.not_in(wanted))
    removed = int(getattr(db.session.execute(leaving), "rowcount", 0) or 0)
    audit.record("school.roster", actor=actor, now=env.now, issuer_id=school.issuer_id,
                 subject_type="school", subject_id=school.public_id,
                 detail={"added": added, "moved": moved, "removed": removed})  # fmt: skip
    db.session.commit()
    return RosterChange(added=added, moved=moved, removed=removed)


def school_ids_by_educator(issuer: Issuer) -> dict[int, int]:
    """Educator id → school id, for every educator with a verified address on one of the
    organisation's rosters (one query)."""
    rows = db.session.execute(
        select(EducatorEmail.educator_id, SchoolMember.school_id)
        .join(SchoolMember, SchoolMember.email == EducatorEmail.email)
        .where(SchoolMember.issuer_id == issuer.id, EducatorEmail.verified_at.is_not(None))
        .order_by(EducatorEmail.id)
    )
    found: dict[int, int] = {}
    for educator_id, school_id in rows:
        found.setdefault(educator_id, school_id)
    return found


def school_of(issuer: Issuer, educator: Educator) -> School | None:
    """The organisation's school the educator works in (by a verified address), if any."""
    return db.session.scalar(
        select(School)
        .join(SchoolMember, SchoolMember.school_id == School.id)
        .join(EducatorEmail, EducatorEmail.email == SchoolMember.email)
        .where(
            School.issuer_id == issuer.id,
            EducatorEmail.educator_id == educator.id,
            EducatorEmail.verified_at.is_not(None),
        )
        .order_by(EducatorEmail.id)
        .limit(1)
    )


def school_ids_by_email(issuer: Issuer) -> dict[str, int]:
    """Roster address → school id, for the whole organisation (e.g. to group credentials by
    the address they were awarded to)."""
    return dict(
        db.session.execute(
            select(SchoolMember.email, SchoolMember.school_id).where(
                SchoolMember.issuer_id == issuer.id
            )
        ).all()
    )


# ----------------------------------------------------------------------------------- leaders


@dataclass(frozen=True)
class LeaderScope:
    """What a staff account leads in one organisation: all of it, or some of its schools."""

    whole_organisation: bool
    school_ids: frozenset[int]

    @property
    def leads_anything(self) -> bool:
        """Whether the account leads here at all."""
        return self.whole_organisation or bool(self.school_ids)

    def covers(self, school: School | None) -> bool:
        """Whether this scope includes ``school`` (``None``: the whole organisation)."""
        if self.whole_organisation:
            return True
        return school is not None and school.id in self.school_ids


def leaders_of(issuer: Issuer) -> list[Leader]:
    """The organisation's leader appointments: organisation-wide first, then by school."""
    appointments = db.session.scalars(select(Leader).where(Leader.issuer_id == issuer.id))
    return sorted(
        appointments,
        key=lambda a: (a.school is not None, a.school.name if a.school else "", a.staff.email),
    )


def scope_of(account: StaffAccount, issuer: Issuer) -> LeaderScope:
    """What ``account`` leads in the organisation."""
    school_ids = list(
        db.session.scalars(
            select(Leader.school_id).where(
                Leader.issuer_id == issuer.id, Leader.staff_id == account.id
            )
        )
    )
    return LeaderScope(
        whole_organisation=None in school_ids,
        school_ids=frozenset(s for s in school_ids if s is not None),
    )


def require_leader(
    account: StaffAccount, issuer: Issuer, school: School | None = None
) -> LeaderScope:
    """The account's scope, checked to cover ``school`` (``None``: the whole organisation).

    :raises Forbidden: when it does not.
    """
    scope = scope_of(account, issuer)
    if not scope.covers(school):
        where = school.name if school is not None else issuer.name
        raise Forbidden(f"You do not lead {where}.")
    return scope


def appoint(
    issuer: Issuer, account: StaffAccount, school: School | None, *, actor: Actor, env: ServiceEnv
) -> Leader:
    """Make ``account`` a leader of ``school`` (``None``: the whole organisation); audited.

    :raises Invalid: for a school of another organisation.
    :raises Conflict: when the account already leads there.
    """
    if school is not None and school.issuer_id != issuer.id:
        raise Invalid("That school is not this organisation's.", "school")
    query = select(Leader).where(Leader.issuer_id == issuer.id, Leader.staff_id == account.id)
    query = query.where(
        Leader.school_id.is_(None) if school is None else Leader.school_id == school.id
    )
    if db.session.scalar(query) is not None:
        raise Conflict(f"{account.email} already leads {school.name if school else issuer.name}.")
    leader = Leader(
        issuer_id=issuer.id,
        staff_id=account.id,
        school_id=school.id if school is not None else None,
        created_at=env.now,
    )
    db.session.add(leader)
    db.session.flush()
    audit.record("leader.appoint", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="staff", subject_id=str(account.id),
                 detail={"school": school.public_id if school else None})  # fmt: skip
    db.session.commit()
    return leader


def dismiss(leader: Leader, *, actor: Actor, env: ServiceEnv) -> None:
    """End a leader appointment; audited."""
    audit.record("leader.dismiss", actor=actor, now=env.now, issuer_id=leader.issuer_id,
                 subject_type="staff", subject_id=str(leader.staff_id),
                 detail={"school": leader.school.public_id if leader.school else None})  # fmt: skip
    db.session.delete(leader)
    db.session.commit()


def get_leader(issuer: Issuer, leader_id: int) -> Leader:
    """One of the organisation's leader appointments.

    :raises NotFound: when there is no such appointment.
    """
    found = db.session.get(Leader, leader_id)
    if found is None or found.issuer_id != issuer.id:
        raise NotFound("There is no such leader appointment.")
    return found
