"""Achievements an organisation awards automatically for what educators do with each other:
the rules (a coaching-cycle achievement: N confirmed coaching sessions, with evidence if asked;
a learning-partner achievement: N colleagues' checklists confirmed), and the learning-partner
award itself, made once when a confirmation reaches the count (``partners.confirm_partner``
calls :func:`after_partner_confirmation`). The coaching-cycle award is made by
``coaching_sessions``, which reads the rules here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    RULE_KINDS,
    Achievement,
    AchievementVersion,
    Educator,
    EducatorEmail,
    Enrolment,
    IssuedCredential,
    Issuer,
    Module,
    PartnerRecognition,
    RecognitionRule,
)
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, ServiceError
from app.services._core.formatting import format_day
from app.services._core.transaction import all_or_nothing
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.org import achievements, audit
from app.services.org.audit import Actor

log = logging.getLogger(__name__)

#: The most sessions or confirmations a rule may ask for.
MAX_COUNT = 100
#: The actor of an award a learning partner earned.
PARTNER_AWARD_ACTOR = Actor(label="learning partner recognition")
KIND_LABELS = {
    "coaching": "Coaching cycle",
    "partner": "Learning partner",
}


@dataclass(frozen=True)
class RuleLine:
    """A rule with its achievement's current name, for the settings page."""

    rule: RecognitionRule
    achievement: Achievement
    name: str


def rules_for(issuer: Issuer, kind: str | None = None) -> list[RuleLine]:
    """The organisation's recognition rules (of one ``kind``, if given), by achievement name."""
    query = (
        select(RecognitionRule, Achievement, AchievementVersion.name)
        .join(Achievement, Achievement.id == RecognitionRule.achievement_id)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(RecognitionRule.issuer_id == issuer.id)
        .order_by(AchievementVersion.name)
    )
    if kind is not None:
        query = query.where(RecognitionRule.kind == kind)
    return [
        RuleLine(rule, achievement, name) for rule, achievement, name in db.session.execute(query)
    ]


def rule_of(achievement: Achievement) -> RecognitionRule | None:
    """The achievement's recognition rule, if it has one."""
    return db.session.scalar(
        select(RecognitionRule).where(RecognitionRule.achievement_id == achievement.id)
    )


def set_rule(
    issuer: Issuer,
    achievement_public_id: str,
    kind: str,
    count: int | str | None,
    evidence_required: bool,
    *,
    actor: Actor,
    env: ServiceEnv,
) -> RecognitionRule:
    """Make (or change) the rule that awards an achievement of the organisation; audited.

    :raises Invalid: for an unknown kind or achievement, or a count outside 1..100.
    :raises Conflict: for an archived achievement.
    """
    if kind not in RULE_KINDS:
        raise Invalid("Choose what the achievement recognises.", "kind")
    if not achievement_public_id:
        raise Invalid("Choose an achievement.", "achievement")
    try:
        achievement = achievements.get(issuer, achievement_public_id)
    except NotFound as error:
        raise Invalid("Choose one of this organisation's achievements.", "achievement") from error
    if achievement.archived_at is not None:
        raise Conflict("That achievement is archived: it cannot be awarded.")
    try:
        number = int(str(count).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_COUNT:
        raise Invalid(f"Give a whole number from 1 to {MAX_COUNT}.", "count")
    rule = rule_of(achievement)
    if rule is None:
        rule = RecognitionRule(issuer_id=issuer.id, achievement_id=achievement.id)
        db.session.add(rule)
    rule.kind = kind
    rule.count = number
    rule.evidence_required = bool(evidence_required) and kind == "coaching"
    rule.updated_at = env.now
    audit.record("recognition.rule_set", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="achievement", subject_id=achievement.public_id,
                 detail={"kind": kind, "count": number,
                         "evidence_required": rule.evidence_required})  # fmt: skip
    db.session.commit()
    return rule


def get_rule(issuer: Issuer, achievement_public_id: str) -> RecognitionRule:
    """The rule of one of the organisation's achievements.

    :raises NotFound: when it has none.
    """
    achievement = achievements.get(issuer, achievement_public_id)
    rule = rule_of(achievement)
    if rule is None:
        raise NotFound("That achievement has no recognition rule.")
    return rule


def remove_rule(rule: RecognitionRule, *, actor: Actor, env: ServiceEnv) -> None:
    """Stop awarding an achievement automatically (credentials awarded stay); audited."""
    achievement = db.session.get(Achievement, rule.achievement_id)
    audit.record("recognition.rule_remove", actor=actor, now=env.now, issuer_id=rule.issuer_id,
                 subject_type="achievement",
                 subject_id=achievement.public_id if achievement else None,
                 detail={"kind": rule.kind})  # fmt: skip
    db.session.delete(rule)
    db.session.commit()


# ------------------------------------------------------------------------- learning partners


def partner_addresses(email: str) -> list[str]:
    """Every address that is the same partner as ``email``: the confirmed addresses of the
    educator who confirmed it, else the address alone (a partner needs no account)."""
    address = check_email(email)
    owner = db.session.scalar(
        select(EducatorEmail.educator_id).where(
            EducatorEmail.email == address, EducatorEmail.verified_at.is_not(None)
        )
    )
    if owner is None:
        return [address]
    found = db.session.scalars(
        select(EducatorEmail.email).where(
            EducatorEmail.educator_id == owner, EducatorEmail.verified_at.is_not(None)
        )
    )
    return sorted(set(found) | {address})


def confirmations_by(addresses: list[str], issuer_id: int | None = None) -> list[Enrolment]:
    """Colleagues' checklists confirmed by the partner of ``addresses`` (in one organisation's
    modules, if given), oldest first."""
    if not addresses:
        return []
    query = (
        select(Enrolment)
        .join(Module, Module.id == Enrolment.module_id)
        .where(
            Enrolment.partner_email.in_(addresses),
            Enrolment.partner_confirmed_at.is_not(None),
        )
        .order_by(Enrolment.partner_confirmed_at, Enrolment.id)
    )
    if issuer_id is not None:
        query = query.where(Module.issuer_id == issuer_id)
    return list(db.session.scalars(query))


def _already_recognised(achievement: Achievement, addresses: list[str]) -> bool:
    return (
        db.session.scalar(
            select(PartnerRecognition.id).where(
                PartnerRecognition.achievement_id == achievement.id,
                PartnerRecognition.email.in_(addresses),
            )
        )
        is not None
    )


def _partner_evidence(confirmed: list[Enrolment], locale: str) -> tuple[EvidenceInput, ...]:
    """One entry per confirmation (the module, the day, and the thanks received, if any)."""
    evidence = []
    for enrolment in confirmed:
        when = format_day(enrolment.partner_confirmed_at, locale, width="long")
        narrative = f"Confirmed a colleague's checklist for “{enrolment.module.title}” on {when}."
        if enrolment.partner_note:
            narrative += f"\n\nTheir thanks: “{enrolment.partner_note}”"
        evidence.append(EvidenceInput(name="Learning partner confirmation", narrative=narrative))
    return tuple(evidence)


def after_partner_confirmation(enrolment: Enrolment, env: ServiceEnv) -> list[IssuedCredential]:
    """Award the learning-partner achievements whose count the partner of ``enrolment`` has
    now reached (each once, to the address they confirmed with; the confirmations and thanks
    are the evidence). Called once the confirmation is committed: an award refused (an
    archived achievement, a race already won) is logged and leaves the confirmation as it is.
    """
    if not enrolment.partner_email or enrolment.partner_confirmed_at is None:
        return []
    module = enrolment.module
    issuer = db.session.get(Issuer, module.issuer_id)
    if issuer is None:
        return []
    lines = rules_for(issuer, "partner")
    if not lines:
        return []
    addresses = partner_addresses(enrolment.partner_email)
    confirmed = confirmations_by(addresses, issuer.id)
    awarded: list[IssuedCredential] = []
    for line in lines:
        if len(confirmed) < line.rule.count or _already_recognised(line.achievement, addresses):
            continue
        try:
            awarded.append(_award_partner(issuer, line, enrolment.partner_email, confirmed, env))
        except ServiceError as refused:
            log.warning("learning-partner award of %s not made: %s", line.name, refused.message)
    return awarded


def _award_partner(
    issuer: Issuer, line: RuleLine, email: str, confirmed: list[Enrolment], env: ServiceEnv
) -> IssuedCredential:
    address = check_email(email)
    holder = db.session.scalar(
        select(Educator)
        .join(EducatorEmail, EducatorEmail.educator_id == Educator.id)
        .where(EducatorEmail.email == address, EducatorEmail.verified_at.is_not(None))
    )
    name = holder.credential_name if holder is not None else None

    def record(credential: IssuedCredential) -> None:
        db.session.add(
            PartnerRecognition(achievement_id=line.achievement.id, email=address,
                               credential_id=credential.id, awarded_at=env.now)
        )  # fmt: skip
        try:
            db.session.flush()
        except IntegrityError as clash:  # another confirmation's award won the race
            raise Conflict("This learning-partner achievement was just awarded.") from clash

    count = len(confirmed)
    with all_or_nothing():
        return issuing.award(
            issuer,
            line.achievement,
            AwardInput(
                email=address,
                name=name,
                narrative=(
                    f"Confirmed the module checklist{'' if count == 1 else 's'} of {count} "
                    f"colleague{'' if count == 1 else 's'} as their learning partner."
                ),
                evidence=_partner_evidence(confirmed, env.settings.locale),
            ),
            actor=PARTNER_AWARD_ACTOR,
            env=env,
            on_store=record,
        )


@dataclass(frozen=True)
class PartnerProgress:
    """How far a partner is toward one learning-partner achievement."""

    issuer_name: str
    name: str
    count: int
    confirmed: int
    credential_id: str | None


@dataclass(frozen=True)
class Partnerships:
    """An educator's partnerships: the colleagues whose checklists they confirmed, the
    partners they asked, and their progress toward learning-partner achievements."""

    #: Each checklist confirmed, with the colleague's name.
    as_partner: list[tuple[Enrolment, str]]
    asked: list[Enrolment]
    progress: list[PartnerProgress]


def partnerships_of(educator: Educator) -> Partnerships:
    """Every partnership the educator was part of, either way round."""
    addresses = [e.email for e in educator.emails if e.verified_at is not None]
    confirmed = [e for e in confirmations_by(addresses) if e.educator_id != educator.id]
    colleagues = {
        row.id: row.name
        for row in db.session.scalars(
            select(Educator).where(Educator.id.in_({e.educator_id for e in confirmed}))
        )
    } if confirmed else {}  # fmt: skip
    as_partner = [(e, colleagues.get(e.educator_id, "A colleague")) for e in confirmed]
    asked = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.educator_id == educator.id, Enrolment.partner_email.is_not(None))
            .order_by(Enrolment.partner_invited_at.desc(), Enrolment.id.desc())
        )
    )
    progress: list[PartnerProgress] = []
    issuer_ids = sorted({e.module.issuer_id for e in confirmed})
    for issuer_id in issuer_ids:
        issuer = db.session.get(Issuer, issuer_id)
        if issuer is None:
            continue
        count = sum(1 for e in confirmed if e.module.issuer_id == issuer_id)
        for line in rules_for(issuer, "partner"):
            held = db.session.scalar(
                select(PartnerRecognition.credential_id).where(
                    PartnerRecognition.achievement_id == line.achievement.id,
                    PartnerRecognition.email.in_(addresses),
                )
            ) if addresses else None  # fmt: skip
            progress.append(PartnerProgress(issuer.name, line.name, line.rule.count,
                                            count, held))  # fmt: skip
    return Partnerships(as_partner, asked, progress)
