"""Learning plans shared with the organisation (viewers and up read them), staff comments and
the plan-completion queue (awarders and up approve, which awards the organisation's
plan-completion achievement through the awarding service, or decline with a reason), and the
choice of that achievement (editors and up).

A plan the educator has not shared with this organisation answers 404, like one that does not
exist; private reflections are never shown here."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_staff
from app.forms import refusal
from app.models import LearningPlan
from app.services.learning import plan_reviews, plans
from app.services.org import achievements
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.plans import load_comment, load_completion_setting, load_decline

LABELS = {"requested": "Waiting for approval", "approved": "Approved", "declined": "Declined"}


@bp.app_context_processor
def _plan_helpers() -> dict[str, Any]:
    def waiting_plans() -> int:
        """How many completed plans wait for approval in the current workspace (navigation)."""
        issuer = g.get("issuer")
        return plan_reviews.waiting_count(issuer) if issuer is not None else 0

    return {"waiting_plans": waiting_plans}


@bp.get("/<slug>/plans", endpoint="plans")
@workspace_view("viewer")
def plans_list(slug: str) -> str:
    """The plans shared with the organisation, those waiting for approval first."""
    issuer = current_issuer()
    env = service_env()
    rows = []
    for plan, educator in plan_reviews.shared_with(issuer):
        goals = plans.progress(plan, educator, env)
        rows.append((plan, educator, goals))
    completion = plan_reviews.completion_achievement(issuer)
    return render_template(
        "workspace/plans/list.html",
        issuer=issuer,
        rows=rows,
        labels=LABELS,
        completion_name=plans.achievement_name(completion) if completion else None,
    )


def _plan_page(
    plan: LearningPlan,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    issuer = current_issuer()
    env = service_env()
    educator = plan_reviews.educator_of(plan)
    completion = plan_reviews.completion_achievement(issuer)
    page = render_template(
        "workspace/plans/plan.html",
        issuer=issuer,
        plan=plan,
        educator=educator,
        goals=plans.progress(plan, educator, env),
        reflections=plans.shared_reflections(plan),
        labels=LABELS,
        module_states=plans.MODULE_STATES,
        completion_name=plans.achievement_name(completion) if completion else None,
        showcase_url=plans.showcase_url(plan, env),
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/<slug>/plans/<plan_id>", endpoint="plan")
@workspace_view("viewer")
def plan_view(slug: str, plan_id: str) -> ResponseReturnValue:
    """A shared plan: goals with their progress, the shared reflections, comments, and the
    completion decision when one is asked for."""
    return _plan_page(plan_reviews.get_for_issuer(current_issuer(), plan_id))


@bp.post("/<slug>/plans/<plan_id>/comments", endpoint="plan_comment")
@workspace_view("awarder")
def plan_comment(slug: str, plan_id: str) -> ResponseReturnValue:
    """Comment on a shared plan (the educator sees it)."""
    plan = plan_reviews.get_for_issuer(current_issuer(), plan_id)
    values = {"body": request.form.get("body", "")}
    with refusal() as refused:
        plan_reviews.add_comment(plan, current_staff(), load_comment(values), service_env(),
                                 ip=request.remote_addr)  # fmt: skip
    if refused:
        return _plan_page(plan, values, refused.errors(), refused.status)
    flash("Comment added; the educator sees it on their plan.")
    return redirect(url_for("workspace.plan", slug=slug, plan_id=plan_id) + "#comments", 303)


@bp.post("/<slug>/plans/<plan_id>/approve", endpoint="approve_plan")
@workspace_view("awarder")
def approve_plan(slug: str, plan_id: str) -> ResponseReturnValue:
    """Approve a completed plan: award the plan-completion achievement with the plan as
    evidence."""
    plan = plan_reviews.get_for_issuer(current_issuer(), plan_id)
    with refusal() as refused:
        plan_reviews.approve(plan, current_staff(), service_env(), ip=request.remote_addr)
    if refused:
        return _plan_page(plan, {}, refused.errors(), refused.status)
    flash("Approved: the plan-completion badge is awarded.")
    return redirect(url_for("workspace.plan", slug=slug, plan_id=plan_id), 303)


@bp.post("/<slug>/plans/<plan_id>/decline", endpoint="decline_plan")
@workspace_view("awarder")
def decline_plan(slug: str, plan_id: str) -> ResponseReturnValue:
    """Decline a completion request, with the reason the educator reads."""
    plan = plan_reviews.get_for_issuer(current_issuer(), plan_id)
    values = {"reason": request.form.get("reason", "")}
    with refusal() as refused:
        plan_reviews.decline(plan, current_staff(), load_decline(values), service_env(),
                             ip=request.remote_addr)  # fmt: skip
    if refused:
        return _plan_page(plan, values, refused.errors(), refused.status)
    flash("Declined; the educator sees your reason.")
    return redirect(url_for("workspace.plan", slug=slug, plan_id=plan_id), 303)


@bp.route("/<slug>/plan-settings", methods=["GET", "POST"], endpoint="plan_settings")
@workspace_view("editor")
def plan_settings(slug: str) -> ResponseReturnValue:
    """Name the achievement awarded for a completed plan (or none)."""
    issuer = current_issuer()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {"achievement": request.form.get("achievement", "")}
        with refusal() as refused:
            loaded = load_completion_setting(values)
            plan_reviews.set_completion_achievement(
                issuer, loaded["achievement"], actor=actor(), env=service_env()
            )
        if not refused:
            flash("Saved.")
            return redirect(url_for("workspace.plan_settings", slug=slug), 303)
        errors, status = refused.errors(), refused.status
    completion = plan_reviews.completion_achievement(issuer)
    page = render_template(
        "workspace/plans/settings.html",
        issuer=issuer,
        achievements=achievements.list_for(issuer),
        chosen=completion.public_id if completion else "",
        errors=errors,
    )
    return page, status
