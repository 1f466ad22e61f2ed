"""Enrolments in learning modules: the educator's catalogue, enrolling oneself in an open module,
finding one's enrolment, the checks every change to the work passes (whose it is, whether it may
still change), and the staff's table of a module's enrolments with each one's progress."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    Educator,
    Enrolment,
    Issuer,
    Module,
    PortfolioItem,
    Prompt,
    Response,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, NotFound, required
from app.services.learning import authoring, educators

#: An educator may change their work in these states; afterwards it is submitted.
EDITABLE_STATES = ("in_progress", "returned")


@dataclass(frozen=True)
class CatalogueEntry:
    """A module as the educator's catalogue lists it."""

    module: Module
    issuer_name: str
    achievement_name: str
    enrolment: Enrolment | None


def catalogue(educator: Educator) -> list[CatalogueEntry]:
    """The modules an educator is enrolled in (first), then every published open module of
    any issuer, by title."""
    mine = {
        e.module_id: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.educator_id == educator.id))
    }
    rows = db.session.execute(
        select(Module, Issuer.name, AchievementVersion.name)
        .join(Issuer, Issuer.id == Module.issuer_id)
        .join(Achievement, Achievement.id == Module.achievement_id)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(
            (Module.id.in_(list(mine)))
            | ((Module.published.is_(True)) & (Module.enrolment_mode == "open"))
        )
        .order_by(func.lower(Module.title), Module.id)
    ).all()
    entries = [
        CatalogueEntry(module, issuer_name, name, mine.get(module.id))
        for module, issuer_name, name in rows
    ]
    return sorted(entries, key=lambda e: e.enrolment is None)


def _enrolment(module: Module, educator: Educator) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.module_id == module.id, Enrolment.educator_id == educator.id
        )
    )


def module_for(educator: Educator, public_id: str) -> tuple[Module, Enrolment | None]:
    """A module the educator may see (one they are enrolled in, or a published open one) and
    their enrolment in it, if any.

    :raises NotFound: for any other module (drafts and cohort modules stay invisible).
    """
    module = authoring.module_by_public_id(public_id)
    enrolment = _enrolment(module, educator)
    if enrolment is None and not (module.published and module.enrolment_mode == "open"):
        raise NotFound("There is no such module.")
    return module, enrolment


def enrolment_for(educator: Educator, public_id: str) -> Enrolment:
    """The educator's own enrolment in a module.

    :raises NotFound: when they are not enrolled (whoever else is).
    """
    module = authoring.module_by_public_id(public_id)
    enrolment = _enrolment(module, educator)
    if enrolment is None:
        raise NotFound("You are not enrolled in this module.")
    return enrolment


def enrolment_in(module: Module, enrolment_id: int) -> Enrolment:
    """One enrolment of ``module``.

    :raises NotFound: when the module has no such enrolment.
    """
    found = db.session.get(Enrolment, enrolment_id)
    if found is None or found.module_id != module.id:
        raise NotFound("There is no such enrolment in this module.")
    return found


def enrol(educator: Educator, module: Module, env: ServiceEnv) -> Enrolment:
    """Enrol the educator in a published open module (enrolling twice is harmless).

    :raises NotFound: for a draft module.
    :raises Conflict: for a module whose organisers enrol its cohort themselves.
    """
    existing = _enrolment(module, educator)
    if existing is not None:
        return existing
    if not module.published:
        raise NotFound("There is no such module.")
    if module.enrolment_mode != "open":
        raise Conflict("This module's organisers enrol its participants; ask them to add you.")
    enrolment = Enrolment(
        module_id=module.id,
        educator_id=educator.id,
        state="in_progress",
        enrolled_at=env.now,
        enrolled_by="self",
    )
    db.session.add(enrolment)
    try:
        db.session.flush()
    except IntegrityError:
        # Two clicks at once: the other request enrolled them.
        db.session.rollback()
        return required(_enrolment(module, educator), "There is no such enrolment.")
    record_by_educator("module.enrol", module, educator, env, by="self")
    db.session.commit()
    return enrolment


def record_by_educator(
    action: str, module: Module, educator: Educator, env: ServiceEnv, **detail: object
) -> None:
    """Add the audit event of an educator's own step in a module (its detail names them)."""
    authoring.record(action, module, educators.actor(educator), env, educator=educator.id, **detail)


def require_own(enrolment: Enrolment, educator: Educator) -> None:
    """Refuse a change to someone else's enrolment.

    :raises NotFound: when the enrolment is not the educator's.
    """
    if enrolment.educator_id != educator.id:
        raise NotFound("There is no such enrolment.")


def require_editable(enrolment: Enrolment) -> None:
    """Refuse a change to work that was submitted.

    :raises Conflict: when it is with a reviewer, or the module is complete.
    """
    if enrolment.state == "in_review":
        raise Conflict("Your work is with a reviewer; it cannot be changed until they decide.")
    if enrolment.state not in EDITABLE_STATES:
        raise Conflict("This module is complete; your work can no longer be changed.")


def mail_address(educator: Educator) -> str | None:
    """Where the educator's mail goes: a confirmed address, else any they have."""
    addresses = educators.verified_emails(educator) or [e.email for e in educator.emails]
    return addresses[0] if addresses else None


@dataclass(frozen=True)
class EnrolmentRow:
    """One line of a module's enrolments table."""

    enrolment: Enrolment
    name: str
    email: str
    answered: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.answered * 100 // self.total


def table(module: Module) -> list[EnrolmentRow]:
    """The module's enrolments with each one's progress, most recent first."""
    total = authoring.prompt_count(module)
    answered = dict(
        db.session.execute(
            select(Response.enrolment_id, func.count())
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .join(Enrolment, Enrolment.id == Response.enrolment_id)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .where(Enrolment.module_id == module.id, PortfolioItem.body != "")
            .group_by(Response.enrolment_id)
        ).all()
    )
    rows = db.session.execute(
        select(Enrolment, Educator)
        .join(Educator, Educator.id == Enrolment.educator_id)
        .where(Enrolment.module_id == module.id)
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
    ).all()
    return [
        EnrolmentRow(
            enrolment=enrolment,
            name=educator.name,
            email=mail_address(educator) or "",
            answered=min(answered.get(enrolment.id, 0), total),
            total=total,
        )
        for enrolment, educator in rows
    ]
