"""The staff hours report: hours earned by an organisation's educators, from the credentials
it awarded, by school, by category and by period.

Each credential's credit is read from the signed document (``creditsEarned`` when recorded,
else ``creditsAvailable``) and turned into hours by the chosen credit rules
(``credit_rules.hours_or_none``), which also sort it into a category; without rules, only
credit in clock hours (or with no unit stated) counts, as it is, and credentials carrying
CEUs or points are counted apart.
A credential is in the school whose roster holds the address it was awarded to, or else the
school of the educator holding that address. Revoked and suspended credentials count nothing.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    CreditRule,
    EducatorEmail,
    IssuedCredential,
    Issuer,
    School,
)
from app.services._core.spreadsheets import safe_row
from app.services.delivery import downloads
from app.services.learning import credit_rules
from app.services.org import schools

NO_SCHOOL = "No school"
NO_CATEGORY = "No category"
PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """One period of the report: ``[start, end)`` and how it is written."""

    start: date
    end: date
    label: str


@dataclass(frozen=True)
class Entry:
    """One credential as it counts in the report."""

    credential_id: str
    recipient: str
    achievement: str
    awarded: date
    credit: float | None
    unit: str | None
    hours: float
    school: str
    category: str
    period: str


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
    entries: list[Entry] = field(default_factory=list)
    #: Credentials whose credit is not in hours, left out because no credit rules convert it.
    left_out: int = 0

    @property
    def total(self) -> float:
        """All the hours in the range."""
        return sum(e.hours for e in self.entries)

    def totals(self, by: str) -> list[tuple[str, float, int]]:
        """``(name, hours, credentials)`` per school, category or period, in order (every
        school and category, and every period of the range, even with no hours)."""
        names = {"school": self.schools, "category": self.categories}.get(by) or [
            p.label for p in self.periods
        ]
        hours: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            key = getattr(entry, by)
            hours[key] += entry.hours
            counts[key] += 1 if entry.hours else 0
        return [(name, hours[name], counts[name]) for name in names]

    def groups(self, by: str) -> list[str]:
        """The schools or categories that have hours, in order (the chart's series)."""
        names = self.schools if by == "school" else self.categories
        present = {getattr(e, by) for e in self.entries if e.hours}
        return [n for n in names if n in present]

    def cross(self, by: str) -> list[tuple[str, list[float], float]]:
        """Per period: the hours of each of :meth:`groups` and the period's total."""
        groups = self.groups(by)
        cells: dict[tuple[str, str], float] = defaultdict(float)
        for entry in self.entries:
            cells[(entry.period, getattr(entry, by))] += entry.hours
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
    school_of = _school_of_address(issuer)
    rows = db.session.execute(
        select(IssuedCredential, Achievement.public_id, AchievementVersion)
        .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
        .join(AchievementVersion, AchievementVersion.id == IssuedCredential.achievement_version_id)
        .where(
            IssuedCredential.issuer_id == issuer.id,
            IssuedCredential.issued_at >= datetime.combine(start, time.min, tzinfo=UTC),
            IssuedCredential.issued_at
            < datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
            IssuedCredential.revoked_at.is_(None),
            IssuedCredential.suspended_at.is_(None),
        )
        .order_by(IssuedCredential.issued_at, IssuedCredential.id)
    ).all()
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
    for credential, achievement_id, version in rows:
        credit, unit = downloads.credit_of(credential)
        hours = credit_rules.hours_or_none(credit, unit, version.achievement_type, rule)
        if hours is None:
            report.left_out += 1
            continue
        awarded = credential.issued_at.astimezone(UTC).date()
        label = next(p.label for p in periods if p.start <= awarded < p.end)
        report.entries.append(
            Entry(
                credential_id=credential.id,
                recipient=credential.recipient_email,
                achievement=version.name,
                awarded=awarded,
                credit=credit,
                unit=unit,
                hours=hours,
                school=school_of.get(credential.recipient_email, NO_SCHOOL),
                category=by_achievement.get(achievement_id, NO_CATEGORY),
                period=label,
            )
        )
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
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for entry in report.entries:
        cell = cells[(entry.period, entry.school, entry.category)]
        cell[0] += entry.hours
        cell[1] += 1
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
