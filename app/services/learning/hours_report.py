"""The staff hours report: hours earned by an organisation's educators, from the credentials
it awarded, by school, by category and by period.

Each credential's credit is the one signed in its document (``creditsEarned`` when recorded,
else ``creditsAvailable``), stored with it when it was issued (``issued_credential.credit`` and
``credit_unit``), and turned into hours by the chosen credit rules
(``credit_rules.hours_or_none``), which also sort it into a category; without rules, only
credit in clock hours (or with no unit stated) counts, as it is, and credentials carrying
CEUs or points are counted apart.
A credential is in the school whose roster holds the address it was awarded to, or else the
school of the educator holding that address. Revoked and suspended credentials count nothing.

The sums are read from the credential tally (by day, achievement version and credit unit:
hours are linear in the credit), never from every credential; only the credentials awarded to
an address on a roster are read one by one, to move them from "No school" to their school.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    CredentialTally,
    CreditRule,
    EducatorEmail,
    IssuedCredential,
    Issuer,
    School,
)
from app.services._core.spreadsheets import safe_row
from app.services.learning import credit_rules
from app.services.org import schools

NO_SCHOOL = "No school"
#: Roster addresses per query when their credentials are read.
_ADDRESSES_PER_QUERY = 500
NO_CATEGORY = "No category"
PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """One period of the report: ``[start, end)`` and how it is written."""

    start: date
    end: date
    label: str


@dataclass
class Cell:
    """The credentials of one period, school and category: their hours, how many count (every
    one with hours in clock hours, or converted), and how many of them give hours."""

    hours: float = 0.0
    credentials: int = 0
    with_hours: int = 0


@dataclass
class HoursReport:
    """The report's rows and what it was made from."""

    issuer: Issuer
    start: date
    end: date
    period: str
    rule: CreditRule | None
    periods: list[Period]
    schools: list[str]
    categories: list[str]
    #: (period label, school, category) → its :class:`Cell`.
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)
    #: Credentials whose credit is not in hours, left out because no credit rules convert it.
    left_out: int = 0

    @property
    def total(self) -> float:
        """All the hours in the range."""
        return sum(cell.hours for cell in self.cells.values())

    @property
    def credited(self) -> int:
        """How many credentials give hours."""
        return sum(cell.with_hours for cell in self.cells.values())

    def _part(self, by: str) -> int:
        return {"period": 0, "school": 1, "category": 2}[by]

    def totals(self, by: str) -> list[tuple[str, float, int]]:
        """``(name, hours, credentials)`` per school, category or period, in order (every
        school and category, and every period of the range, even with no hours)."""
        names = {"school": self.schools, "category": self.categories}.get(by) or [
            p.label for p in self.periods
        ]
        part = self._part(by)
        hours: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for key, cell in self.cells.items():
            hours[key[part]] += cell.hours
            counts[key[part]] += cell.with_hours
        return [(name, hours[name], counts[name]) for name in names]

    def groups(self, by: str) -> list[str]:
        """The schools or categories that have hours, in order (the chart's series)."""
        names = self.schools if by == "school" else self.categories
        part = self._part(by)
        present = {key[part] for key, cell in self.cells.items() if cell.with_hours}
        return [n for n in names if n in present]

    def cross(self, by: str) -> list[tuple[str, list[float], float]]:
        """Per period: the hours of each of :meth:`groups` and the period's total."""
        groups = self.groups(by)
        part = self._part(by)
        cells: dict[tuple[str, str], float] = defaultdict(float)
        for key, cell in self.cells.items():
            cells[(key[0], key[part])] += cell.hours
        rows = []
        for period in self.periods:
            values = [cells[(period.label, g)] for g in groups]
            rows.append((period.label, values, sum(values)))
        return rows


def periods_between(start: date, end: date, period: str) -> list[Period]:
    """The months, quarters or years that ``[start, end]`` touches, in order."""
    found = []
    if period == "year":
        cursor = date(start.year, 1, 1)
    elif period == "quarter":
        cursor = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    else:
        cursor = date(start.year, start.month, 1)
    step = {"month": 1, "quarter": 3, "year": 12}[period]
    while cursor <= end:
        months = cursor.month - 1 + step
        following = date(cursor.year + months // 12, months % 12 + 1, 1)
        if period == "year":
            label = str(cursor.year)
        elif period == "quarter":
            label = f"Q{(cursor.month - 1) // 3 + 1} {cursor.year}"
        else:
            label = f"{calendar.month_abbr[cursor.month]} {cursor.year}"
        found.append(Period(cursor, following, label))
        cursor = following
    return found


def _category_names(rule: CreditRule | None) -> tuple[dict[str, str], list[str]]:
    """Achievement public id → category name, and the category names in order."""
    if rule is None:
        return {}, []
    by_achievement: dict[str, str] = {}
    names = []
    for category in rule.categories:
        name = str(category["name"])
        names.append(name)
        for public_id in category.get("achievements", []):
            by_achievement.setdefault(str(public_id), name)
    return by_achievement, names


def _school_of_address(issuer: Issuer) -> dict[str, str]:
    """Address → school name: roster addresses, then every verified address of an educator who
    is on a roster by another of their addresses."""
    names = {s.id: s.name for s in schools.list_for(issuer)}
    by_address = {email: names[sid] for email, sid in schools.school_ids_by_email(issuer).items()}
    by_educator = schools.school_ids_by_educator(issuer)
    if by_educator:
        rows = db.session.execute(
            select(EducatorEmail.email, EducatorEmail.educator_id).where(
                EducatorEmail.educator_id.in_(list(by_educator)),
                EducatorEmail.verified_at.is_not(None),
            )
        )
        for email, educator_id in rows:
            by_address.setdefault(email, names[by_educator[educator_id]])
    return by_address


@dataclass(frozen=True)
class _Counted:
    """Some credentials of one period, achievement version and credit unit, as they count."""

    hours: float
    credentials: int
    with_hours: int
    left_out: int


def _counted(
    number: int,
    credit_sum: float,
    credit_null: int,
    credit_zero: int,
    unit: str | None,
    achievement_type: str | None,
    rule: CreditRule | None,
) -> _Counted:
    """How ``number`` credentials of one credit unit and achievement type count: those with a
    credit (summing ``credit_sum``), ``credit_null`` without one and ``credit_zero`` with 0.
    ``credit_rules.hours_or_none`` is linear in a credit other than 0, so the hours of the
    credited ones are their sum times the hours of a credit of 1."""
    hours, counted, with_hours, left_out = 0.0, 0, 0, 0
    credited = number - credit_null - credit_zero
    for how_many, each, total in (
        (credited, credit_rules.hours_or_none(1.0, unit, achievement_type, rule), credit_sum),
        (credit_null, credit_rules.hours_or_none(None, unit, achievement_type, rule), None),
        (credit_zero, credit_rules.hours_or_none(0.0, unit, achievement_type, rule), None),
    ):
        if not how_many:
            continue
        if each is None:
            left_out += how_many
            continue
        hours += each * (total if total is not None else how_many)
        counted += how_many
        with_hours += how_many if each else 0
    return _Counted(hours, counted, with_hours, left_out)


def _add(report: HoursReport, key: tuple[str, str, str], counted: _Counted, sign: int) -> None:
    cell = report.cells.setdefault(key, Cell())
    cell.hours += sign * counted.hours
    cell.credentials += sign * counted.credentials
    cell.with_hours += sign * counted.with_hours


def build(
    issuer: Issuer, start: date, end: date, period: str, rule: CreditRule | None
) -> HoursReport:
    """The report of the credentials the organisation awarded from ``start`` to ``end``
    (both days included), in ``period``s, converted by ``rule`` (``None``: clock hours)."""
    if period not in PERIODS:
        raise ValueError(period)
    periods = periods_between(start, end, period)
    by_achievement, category_names = _category_names(rule)
    school_names = [s.name for s in schools.list_for(issuer)]
    report = HoursReport(
        issuer=issuer,
        start=start,
        end=end,
        period=period,
        rule=rule,
        periods=periods,
        schools=[*school_names, NO_SCHOOL],
        categories=[*category_names, NO_CATEGORY],
    )
    starts = [p.start for p in periods]

    def label(day: date) -> str:
        return periods[bisect.bisect_right(starts, day) - 1].label

    versions = {
        version_id: (public_id, achievement_type)
        for version_id, public_id, achievement_type in db.session.execute(
            select(
                AchievementVersion.id, Achievement.public_id, AchievementVersion.achievement_type
            )
            .join(Achievement, Achievement.id == AchievementVersion.achievement_id)
            .where(Achievement.issuer_id == issuer.id)
        )
    }

    def category(version_id: int) -> str:
        return by_achievement.get(versions[version_id][0], NO_CATEGORY)

    tally = CredentialTally
    # Each day's period in SQL (the first period ending after it), so the database returns a
    # row per period, version and unit rather than one per day.
    in_period = case(
        *((tally.issued_day < p.end, index) for index, p in enumerate(periods)), else_=-1
    )
    days = (
        select(
            in_period.label("period"),
            tally.achievement_version_id,
            tally.credit_unit,
            tally.count,
            tally.credit_sum,
            tally.credit_null,
            tally.credit_zero,
        )
        .where(
            tally.issuer_id == issuer.id,
            tally.issued_day >= start,
            tally.issued_day <= end,
            tally.revoked.is_(False),
            tally.suspended.is_(False),
        )
        .subquery()
    )
    for (
        index,
        version_id,
        stored_unit,
        number,
        credit_sum,
        credit_null,
        credit_zero,
    ) in db.session.execute(
        select(
            days.c.period,
            days.c.achievement_version_id,
            days.c.credit_unit,
            func.sum(days.c.count),
            func.sum(days.c.credit_sum),
            func.sum(days.c.credit_null),
            func.sum(days.c.credit_zero),
        ).group_by(days.c.period, days.c.achievement_version_id, days.c.credit_unit)
    ):
        counted = _counted(
            int(number), float(credit_sum or 0), int(credit_null), int(credit_zero),
            stored_unit or None, versions[version_id][1], rule,
        )  # fmt: skip
        report.left_out += counted.left_out
        _add(report, (periods[index].label, NO_SCHOOL, category(version_id)), counted, 1)
    # The credentials awarded to an address on a roster move to that school.
    school_of = _school_of_address(issuer)
    addresses = sorted(school_of)
    credential = IssuedCredential
    for chunk in range(0, len(addresses), _ADDRESSES_PER_QUERY):
        for email, issued_at, version_id, credit, unit in db.session.execute(
            select(
                credential.recipient_email,
                credential.issued_at,
                credential.achievement_version_id,
                credential.credit,
                credential.credit_unit,
            ).where(
                credential.issuer_id == issuer.id,
                credential.recipient_email.in_(addresses[chunk : chunk + _ADDRESSES_PER_QUERY]),
                credential.issued_at >= datetime.combine(start, time.min, tzinfo=UTC),
                credential.issued_at
                < datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
                credential.revoked_at.is_(None),
                credential.suspended_at.is_(None),
            )
        ):
            counted = _counted(
                1, credit or 0.0, int(credit is None), int(credit == 0),
                unit, versions[version_id][1], rule,
            )  # fmt: skip
            if counted.left_out:
                continue
            day = issued_at.astimezone(UTC).date()
            _add(report, (label(day), NO_SCHOOL, category(version_id)), counted, -1)
            _add(report, (label(day), school_of[email], category(version_id)), counted, 1)
    for key, cell in list(report.cells.items()):
        cell.hours = round(cell.hours, 9)  # what adding and taking away left of float noise
        if not cell.credentials:
            del report.cells[key]
    return report


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def to_csv(report: HoursReport) -> str:
    """The report as CSV: one row per period, school and category that has credentials, with
    the hours and how many credentials gave them, and what the hours were converted by."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period", "period_start", "school", "category", "hours", "credentials",
                     "converted_by"])  # fmt: skip
    converted = report.rule.name if report.rule is not None else "clock hours"
    cells = {key: (cell.hours, cell.credentials) for key, cell in report.cells.items()}
    school_order = {name: i for i, name in enumerate(report.schools)}
    category_order = {name: i for i, name in enumerate(report.categories)}
    for period in report.periods:
        keys = sorted(
            (k for k in cells if k[0] == period.label),
            key=lambda k: (school_order[k[1]], category_order[k[2]]),
        )
        for key in keys:
            hours, count = cells[key]
            writer.writerow(safe_row([period.label, period.start.isoformat(), key[1], key[2],
                                      _number(hours), int(count), converted]))  # fmt: skip
    return out.getvalue()


def school_names(issuer: Issuer) -> list[School]:
    """The organisation's schools (for the page's wording)."""
    return schools.list_for(issuer)
