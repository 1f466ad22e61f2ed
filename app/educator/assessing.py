"""Peer assessors on the educator side (``/me/assessing``): invitations to assessor pools,
rating the calibration set, and the queue of assessments given to them with their due times,
each rated through the same service function staff use. A submission not in their queue (their
own, their learning partner's, anyone else's) answers 404."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.evidence_files import send_evidence_file
from app.forms import refusal
from app.models import Achievement, AssessorPoolMember
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services.learning import (
    assessing,
    assessors,
    calibration,
    reviews,
    stage_decisions,
    stages,
)
from app.services.learning.stages import StageDecision
from app.services.org import achievements
from app.services.org import queries as org_queries
from app.wiring import service_env, utcnow
from schemas.stages import load_choice, load_stage_decision, stage_form_data


def _memberships() -> list[tuple[AssessorPoolMember, Achievement, Any, Any]]:
    rows = []
    for member in assessors.memberships_of(current_educator()):
        achievement = required(org_queries.achievement(member.achievement_id), "pool's badge")
        version = achievements.current_version(achievement)
        nxt = calibration.next_item(member) if member.state == "training" else None
        rows.append((member, achievement, version, nxt))
    return rows


@bp.get("/assessing")
@educator_required
def assessing_home() -> ResponseReturnValue:
    """The peer's invitations, calibration set and queue."""
    return render_template(
        "educator/assessing/queue.html",
        section="assessing",
        memberships=_memberships(),
        rows=assessing.peer_queue(current_educator()),
        now=utcnow(),
    )


@bp.post("/assessing/accept")
@educator_required
def assessing_accept() -> ResponseReturnValue:
    """Accept an invitation to an assessor pool."""
    with refusal(NotFound, Conflict, Invalid) as refused:
        data = load_choice({"choice": request.form.get("member_id", "")})
        member = db_member(data["choice"])
        assessors.accept(member, current_educator(), service_env())
    refused.flash("Thank you: you are in the pool.")
    return redirect(url_for(".assessing_home"), 303)


def db_member(member_id: int | None) -> AssessorPoolMember:
    """The educator's own pool place. :raises NotFound: for anyone else's."""
    for member in assessors.memberships_of(current_educator()):
        if member.id == member_id:
            return member
    raise NotFound("There is no such invitation.")


@bp.route("/assessing/calibration/<int:item_id>", methods=["GET", "POST"])
@educator_required
def assessing_calibration(item_id: int) -> ResponseReturnValue:
    """Rate one submission of the calibration set (the reference is not shown)."""
    member, item = calibration.training_item(current_educator(), item_id)
    achievement = required(org_queries.achievement(member.achievement_id), "achievement")
    version = achievements.current_version(achievement)
    submission = required(assessing_submission(item.submission_id), "submission")
    values: dict[str, Any] = {"ratings": {}}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = stage_form_data(request.form)
        with refusal() as refused:
            score = calibration.answer(member, item, values["ratings"], version, service_env())
        if not refused:
            if score is None:
                flash("Recorded. Rate the next one.")
            elif member.state == "active":
                flash(f"You agreed with {score} % of the reference ratings: you are now active.")
            else:
                flash(
                    f"You agreed with {score} % of the reference ratings, below the "
                    "threshold: please rate the set again."
                )
            return redirect(url_for(".assessing_home"), 303)
        errors, status = refused.errors(), refused.status
    action = url_for(".assessing_calibration", item_id=item.id)
    return _rate_page(achievement, version, submission, values, errors, status, action=action)


def _rate_page(
    achievement: Any,
    version: Any,
    submission: Any,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int,
    *,
    action: str,
    stage: Any = None,
) -> ResponseReturnValue:
    """The rating form, for a calibration item (no ``stage``: training) or an assessment."""
    return render_template(
        "educator/assessing/rate.html",
        section="assessing",
        achievement=achievement,
        version=version,
        submission=submission,
        items=[row.item for row in submission.items],
        criteria=stages.criteria(version),
        values=values,
        errors=errors,
        training=stage is None,
        action=action,
        stage=stage,
        now=utcnow(),
    ), status


def assessing_submission(submission_id: int) -> Any:
    """A submission by its row id (for a calibration item)."""
    from app.extensions import db
    from app.models import Submission

    return db.session.get(Submission, submission_id)


@bp.route("/assessing/<submission_id>", methods=["GET", "POST"])
@educator_required
def assessing_submission_page(submission_id: str) -> ResponseReturnValue:
    """Rate an assessment given to the peer: each criterion "demonstrated" or "not yet"."""
    educator = current_educator()
    member, submission, stage = assessing.peer_submission(educator, submission_id)
    achievement = required(org_queries.achievement(member.achievement_id), "achievement")
    version = achievements.current_version(achievement)
    values: dict[str, Any] = {"ratings": {}, "criterion_feedback": {}, "feedback": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = stage_form_data(request.form)
        with refusal() as refused:
            data = load_stage_decision(values)
            decided = stage_decisions.decide(
                submission,
                None,
                StageDecision(
                    stage=data["stage"],
                    decision=data["decision"],
                    feedback=data["feedback"],
                    ratings=data["ratings"],
                    criterion_feedback=data["criterion_feedback"],
                ),
                service_env(),
                ip=request.remote_addr,
                peer=member,
            )
        if not refused:
            if decided.state == "open":
                flash(
                    "Recorded. This one is scored by two assessors blind: the other rating "
                    "is awaited, and a lead assessor decides if you disagree."
                )
            elif decided.state == "passed":
                flash("Every criterion demonstrated: it goes on to the final approval.")
            else:
                flash("“Not yet”: the educator has been emailed your feedback.")
            return redirect(url_for(".assessing_home"), 303)
        errors, status = refused.errors(), refused.status
    action = url_for(".assessing_submission_page", submission_id=submission.public_id)
    return _rate_page(achievement, version, submission, values, errors, status, action=action,
                      stage=stage)  # fmt: skip


@bp.get("/assessing/<submission_id>/items/<item_id>/file")
@educator_required
def assessing_item_file(submission_id: str, item_id: str) -> Response:
    """The file of an item of a submission in the peer's queue (and only such a one)."""
    _, submission, _ = assessing.peer_submission(current_educator(), submission_id)
    item = reviews.submitted_item(submission, item_id)
    if item.file is None:
        raise NotFound("This item has no file.")
    return send_evidence_file(item.file)
