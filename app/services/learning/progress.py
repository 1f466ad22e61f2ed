"""How far an enrolment is through its module: per activity, and over all its reflection prompts
(the checklist a learning partner confirms and the completion rules read)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Activity, Enrolment, PortfolioItem, Response


@dataclass(frozen=True)
class ActivityProgress:
    """How far an enrolment is with one activity."""

    activity: Activity
    answered: int
    total: int

    @property
    def done(self) -> bool:
        """Every prompt answered (an activity without prompts has nothing to do)."""
        return self.answered >= self.total


@dataclass(frozen=True)
class Progress:
    """How far an enrolment is: per activity, and over all prompts."""

    activities: list[ActivityProgress]
    answered_ids: frozenset[int]

    @property
    def answered(self) -> int:
        return sum(a.answered for a in self.activities)

    @property
    def total(self) -> int:
        return sum(a.total for a in self.activities)

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.answered * 100 // self.total

    @property
    def all_answered(self) -> bool:
        return all(a.done for a in self.activities)

    @property
    def activities_done(self) -> int:
        return sum(1 for a in self.activities if a.done)


def _answered_ids(enrolment: Enrolment) -> frozenset[int]:
    """The prompts the enrolment has a non-blank answer to."""
    return frozenset(
        db.session.scalars(
            select(Response.prompt_id)
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .where(Response.enrolment_id == enrolment.id, PortfolioItem.body != "")
        )
    )


def progress(enrolment: Enrolment) -> Progress:
    """The enrolment's progress through its module."""
    answered = _answered_ids(enrolment)
    return Progress(
        activities=[
            ActivityProgress(
                activity=activity,
                answered=sum(1 for p in activity.prompts if p.id in answered),
                total=len(activity.prompts),
            )
            for activity in enrolment.module.activities
        ],
        answered_ids=answered,
    )
