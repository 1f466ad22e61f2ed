"""Staged assessment in the workspace: an achievement's Assessment stages page (editors), and
a reviewer's decision at a submission's current stage (awarders and up; the review page shows
the stages and their forms, see :mod:`app.workspace.reviews`)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_staff
from app.forms import refusal
from app.models import Achievement, AchievementVersion, Issuer
from app.services.learning import reviews, stage_decisions, stages
from app.services.learning.stages import PlanInput, StageDecision
from app.services.org import achievements
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.stages import (
    load_plan,
    load_release,
    load_stage_decision,
    plan_form_data,
    stage_form_data,
)


def _plan_page(
    issuer: Issuer,
    achievement: Achievement,
    version: AchievementVersion,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "workspace/stages_plan.html",
        issuer=issuer,
        achievement=achievement,
        version=version,
        values=values,
        errors=errors or {},
        in_progress=stages.in_progress_count(achievement),
        coaches=stages.coaches(achievement),
    )
    return page, status


@bp.route("/<slug>/achievements/<public_id>/stages", methods=["GET", "POST"])
@workspace_view("editor")
def assessment_stages(slug: str, public_id: str) -> ResponseReturnValue:
    """Whether submissions for this achievement are assessed in stages, and their due times."""
    issuer = current_issuer()
    found = achievements.get(issuer, public_id)
    version = achievements.current_version(found)
    if request.method == "GET":
        plan = stages.plan_of(found)
        values: dict[str, Any] = {
            "enabled": plan is not None,
            "completeness": plan.completeness if plan else True,
            "approval": plan.approval if plan else False,
            "due_working_days": plan.due_working_days if plan else 5,
            "remind_working_days": plan.remind_working_days if plan else 1,
            "max_attempts": plan.max_attempts if plan and plan.max_attempts else "",
            "coach_id": plan.coach_id if plan else None,
        }
        return _plan_page(issuer, found, version, values)
    values = plan_form_data(request.form)
    with refusal() as refused:
        stages.set_plan(found, PlanInput(**load_plan(values)), actor=actor(), env=service_env())
    if refused:
        return _plan_page(
            issuer, found, version, values, errors=refused.errors(), status=refused.status
        )
    flash(
        "Saved: new submissions go through these stages."
        if values["enabled"]
        else "Saved: submissions get a single review."
    )
    return redirect(url_for(".achievement", slug=slug, public_id=public_id), 303)


STAGE_DONE = {
    ("completeness", True): "Complete: the submission moves on to the assessment.",
    ("completeness", False): "Returned to the educator with your feedback.",
    ("assessment", True): "Every criterion demonstrated: the submission moves on.",
    ("assessment", False): "“Not yet”: the educator has been emailed your feedback.",
    ("approval", True): "Approved: the credential is issued and the educator emailed.",
    ("approval", False): "Returned to the educator with your feedback.",
}


@bp.post("/<slug>/reviews/<submission_id>/stage")
@workspace_view("awarder")
def decide_stage(slug: str, submission_id: str) -> ResponseReturnValue:
    """Decide the submission's current stage."""
    from app.workspace.reviews import review_page  # the page the stage forms live on

    submission = reviews.get_for_issuer(current_issuer(), submission_id)
    values = stage_form_data(request.form)
    with refusal() as refused:
        data = load_stage_decision(values)
        decided = stage_decisions.decide(
            submission,
            current_staff(),
            StageDecision(
                stage=data["stage"],
                decision=data["decision"],
                feedback=data["feedback"],
                ratings=data["ratings"],
                criterion_feedback=data["criterion_feedback"],
            ),
            service_env(),
            ip=request.remote_addr,
        )
    if refused:
        submission = reviews.get_for_issuer(current_issuer(), submission_id)  # after the rollback
        return review_page(
            submission, stage_values=values, errors=refused.errors(), status=refused.status
        )
    if decided.state == "open":
        flash(
            "Recorded blind: the other assessor's rating is awaited, and a lead assessor "
            "decides if you disagree."
        )
        return redirect(url_for(".review", slug=slug, submission_id=submission_id), 303)
    passed = decided.state == "passed"
    if submission.state == "approved":
        flash(STAGE_DONE[("approval", True)])
    else:
        flash(STAGE_DONE[(decided.stage, passed)])
    if passed and decided.stage != "approval" and submission.state == "submitted":
        # The next stage waits on the same page.
        return redirect(url_for(".review", slug=slug, submission_id=submission_id), 303)
    return redirect(url_for(".reviews", slug=slug), 303)


@bp.post("/<slug>/reviews/<submission_id>/release")
@workspace_view("awarder")
def release_referral(slug: str, submission_id: str) -> ResponseReturnValue:
    """The coach releases a submission referred to them: the educator may send it again."""
    from app.workspace.reviews import review_page

    submission = reviews.get_for_issuer(current_issuer(), submission_id)
    values = {"note": request.form.get("note", "")}
    with refusal() as refused:
        data = load_release(values)
        stages.release(
            submission,
            current_staff(),
            str(g.get("role") or ""),
            data["note"],
            service_env(),
            ip=request.remote_addr,
        )
    if refused:
        submission = reviews.get_for_issuer(current_issuer(), submission_id)
        return review_page(
            submission, release_values=values, errors=refused.errors(), status=refused.status
        )
    flash("Released: the educator has been emailed and can send it again.")
    return redirect(url_for(".review", slug=slug, submission_id=submission_id), 303)
