"""Credit rules for renewal and an educator's progress toward them.

An organisation (owner or editor) keeps rules for each place its educators renew: the cycle,
the hours required, categories with minimums and the achievements each counts, and conversion
rates. An educator's progress is read from the credentials they hold, as signed: each one's
credit (``creditsEarned`` when recorded, else ``creditsAvailable``) in its unit, turned into
hours by the rule's rates (a CEU = ``ceu`` hours, a point = ``points`` hours; hours as they
are; a micro-credential carrying no credit = ``micro_credential`` hours).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, CreditRule, Educator, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.delivery import downloads
from app.services.learning import educators, enrolments
from app.services.org import achievements, audit
from app.services.org.audit import Actor
from credentials import decode_jwt


def list_for(issuer: Issuer) -> list[CreditRule]:
    """The organisation's credit rules, by name."""
    return list(
        db.session.scalars(
            select(CreditRule).where(CreditRule.issuer_id == issuer.id).order_by(CreditRule.name)
        )
    )


def get(issuer: Issuer, public_id: str) -> CreditRule:
    """One of the organisation's rules.

    :raises NotFound: when it has no such rule.
    """
    found = db.session.scalar(
        select(CreditRule).where(
            CreditRule.issuer_id == issuer.id, CreditRule.public_id == public_id
        )
    )
    if found is None:
        raise NotFound("There are no such credit rules.")
    return found


def _checked(issuer: Issuer, loaded: dict[str, Any]) -> dict[str, Any]:
    """The fields to store; every achievement named must be the organisation's own."""
    own = {a.public_id for a, _ in achievements.list_for(issuer, include_archived=True)}
    for index, category in enumerate(loaded["categories"]):
        unknown = [a for a in category["achievements"] if a not in own]
        if unknown:
            raise Invalid(
                f"Category {category['name']!r} names an achievement this organisation "
                "does not have.",
                f"category-{index}-name",
            )
    return {
        "name": loaded["name"].strip(),
        "cycle_years": loaded["cycle_years"],
        "cycle_start": loaded["cycle_start"],
        "hours_required": loaded["hours_required"],
        "categories": [
            {
                "name": c["name"].strip(),
                "minimum": c["minimum"] or 0,
                "achievements": sorted(set(c["achievements"])),
            }
            for c in loaded["categories"]
        ],
        "conversions": {
            "ceu": loaded["ceu"] if loaded["ceu"] is not None else 15,
            "points": loaded["points"] if loaded["points"] is not None else 1,
            "micro_credential": loaded["micro_credential"] or 0,
        },
    }


def create(issuer: Issuer, loaded: dict[str, Any], *, actor: Actor, env: ServiceEnv) -> CreditRule:
    """Add credit rules (``loaded`` by ``schemas.credit_rules.load_credit_rule``); audited.

    :raises Invalid: for an achievement that is not the organisation's.
    """
    fields = _checked(issuer, loaded)
    rule = CreditRule(
        public_id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        created_at=env.now,
        updated_at=env.now,
        **fields,
    )
    db.session.add(rule)
    db.session.flush()
    audit.record("credit_rule.create", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="credit_rule", subject_id=rule.public_id,
                 detail={"name": rule.name})  # fmt: skip
    db.session.commit()
    return rule


def update(
    rule: CreditRule, loaded: dict[str, Any], *, actor: Actor, env: ServiceEnv
) -> CreditRule:
    """Change credit rules; audited.

    :raises Invalid: for an achievement that is not the organisation's.
    """
    fields = _checked(rule.issuer, loaded)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_at = env.now
    audit.record("credit_rule.update", actor=actor, now=env.now, issuer_id=rule.issuer_id,
                 subject_type="credit_rule", subject_id=rule.public_id,
                 detail={"name": rule.name})  # fmt: skip
    db.session.commit()
    return rule


def delete(rule: CreditRule, *, actor: Actor, env: ServiceEnv) -> None:
    """Remove credit rules (credentials and their hours are untouched); audited."""
    audit.record("credit_rule.delete", actor=actor, now=env.now, issuer_id=rule.issuer_id,
                 subject_type="credit_rule", subject_id=rule.public_id,
                 detail={"name": rule.name})  # fmt: skip
    db.session.delete(rule)
    db.session.commit()


# --------------------------------------------------------------------------------- progress


def cycle_of(rule: CreditRule, today: date) -> tuple[date, date]:
    """The cycle ``today`` falls in: ``[start, end)``, every ``cycle_years`` from the rule's
    first cycle (cycles before it count back the same way)."""
    years = (today.year - rule.cycle_start.year) // rule.cycle_years * rule.cycle_years
    start = _add_years(rule.cycle_start, years)
    if start > today:
        start = _add_years(start, -rule.cycle_years)
    elif _add_years(start, rule.cycle_years) <= today:
        start = _add_years(start, rule.cycle_years)
    return start, _add_years(start, rule.cycle_years)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def hours_for(
    credit: float | None, unit: str | None, achievement_type: str | None, rule: CreditRule
) -> float:
    """The hours one credential counts for under ``rule``."""
    rates = rule.conversions or {}
    if credit is None or credit == 0:
        if achievement_type == "MicroCredential":
            return float(rates.get("micro_credential") or 0)
        return 0.0
    if unit == "ceu":
        return credit * float(rates.get("ceu") or 0)
    if unit == "points":
        return credit * float(rates.get("points") or 0)
    return credit


def hours_or_none(
    credit: float | None, unit: str | None, achievement_type: str | None, rule: CreditRule | None
) -> float | None:
    """The hours a credential counts for: by ``rule``, else its credit if that is in clock
    hours; ``None`` when it carries credit that is not hours and no rule converts it."""
    if rule is not None:
        return hours_for(credit, unit, achievement_type, rule)
    if credit is None:
        return 0.0
    return credit if unit in (None, "clock_hours") else None


@dataclass(frozen=True)
class Line:
    """One credential as it counts: what it is, when, its credit and the hours it gives."""

    credential: IssuedCredential
    name: str
    issuer_name: str
    awarded: date
    credit: float | None
    unit: str | None
    hours: float
    category: str | None


@dataclass(frozen=True)
class CategoryProgress:
    """A category's hours this cycle against its minimum."""

    name: str
    minimum: float
    hours: float

    @property
    def missing(self) -> float:
        """The hours still needed (none once the minimum is met)."""
        return max(0.0, self.minimum - self.hours)


@dataclass(frozen=True)
class Suggestion:
    """An open module whose badge would count, and where."""

    module_id: str
    title: str
    issuer_name: str
    category: str | None
    hours: float


@dataclass(frozen=True)
class Progress:
    """An educator's progress toward one rule's renewal in the current cycle."""

    rule: CreditRule
    start: date
    end: date
    lines: list[Line]
    categories: list[CategoryProgress]
    suggestions: list[Suggestion]

    @property
    def last_day(self) -> date:
        """The cycle's last day."""
        return self.end - timedelta(days=1)

    @property
    def total(self) -> float:
        """Hours this cycle."""
        return sum(line.hours for line in self.lines)

    @property
    def missing(self) -> float:
        """Hours still needed in all (at least what the categories still need)."""
        return max(
            self.rule.hours_required - self.total, sum(c.missing for c in self.categories), 0.0
        )

    @property
    def percent(self) -> int:
        """How far along, 0-100, for the progress bar."""
        required = self.rule.hours_required
        return 100 if required <= 0 else min(100, round(self.total / required * 100))


def _document(credential: IssuedCredential) -> dict[str, Any]:
    text = credential.document
    if text.startswith("{"):
        parsed: dict[str, Any] = json.loads(text)
        return parsed
    return dict(decode_jwt(text).credential)


def _category_of(rule: CreditRule, achievement_id: str) -> str | None:
    for category in rule.categories:
        if achievement_id in category.get("achievements", []):
            return str(category["name"])
    return None


def line_for(credential: IssuedCredential, rule: CreditRule, issuer_name: str) -> Line:
    """How one credential counts under ``rule``."""
    document = _document(credential)
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    credit, unit = downloads.credit_of(credential)
    public_id = db.session.scalar(
        select(Achievement.public_id).where(Achievement.id == credential.achievement_id)
    )
    return Line(
        credential=credential,
        name=str(achievement.get("name") or document.get("name") or "Credential"),
        issuer_name=issuer_name,
        awarded=credential.issued_at.date(),
        credit=credit,
        unit=unit,
        hours=hours_for(credit, unit, achievement.get("achievementType"), rule),
        category=_category_of(rule, public_id or ""),
    )


def lines_between(
    educator: Educator, rule: CreditRule, start: date, end: date, env: ServiceEnv
) -> list[Line]:
    """Every valid credential the educator holds, awarded in ``[start, end)``, as it counts."""
    lines = []
    for entry in educators.backpack(educator):
        credential = entry.credential
        awarded = credential.issued_at.date()
        if credential.status_at(env.now) != "valid" or not start <= awarded < end:
            continue
        lines.append(line_for(credential, rule, entry.issuer_name))
    return sorted(lines, key=lambda line: (line.awarded, line.name))


def rules_for(educator: Educator) -> list[CreditRule]:
    """The credit rules of every organisation that has awarded the educator a credential."""
    issuer_ids = {e.credential.issuer_id for e in educators.backpack(educator)}
    if not issuer_ids:
        return []
    return list(
        db.session.scalars(
            select(CreditRule)
            .where(CreditRule.issuer_id.in_(issuer_ids))
            .order_by(CreditRule.name, CreditRule.id)
        )
    )


def rule_for_educator(educator: Educator, public_id: str) -> CreditRule:
    """One of :func:`rules_for`.

    :raises NotFound: for any other rule.
    """
    for rule in rules_for(educator):
        if rule.public_id == public_id:
            return rule
    raise NotFound("There are no such credit rules.")


def progress(educator: Educator, rule: CreditRule, env: ServiceEnv) -> Progress:
    """The educator's hours this cycle, by category, what is missing and what would count."""
    start, end = cycle_of(rule, env.now.astimezone(UTC).date())
    lines = lines_between(educator, rule, start, end, env)
    categories = [
        CategoryProgress(
            name=str(c["name"]),
            minimum=float(c.get("minimum") or 0),
            hours=sum(line.hours for line in lines if line.category == c["name"]),
        )
        for c in rule.categories
    ]
    return Progress(rule, start, end, lines, categories, _suggestions(educator, rule))


def _suggestions(educator: Educator, rule: CreditRule) -> list[Suggestion]:
    """Open modules (not completed) whose badge carries hours under ``rule``, those in a
    category first."""
    found = []
    for entry in enrolments.catalogue(educator):
        module = entry.module
        if entry.enrolment is not None and entry.enrolment.state == "awarded":
            continue
        achievement = db.session.get(Achievement, module.achievement_id)
        if achievement is None or achievement.archived_at is not None:
            continue
        version = achievements.current_version(achievement)
        hours = hours_for(
            version.credits_available, version.credit_unit, version.achievement_type, rule
        )
        if hours <= 0:
            continue
        found.append(
            Suggestion(
                module_id=module.public_id,
                title=module.title,
                issuer_name=entry.issuer_name,
                category=_category_of(rule, achievement.public_id),
                hours=hours,
            )
        )
    return sorted(found, key=lambda s: (s.category is None, s.title.lower()))


def now_date(env: ServiceEnv) -> date:
    """Today (UTC), for a form's default cycle start."""
    moment: datetime = env.now
    return moment.astimezone(UTC).date()
