"""An educator's work in a module: answers to its reflection prompts (each a portfolio item of
theirs) and the evidence they attach (files, links, narratives), while the work may change."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Activity, Educator, Enrolment, EnrolmentItem, PortfolioItem, Prompt, Response
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services._core.transaction import all_or_nothing
from app.services.learning import enrolments, portfolio
from app.services.learning.portfolio import ItemInput


def answers(enrolment: Enrolment) -> dict[int, str]:
    """The enrolment's answers, by prompt id."""
    return {
        prompt_id: body
        for prompt_id, body in db.session.execute(
            select(Response.prompt_id, PortfolioItem.body)
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .where(Response.enrolment_id == enrolment.id)
        ).all()
    }


def save_answers(
    enrolment: Enrolment,
    educator: Educator,
    activity: Activity,
    texts: dict[int, str],
    env: ServiceEnv,
) -> int:
    """Save answers to prompts of one activity (each answer is a portfolio item of the
    educator's); a blank answer clears it. Unchanged answers are left alone, so saving as one
    types costs little. Returns how many answers changed.

    :raises NotFound: for an enrolment, activity or prompt that is not theirs or this module's.
    :raises Conflict: when the work has been submitted.
    :raises ServiceError: for an answer that is too long.
    """
    enrolments.require_own(enrolment, educator)
    if activity.module_id != enrolment.module_id:
        raise NotFound("There is no such activity.")
    enrolments.require_editable(enrolment)
    prompts = {p.id: p for p in activity.prompts}
    if any(prompt_id not in prompts for prompt_id in texts):
        raise NotFound("There is no such prompt in this activity.")
    if any(len(text) > portfolio.MAX_BODY for text in texts.values()):
        raise Invalid(f"Keep each answer under {portfolio.MAX_BODY:,} characters.", "text")
    current = answers(enrolment)
    changed = 0
    for prompt_id, text in texts.items():
        cleaned = text.strip()
        if current.get(prompt_id, "") == cleaned:
            continue
        portfolio.save_response(enrolment, prompts[prompt_id], educator, cleaned, env)
        changed += 1
    return changed


def attachments(enrolment: Enrolment) -> list[PortfolioItem]:
    """The evidence attached to an enrolment, in the order it was attached."""
    return list(
        db.session.scalars(
            select(PortfolioItem)
            .join(EnrolmentItem, EnrolmentItem.item_id == PortfolioItem.id)
            .where(EnrolmentItem.enrolment_id == enrolment.id)
            .order_by(EnrolmentItem.id)
        )
    )


def attach_evidence(
    enrolment: Enrolment,
    educator: Educator,
    kind: str,
    data: ItemInput,
    env: ServiceEnv,
    *,
    upload: tuple[bytes, str] | None = None,
    max_bytes: int,
) -> PortfolioItem:
    """Attach evidence to the enrolment: a file (``upload`` is its bytes and name; checked and
    stored by the portfolio, its title defaults to the file's name), a link or a narrative. It
    becomes a portfolio item of the educator's, private until they publish it.

    :raises Conflict: when the work has been submitted.
    :raises ServiceError: for a missing, unsupported or oversized file, or invalid text.
    """
    enrolments.require_own(enrolment, educator)
    enrolments.require_editable(enrolment)
    if kind not in ("file", "link", "narrative"):
        raise Invalid("Choose a file, a link or a narrative.", "kind")
    with all_or_nothing():
        stored = None
        if kind == "file":
            if upload is None or not upload[1]:
                raise Invalid("Choose a file to upload.", "file")
            stored = portfolio.store_file(upload[0], upload[1], max_bytes=max_bytes, now=env.now)
            data = ItemInput(title=data.title.strip() or stored.filename, body=data.body)
        item = portfolio.create_item(educator, kind, data, env, file=stored)
    db.session.add(EnrolmentItem(enrolment_id=enrolment.id, item_id=item.id, created_at=env.now))
    db.session.commit()
    return item


def detach_evidence(
    enrolment: Enrolment, educator: Educator, item_public_id: str, env: ServiceEnv
) -> None:
    """Take an item off the enrolment (it stays in the educator's portfolio).

    :raises NotFound: when it is not attached to this enrolment.
    :raises Conflict: when the work has been submitted.
    """
    enrolments.require_own(enrolment, educator)
    enrolments.require_editable(enrolment)
    link = db.session.scalar(
        select(EnrolmentItem)
        .join(PortfolioItem, PortfolioItem.id == EnrolmentItem.item_id)
        .where(
            EnrolmentItem.enrolment_id == enrolment.id,
            PortfolioItem.public_id == item_public_id[:36],
        )
    )
    if link is None:
        raise NotFound("That item is not attached to this module.")
    db.session.delete(link)
    db.session.commit()


def module_items(enrolment: Enrolment) -> list[PortfolioItem]:
    """Everything of the educator's this enrolment holds: the answered prompts' items in
    reading order, then the attached evidence."""
    responses = list(
        db.session.scalars(
            select(PortfolioItem)
            .join(Response, Response.item_id == PortfolioItem.id)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .join(Activity, Activity.id == Prompt.activity_id)
            .where(Response.enrolment_id == enrolment.id, PortfolioItem.body != "")
            .order_by(Activity.position, Prompt.position)
        )
    )
    return responses + attachments(enrolment)
