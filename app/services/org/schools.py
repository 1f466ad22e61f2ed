"""An organisation's schools and who works in each (by address), and its leaders: staff accounts
who lead one school or the whole organisation and see its aggregates.

An address belongs to at most one school of an organisation; an educator is in the school of
any of their verified addresses. Owners manage schools and leaders; every change is audited.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import (
    Educator,
    EducatorEmail,
    Issuer,
    Leader,
    School,
    SchoolMember,
    StaffAccount,
    StaffInvitation,
)
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.org import audit
from app.services.org.audit import Actor

NAME_LIMIT = 200
#: The longest job role a roster may give (teacher, instructional coach, administrator…).
ROLE_LIMIT = 60
#: The largest roster file read, and the most addresses one roster may list.
ROSTER_BYTES = 2 * 1024 * 1024
ROSTER_ROWS = 20_000


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
    credentials and the records that name the school keep nothing of it); audited. Pending
    invitations to lead it are withdrawn."""
    db.session.execute(delete(SchoolMember).where(SchoolMember.school_id == school.id))
    db.session.execute(delete(Leader).where(Leader.school_id == school.id))
    invited = StaffInvitation.leader_school_id == school.id
    db.session.execute(
        update(StaffInvitation)
        .where(invited, StaffInvitation.accepted_at.is_(None),
               StaffInvitation.declined_at.is_(None), StaffInvitation.revoked_at.is_(None))
        .values(revoked_at=env.now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    # Answered invitations keep their scope ("school") but no longer name the removed school.
    db.session.execute(
        update(StaffInvitation).where(invited).values(leader_school_id=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
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


def clean_role(role: str | None) -> str | None:
    """A job role as rosters keep it: spaces collapsed, lower-case; None when empty.

    :raises Invalid: for a role longer than ``ROLE_LIMIT``.
    """
    cleaned = " ".join((role or "").split()).lower()
    if len(cleaned) > ROLE_LIMIT:
        raise Invalid(
            f"A job role has at most {ROLE_LIMIT} characters: {cleaned[:30]!r}…", "emails"
        )
    return cleaned or None


def parse_roster(text: str) -> dict[str, str | None]:
    """Address → job role from pasted text: addresses separated by lines, commas, semicolons,
    tabs or spaces, each optionally followed on its line (after a comma, semicolon or tab) by
    its role, as a spreadsheet's two columns paste: ``ann@school.org, teacher``.

    :raises Invalid: naming the first entry that is neither an address nor a role after one.
    """
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        last: str | None = None
        for piece in re.split(r"[,;\t]", line):
            piece = piece.strip()
            if not piece:
                continue
            if "@" not in piece:
                if last is None:
                    raise Invalid(f"{piece!r} is not an email address.", "emails")
                found[last] = clean_role(piece)
                continue
            for entry in piece.split():
                try:
                    last = check_email(entry)
                except Invalid as error:
                    raise Invalid(error.message, "emails") from error
                found.setdefault(last, None)
    return found


def parse_roster_csv(data: bytes) -> dict[str, str | None]:
    """Address → job role from a CSV file: one column of addresses (headed ``email`` or not)
    and, optionally, a ``role`` column.

    :raises Invalid: for a file too large, not text, or a row whose address is not one (by
        its line number).
    """
    if len(data) > ROSTER_BYTES:
        raise Invalid("The roster file is too large (at most 2 MB).", "roster")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise Invalid("The roster file has no addresses.", "roster")
    header = [cell.strip().lower() for cell in rows[0]]
    email_at, role_at, start = 0, 1 if len(header) > 1 else None, 0
    if not any("@" in cell for cell in header):
        names = {name: index for index, name in enumerate(header)}
        email_at = next((names[n] for n in ("email", "e-mail", "email address", "address")
                         if n in names), -1)  # fmt: skip
        if email_at < 0:
            raise Invalid("The roster file needs an email column.", "roster")
        role_at = next((names[n] for n in ("role", "job role", "position") if n in names), None)
        start = 1
    if len(rows) - start > ROSTER_ROWS:
        raise Invalid(f"A roster lists at most {ROSTER_ROWS:,} addresses.", "roster")
    found: dict[str, str | None] = {}
    for number, row in enumerate(rows[start:], start=start + 1):
        cell = row[email_at].strip() if email_at < len(row) else ""
        try:
            address = check_email(cell)
        except Invalid:
            raise Invalid(f"Line {number}: {cell!r} is not an email address.", "roster") from None
        role = row[role_at] if role_at is not None and role_at < len(row) else None
        try:
            found[address] = clean_role(role)
        except Invalid as error:
            raise Invalid(f"Line {number}: {error.message}", "roster") from None
    return found


def roster(school: School) -> list[SchoolMember]:
    """The school's roster rows (address and job role), by address."""
    return list(
        db.session.scalars(
            select(SchoolMember)
            .where(SchoolMember.school_id == school.id)
            .order_by(SchoolMember.email)
        )
    )


def roles_of(issuer: Issuer) -> list[str]:
    """The job roles the organisation's rosters give, sorted."""
    return sorted(
        r
        for r in db.session.scalars(
            select(SchoolMember.role)
            .where(SchoolMember.issuer_id == issuer.id, SchoolMember.role.is_not(None))
            .distinct()
        )
        if r
    )


def member_counts(issuer: Issuer) -> dict[int, int]:
    """School id → the number of addresses on its roster."""
    counts: dict[int, int] = {}
    for school_id in db.session.scalars(
        select(SchoolMember.school_id).where(SchoolMember.issuer_id == issuer.id)
    ):
        counts[school_id] = counts.get(school_id, 0) + 1
    return counts


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
    school: School,
    emails: Iterable[str],
    *,
    actor: Actor,
    env: ServiceEnv,
    roles: Mapping[str, str | None] | None = None,
) -> RosterChange:
    """Make ``emails`` the school's roster: new addresses are added, addresses of another
    school of the organisation move here, addresses no longer listed leave; audited. With
    ``roles`` (address → job role, as :func:`parse_roster` gives), every listed address takes
    the role given (None clears it); without, roles already on the roster stay.

    :raises Invalid: for an entry that is not an address (nothing changes).
    """
    wanted = {check_email(e) for e in emails}
    given = {check_email(e): clean_role(r) for e, r in roles.items()} if roles is not None else {}
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
            row = SchoolMember(issuer_id=school.issuer_id, school_id=school.id, email=email,
                               role=given.get(email), created_at=env.now)  # fmt: skip
            db.session.add(row)
            added += 1
            continue
        if member.school_id != school.id:
            member.school_id = school.id
            moved += 1
        if roles is not None:
            member.role = given.get(email)
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


def led_by(account: StaffAccount) -> list[tuple[Issuer, School | None]]:
    """Every appointment of ``account``, in any organisation: (organisation, school or None
    for the whole organisation), by organisation then school."""
    rows = db.session.scalars(select(Leader).where(Leader.staff_id == account.id))
    found = [(db.session.get(Issuer, a.issuer_id), a.school) for a in rows]
    return sorted(
        ((issuer, school) for issuer, school in found if issuer is not None),
        key=lambda pair: (pair[0].name, pair[1] is not None, pair[1].name if pair[1] else ""),
    )


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
    leader = add_leader(issuer, account, school, actor=actor, env=env)
    db.session.commit()
    return leader


def leads(account: StaffAccount, issuer: Issuer, school: School | None) -> bool:
    """Whether ``account`` has exactly this appointment (``None``: the whole organisation)."""
    query = select(Leader).where(Leader.issuer_id == issuer.id, Leader.staff_id == account.id)
    query = query.where(
        Leader.school_id.is_(None) if school is None else Leader.school_id == school.id
    )
    return db.session.scalar(query) is not None


def add_leader(
    issuer: Issuer, account: StaffAccount, school: School | None, *, actor: Actor, env: ServiceEnv
) -> Leader:
    """:func:`appoint` without the commit (an accepted invitation appoints in its own unit of
    work).

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
