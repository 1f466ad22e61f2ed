"""The leaders' dashboard: aggregates of a school's (or the whole organisation's) professional
learning, as a list of panels.

Every figure is computed from what is stored (rosters, enrolments, credentials, credit rules)
for the filters a leader chose (schools within their scope, a job role, a period); nothing is
kept. Leaders see aggregates only: counts, hours and standards, never an educator's answers or
portfolio. A panel is one function taking a :class:`Context` and returning a
:class:`PanelData` (its figures, its table, which is also its CSV, and its chart's series);
``lead_dashboard.PANELS`` lists them in order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    CreditRule,
    EducatorEmail,
    Enrolment,
    IssuedCredential,
    Issuer,
    Module,
    Response,
    School,
    SchoolMember,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid
from app.services.delivery import downloads
from app.services.learning import credit_rules
from app.services.org import schools
from app.services.org.schools import LeaderScope

#: A school year starts on the first of this month (August) and lasts twelve months.
SCHOOL_YEAR_START_MONTH = 8
#: "Active": some activity (enrolling, answering, completing) in this many days before the
#: period's end (or today, when the period runs on).
ACTIVE_DAYS = 30
#: The longest period a leader may ask for.
MAX_PERIOD_DAYS = 3 * 366
#: Label of the group of educators on no roster (the whole organisation's view only).
NO_SCHOOL = "Not on a roster"


# ------------------------------------------------------------------------------ periods


def school_year_of(day: date) -> int:
    """The calendar year the school year holding ``day`` starts in."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_bounds(year: int) -> tuple[date, date]:
    """The school year starting in ``year``: ``[start, end)``."""
    return date(year, SCHOOL_YEAR_START_MONTH, 1), date(year + 1, SCHOOL_YEAR_START_MONTH, 1)


def school_year_label(year: int) -> str:
    """How people write a school year: 2026-27."""
    return f"{year}-{(year + 1) % 100:02d}"


def months_between(start: date, end: date) -> list[date]:
    """The first day of every month that overlaps ``[start, end)``."""
    months, month = [], date(start.year, start.month, 1)
    while month < end:
        months.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return months


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


# ------------------------------------------------------------------------------ filters


@dataclass(frozen=True)
class Filters:
    """What a dashboard counts: the schools (None: the whole organisation, educators on no
    roster too), one job role or all, and the period ``[start, end)``."""

    school_ids: frozenset[int] | None
    role: str | None
    start: date
    end: date
    today: date

    @property
    def active_since(self) -> date:
        """The first day that counts as recent activity."""
        return min(self.end, self.today + timedelta(days=1)) - timedelta(days=ACTIVE_DAYS)

    @property
    def active_until(self) -> date:
        """The day after the last that counts as recent activity."""
        return min(self.end, self.today + timedelta(days=1))


def filters_for(
    scope: LeaderScope,
    *,
    school: School | None,
    role: str | None,
    year: int | None,
    start: date | None,
    end: date | None,
    today: date,
) -> Filters:
    """The filters a leader asked for, within their scope: one school, or (no school chosen)
    everything they lead. The period is the school year ``year`` (this one by default) unless
    ``start`` and ``end`` (inclusive) are given.

    :raises Invalid: for a period that ends before it starts or is longer than three years.
    """
    if school is not None:
        school_ids: frozenset[int] | None = frozenset({school.id})
    elif scope.whole_organisation:
        school_ids = None
    else:
        school_ids = scope.school_ids
    first, after = school_year_bounds(year if year is not None else school_year_of(today))
    if start is not None or end is not None:
        first = start or first
        after = end + timedelta(days=1) if end is not None else after
        if after <= first:
            raise Invalid("The period ends before it starts.", "end")
        if (after - first).days > MAX_PERIOD_DAYS:
            raise Invalid("Choose a period of at most three years.", "end")
    cleaned_role = " ".join((role or "").split()).lower() or None
    return Filters(school_ids, cleaned_role, first, after, today)


# ------------------------------------------------------------------------------ who is where


@dataclass(frozen=True)
class Placement:
    """Where an educator (or an address) works: a school and a job role, both may be None."""

    school_id: int | None
    role: str | None


@dataclass
class People:
    """The organisation's rosters, read once: where each address and each educator works."""

    by_email: dict[str, Placement]
    by_educator: dict[int, Placement]
    educator_by_email: dict[str, int]
    schools: dict[int, School]

    def place(self, *, educator_id: int | None = None, email: str | None = None) -> Placement:
        """Where the educator or address works: a roster address first, then any verified
        address of the educator."""
        if email is not None and email in self.by_email:
            return self.by_email[email]
        if educator_id is None and email is not None:
            educator_id = self.educator_by_email.get(email)
        if educator_id is not None and educator_id in self.by_educator:
            return self.by_educator[educator_id]
        return Placement(None, None)

    def person(self, *, educator_id: int | None = None, email: str | None = None) -> str:
        """One key per person, however they are reached (an educator, else the address)."""
        if educator_id is None and email is not None:
            educator_id = self.educator_by_email.get(email)
        return f"educator:{educator_id}" if educator_id is not None else f"email:{email}"


def people_of(issuer: Issuer) -> People:
    """Read the organisation's rosters and its educators' verified addresses."""
    by_email = {
        m.email: Placement(m.school_id, m.role)
        for m in db.session.scalars(select(SchoolMember).where(SchoolMember.issuer_id == issuer.id))
    }
    educator_by_email = dict(
        db.session.execute(
            select(EducatorEmail.email, EducatorEmail.educator_id).where(
                EducatorEmail.verified_at.is_not(None)
            )
        ).all()
    )
    by_educator: dict[int, Placement] = {}
    for email, educator_id in sorted(educator_by_email.items()):
        if email in by_email:
            by_educator.setdefault(educator_id, by_email[email])
    return People(
        by_email=by_email,
        by_educator=by_educator,
        educator_by_email=educator_by_email,
        schools={s.id: s for s in schools.list_for(issuer)},
    )


# ------------------------------------------------------------------------------ the records


@dataclass(frozen=True)
class EnrolmentRecord:
    """An enrolment in one of the organisation's modules, as the dashboard counts it."""

    person: str
    place: Placement
    module_id: str
    module_title: str
    enrolled: date
    completed: date | None
    last_activity: date


@dataclass(frozen=True)
class CredentialRecord:
    """A credential the organisation issued (not revoked), as the dashboard counts it."""

    person: str
    place: Placement
    achievement_id: str
    name: str
    awarded: date
    standards: tuple[tuple[str, str], ...]
    hours: float


def standard_label(alignment: dict[str, Any]) -> str:
    """A standard as leaders name it: its code and name ("2.7 Analyst"), or its name."""
    name = str(alignment.get("target_name") or "").strip()
    code = str(alignment.get("target_code") or "").strip()
    return f"{code} {name}" if code and code not in name else name


def standards_of(issuer: Issuer) -> list[tuple[str, str]]:
    """Every standard the organisation's achievements align to (current versions):
    (label, framework), by framework and label."""
    found: set[tuple[str, str]] = set()
    for _, version in _achievements(issuer):
        for alignment in version.alignments or []:
            label = standard_label(alignment)
            if label:
                found.add((label, str(alignment.get("target_framework") or "")))
    return sorted(found, key=lambda pair: (pair[1].lower(), pair[0].lower()))


def _achievements(issuer: Issuer) -> list[tuple[Achievement, AchievementVersion]]:
    return list(
        db.session.execute(
            select(Achievement, AchievementVersion)
            .join(AchievementVersion, AchievementVersion.achievement_id == Achievement.id)
            .where(
                Achievement.issuer_id == issuer.id,
                AchievementVersion.version == Achievement.current_version,
            )
        ).all()
    )


def hours_rule(issuer: Issuer) -> CreditRule | None:
    """The credit rules hours are counted by: the organisation's first, by name, if any."""
    rules = credit_rules.list_for(issuer)
    return rules[0] if rules else None


def credential_hours(
    credential: IssuedCredential, achievement_type: str | None, rule: CreditRule | None
) -> float:
    """The PD hours one credential counts for: by the credit rules when there are some, else
    its credit when that is in hours (CEUs and points need rules to become hours)."""
    credit, unit = downloads.credit_of(credential)
    return credit_rules.hours_or_none(credit, unit, achievement_type, rule) or 0.0


@dataclass
class Context:
    """One dashboard's inputs: the organisation, the filters, the rosters; the records are read
    once, when a panel first asks for them."""

    issuer: Issuer
    filters: Filters
    people: People
    scope: LeaderScope
    #: The school the dashboard is of (None: the organisation's, or all a leader's schools).
    school: School | None = None
    #: The service environment (its clock), for panels that measure progress at a moment.
    env: ServiceEnv | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def counts(self, place: Placement) -> bool:
        """Whether someone working there is counted by the filters."""
        if self.filters.role is not None and place.role != self.filters.role:
            return False
        if self.filters.school_ids is None:
            return True
        return place.school_id in self.filters.school_ids

    @cached_property
    def rule(self) -> CreditRule | None:
        """The credit rules hours are counted by, if any."""
        return hours_rule(self.issuer)

    @cached_property
    def all_enrolments(self) -> list[EnrolmentRecord]:
        """Every enrolment in the organisation's modules (not withdrawn) counted by the
        school and role filters, whatever its dates."""
        latest = dict(
            db.session.execute(
                select(Response.enrolment_id, func.max(Response.updated_at))
                .join(Enrolment, Enrolment.id == Response.enrolment_id)
                .join(Module, Module.id == Enrolment.module_id)
                .where(Module.issuer_id == self.issuer.id)
                .group_by(Response.enrolment_id)
            ).all()
        )
        rows = db.session.execute(
            select(Enrolment, Module.public_id, Module.title)
            .join(Module, Module.id == Enrolment.module_id)
            .where(Module.issuer_id == self.issuer.id, Enrolment.state != "withdrawn")
            .order_by(Enrolment.id)
        ).all()
        found = []
        for enrolment, module_id, title in rows:
            place = self.people.place(educator_id=enrolment.educator_id)
            if not self.counts(place):
                continue
            moments = [enrolment.enrolled_at, enrolment.completed_at, latest.get(enrolment.id)]
            found.append(
                EnrolmentRecord(
                    person=self.people.person(educator_id=enrolment.educator_id),
                    place=place,
                    module_id=module_id,
                    module_title=title,
                    enrolled=_day(enrolment.enrolled_at),
                    completed=_day(enrolment.completed_at) if enrolment.completed_at else None,
                    last_activity=max(_day(m) for m in moments if m is not None),
                )
            )
        return found

    @cached_property
    def all_credentials(self) -> list[CredentialRecord]:
        """Every credential the organisation issued, not revoked, counted by the school and
        role filters, whatever its date."""
        rows = db.session.execute(
            select(IssuedCredential, AchievementVersion, Achievement.public_id)
            .join(
                AchievementVersion,
                AchievementVersion.id == IssuedCredential.achievement_version_id,
            )
            .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
            .where(
                IssuedCredential.issuer_id == self.issuer.id,
                IssuedCredential.revoked_at.is_(None),
            )
            .order_by(IssuedCredential.issued_at)
        ).all()
        found = []
        for credential, version, achievement_id in rows:
            place = self.people.place(email=credential.recipient_email)
            if not self.counts(place):
                continue
            standards = tuple(
                (standard_label(a), str(a.get("target_framework") or ""))
                for a in version.alignments or []
                if standard_label(a)
            )
            found.append(
                CredentialRecord(
                    person=self.people.person(email=credential.recipient_email),
                    place=place,
                    achievement_id=achievement_id,
                    name=version.name,
                    awarded=_day(credential.issued_at),
                    standards=standards,
                    hours=credential_hours(credential, version.achievement_type, self.rule),
                )
            )
        return found

    def in_period(self, day: date | None) -> bool:
        """Whether ``day`` falls in the period."""
        return day is not None and self.filters.start <= day < self.filters.end

    @cached_property
    def credentials(self) -> list[CredentialRecord]:
        """The credentials awarded in the period."""
        return [c for c in self.all_credentials if self.in_period(c.awarded)]

    @cached_property
    def enrolments(self) -> list[EnrolmentRecord]:
        """The enrolments open at some time in the period (started before its end, not
        completed before its start)."""
        return [
            e
            for e in self.all_enrolments
            if e.enrolled < self.filters.end
            and (e.completed is None or e.completed >= self.filters.start)
        ]

    def school_rows(self) -> list[tuple[str, int | None]]:
        """The groups a by-school table shows: each school in the filters, by name, then
        (the whole organisation's view) those on no roster."""
        ids = self.filters.school_ids
        chosen = [s for s in self.people.schools.values() if ids is None or s.id in ids]
        rows: list[tuple[str, int | None]] = [
            (s.name, s.id) for s in sorted(chosen, key=lambda s: s.name.lower())
        ]
        if ids is None:
            rows.append((NO_SCHOOL, None))
        return rows

    def rostered(self, school_id: int | None) -> int:
        """Addresses on the roster of ``school_id`` (None: every school counted), with the
        role filter."""
        return sum(
            1
            for p in self.people.by_email.values()
            if self.counts(p) and (school_id is None or p.school_id == school_id)
        )


# ------------------------------------------------------------------------------ panels


@dataclass(frozen=True)
class Chart:
    """A chart's data: ``bars`` (one horizontal bar per category) or ``columns`` (one per
    month); ``what`` says what the values count, for the drawing's title."""

    kind: str
    what: str
    series: list[tuple[str, float]]


@dataclass(frozen=True)
class PanelData:
    """What one panel shows: headline figures, a table (also its CSV) and a chart."""

    key: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    figures: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None


def _share(part: int, whole: int) -> str:
    return f"{round(part * 100 / whole)}%" if whole else "-"


def _hours(value: float) -> float:
    return round(value, 1)


def participation(ctx: Context) -> PanelData:
    """Educators on the rosters, enrolled in a module, active lately and completing modules,
    by school."""
    since, until = ctx.filters.active_since, ctx.filters.active_until
    rows: list[list[Any]] = []
    roster_total = completed_n = 0
    all_enrolled: set[str] = set()
    all_active: set[str] = set()
    all_finishers: set[str] = set()
    for name, school_id in ctx.school_rows():
        mine = [e for e in ctx.enrolments if e.place.school_id == school_id]
        enrolled = {e.person for e in mine}
        active = {
            e.person
            for e in ctx.all_enrolments
            if e.place.school_id == school_id and since <= e.last_activity < until
        }
        done = [e for e in mine if ctx.in_period(e.completed)]
        finishers = {e.person for e in done}
        roster = ctx.rostered(school_id) if school_id is not None else 0
        if school_id is None and not (enrolled or active or done):
            continue
        rows.append(
            [
                name,
                roster if school_id is not None else "",
                len(enrolled),
                len(active),
                len(done),
                len(finishers),
            ]
        )
        roster_total += roster
        all_enrolled |= enrolled
        all_active |= active
        completed_n += len(done)
        all_finishers |= finishers
    enrolled_n, active_n, finishers_n = len(all_enrolled), len(all_active), len(all_finishers)
    if len(rows) > 1:
        rows.append(["All", roster_total, enrolled_n, active_n, completed_n, finishers_n])
    return PanelData(
        key="participation",
        title="Participation",
        description=(
            f"Educators enrolled in a module during the period, active in the last {ACTIVE_DAYS} "
            "days of it (enrolled, answered or completed), and modules completed in it."
        ),
        columns=[
            "School",
            "On roster",
            "Enrolled",
            f"Active ({ACTIVE_DAYS} days)",
            "Modules completed",
            "Educators who completed one",
        ],
        rows=rows,
        chart=Chart(
            "bars",
            "educators",
            [
                ("On roster", roster_total),
                ("Enrolled", enrolled_n),
                (f"Active in the last {ACTIVE_DAYS} days", active_n),
                ("Completed a module", finishers_n),
            ],
        ),
        figures=[
            ("Enrolled", f"{enrolled_n:,}"),
            ("of the roster", _share(enrolled_n, roster_total)),
            (f"Active ({ACTIVE_DAYS} days)", f"{active_n:,}"),
            ("Modules completed", f"{completed_n:,}"),
        ],
    )


def by_standard(ctx: Context) -> PanelData:
    """Credentials earned in the period by the standard their achievement aligns to."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    earners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for credential in ctx.credentials:
        for standard in set(credential.standards):
            counts[standard] += 1
            earners[standard].add(credential.person)
    ordered = sorted(counts, key=lambda s: (-counts[s], s[0].lower()))
    unaligned = sum(1 for c in ctx.credentials if not c.standards)
    return PanelData(
        key="standards",
        title="Credentials by standard",
        description="Credentials earned in the period, by the standards their achievements "
        "align to (a credential aligned to two standards counts for each).",
        columns=["Standard", "Framework", "Credentials", "Educators"],
        rows=[[s[0], s[1], counts[s], len(earners[s])] for s in ordered],
        chart=Chart("bars", "credentials", [(s[0], counts[s]) for s in ordered[:12]]),
        note=(
            f"{unaligned:,} credential{'s' if unaligned != 1 else ''} of achievements aligned "
            "to no standard."
        )
        if unaligned
        else None,
    )


def by_achievement(ctx: Context) -> PanelData:
    """Credentials earned in the period by achievement, with their PD hours."""
    counts: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    earners: dict[str, set[str]] = defaultdict(set)
    hours: dict[str, float] = defaultdict(float)
    for credential in ctx.credentials:
        key = credential.achievement_id
        counts[key] += 1
        names.setdefault(key, credential.name)
        earners[key].add(credential.person)
        hours[key] += credential.hours
    ordered = sorted(counts, key=lambda k: (-counts[k], names[k].lower()))
    return PanelData(
        key="achievements",
        title="Credentials by achievement",
        description="Credentials earned in the period (revoked ones left out), by achievement.",
        columns=["Achievement", "Credentials", "Educators", "PD hours"],
        rows=[[names[k], counts[k], len(earners[k]), _hours(hours[k])] for k in ordered],
        chart=Chart("bars", "credentials", [(names[k], counts[k]) for k in ordered[:12]]),
        figures=[
            ("Credentials", f"{len(ctx.credentials):,}"),
            ("Educators", f"{len({c.person for c in ctx.credentials}):,}"),
        ],
    )


def pd_hours(ctx: Context) -> PanelData:
    """PD hours from credentials earned in the period, by school."""
    rows: list[list[Any]] = []
    total = 0.0
    people: set[str] = set()
    for name, school_id in ctx.school_rows():
        mine = [c for c in ctx.credentials if c.place.school_id == school_id and c.hours > 0]
        hours = sum(c.hours for c in mine)
        earners = {c.person for c in mine}
        if school_id is None and not mine:
            continue
        rows.append(
            [name, _hours(hours), len(earners), _hours(hours / len(earners)) if earners else 0.0]
        )
        total += hours
        people |= earners
    if len(rows) > 1:
        rows.append(
            ["All", _hours(total), len(people), _hours(total / len(people)) if people else 0.0]
        )
    rule = ctx.rule
    note = (
        f"Hours as the credit rules “{rule.name}” count them (CEUs, points and "
        "micro-credentials converted)."
        if rule is not None
        else "Hours as credentials state them; CEUs and points count once the organisation "
        "has credit rules."
    )
    return PanelData(
        key="hours",
        title="PD hours",
        description="Professional-learning hours of the credentials earned in the period.",
        columns=["School", "PD hours", "Educators with hours", "Hours per educator"],
        rows=rows,
        chart=Chart("bars", "PD hours", [(str(r[0]), float(r[1])) for r in rows if r[0] != "All"]),
        figures=[
            ("PD hours", f"{_hours(total):,g}"),
            ("Per educator", f"{_hours(total / len(people)) if people else 0:,g}"),
        ],
        note=note,
    )


def trends(ctx: Context) -> PanelData:
    """Month by month through the period: enrolments, completions, credentials and hours."""
    months = months_between(ctx.filters.start, ctx.filters.end)
    series: dict[date, list[float]] = {m: [0, 0, 0, 0.0] for m in months}

    def month_of(day: date | None) -> date | None:
        if day is None or not ctx.in_period(day):
            return None
        return date(day.year, day.month, 1)

    for enrolment in ctx.all_enrolments:
        started, finished = month_of(enrolment.enrolled), month_of(enrolment.completed)
        if started is not None:
            series[started][0] += 1
        if finished is not None:
            series[finished][1] += 1
    for credential in ctx.credentials:
        month = month_of(credential.awarded)
        if month is not None:
            series[month][2] += 1
            series[month][3] += credential.hours
    rows = [
        [m.strftime("%b %Y"), int(v[0]), int(v[1]), int(v[2]), _hours(v[3])]
        for m, v in series.items()
    ]
    return PanelData(
        key="trends",
        title="Through the year",
        description="Each month of the period: enrolments started, modules completed, "
        "credentials earned and their PD hours.",
        columns=["Month", "Enrolments", "Modules completed", "Credentials", "PD hours"],
        rows=rows,
        chart=Chart(
            "columns", "credentials earned", [(m.strftime("%b"), v[2]) for m, v in series.items()]
        ),
    )
