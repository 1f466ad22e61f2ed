"""The educator's learning plans (``/me/plans``): a plan per school year with one organisation,
its vision, two to four goals (standards, modules, badges, evidence, target dates), progress
per goal, dated reflections (private unless shared), sharing with the organisation (whose staff
comments show here), the public showcase (only what is selected), the PDF, and the request for
the organisation's plan-completion badge.

Another educator's plan answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from app.educator import bp, current_educator, educator_required
from app.formatting import page_locale
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import MAX_GOALS, MIN_GOALS, LearningPlan, PlanGoal
from app.services.learning import plan_export, plan_reviews, plans
from app.wiring import service_env
from schemas.plans import (
    load_goal,
    load_new_plan,
    load_reflection,
    load_showcase,
    load_vision,
    plan_form_data,
)

#: A module's state in the words of the plan page.
MODULE_STATES = plans.MODULE_STATES
COMPLETION_LABELS = {
    "requested": "Waiting for approval",
    "approved": "Approved",
    "declined": "Declined",
}


def _plan(plan_id: str) -> LearningPlan:
    return plans.get_for_educator(current_educator(), plan_id)


def _to_plan(plan: LearningPlan, anchor: str = "") -> BaseResponse:
    url = url_for("educator.plan", plan_id=plan.public_id)
    return redirect(url + (f"#{anchor}" if anchor else ""), 303)


# ------------------------------------------------------------------------------------ list


def _plans_page(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    educator = current_educator()
    env = service_env()
    year = plans.current_school_year(env)
    start = int(year[:4])
    return (
        render_template(
            "educator/plans/list.html",
            plans=plans.plans_of(educator),
            organisations=plans.organisations_for(educator),
            years=[f"{y}-{y + 1}" for y in range(start - 1, start + 3)],
            values=values or {"school_year": year, "organisation": ""},
            errors=errors or {},
            labels=COMPLETION_LABELS,
        ),
        status,
    )


@bp.route("/plans", methods=["GET", "POST"], endpoint="plans")
@educator_required
def plans_list() -> ResponseReturnValue:
    """The educator's plans, and the form that starts one."""
    if request.method == "GET":
        return _plans_page()
    values = {k: request.form.get(k, "") for k in ("school_year", "organisation")}
    with refusal() as refused:
        plan = plans.create(current_educator(), load_new_plan(values), service_env())
    if refused:
        return _plans_page(values, refused.errors(), refused.status)
    flash(f"Your plan for {plan.school_year} is started. Write your vision, then add your goals.")
    return redirect(url_for("educator.plan_vision", plan_id=plan.public_id), 303)


# ------------------------------------------------------------------------------------ plan


def _plan_page(
    plan: LearningPlan,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    educator = current_educator()
    env = service_env()
    goals = plans.progress(plan, educator, env)
    completion = plan_reviews.completion_achievement(plan.issuer)
    page = render_template(
        "educator/plans/plan.html",
        plan=plan,
        goals=goals,
        complete=plans.is_complete(goals),
        min_goals=MIN_GOALS,
        max_goals=MAX_GOALS,
        module_states=MODULE_STATES,
        completion_name=plans.achievement_name(completion) if completion else None,
        labels=COMPLETION_LABELS,
        showcase_url=plans.showcase_url(plan, env),
        today=env.now.date().isoformat(),
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.get("/plans/<plan_id>")
@educator_required
def plan(plan_id: str) -> ResponseReturnValue:
    """The plan: vision, goals with their progress, reflections, comments, sharing, the
    showcase and the completion badge."""
    return _plan_page(_plan(plan_id))


@bp.route("/plans/<plan_id>/vision", methods=["GET", "POST"])
@educator_required
def plan_vision(plan_id: str) -> ResponseReturnValue:
    """The vision statement and the action research question."""
    found = _plan(plan_id)
    values = {"vision": found.vision, "research_question": found.research_question or ""}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        with refusal() as refused:
            plans.update_vision(found, load_vision(values), service_env())
        if not refused:
            flash("Saved your vision.")
            if len(found.goals) < MIN_GOALS:
                return redirect(url_for("educator.new_plan_goal", plan_id=found.public_id), 303)
            return _to_plan(found)
        page = render_template(
            "educator/plans/vision.html", plan=found, values=values, errors=refused.errors()
        )
        return page, refused.status
    return render_template("educator/plans/vision.html", plan=found, values=values, errors={})


# ----------------------------------------------------------------------------------- goals


def _goal_values(goal: PlanGoal | None) -> dict[str, Any]:
    if goal is None:
        return {"title": "", "description": "", "standards": [], "modules": [],
                "achievements": [], "items": [], "evidence": "", "target_date": ""}  # fmt: skip
    return {
        "title": goal.title,
        "description": goal.description,
        "standards": [plans.standard_key(s) for s in goal.standards],
        "modules": list(goal.modules),
        "achievements": list(goal.achievements),
        "items": list(goal.items),
        "evidence": goal.evidence,
        "target_date": goal.target_date.isoformat() if goal.target_date else "",
    }


def _goal_page(
    plan: LearningPlan,
    goal: PlanGoal | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "educator/plans/goal.html",
            plan=plan,
            goal=goal,
            values=values,
            errors=errors or {},
            choices=plans.choices(plan, current_educator()),
        ),
        status,
    )


def _posted_goal() -> dict[str, Any]:
    data = plan_form_data(request.form)
    for key in ("standards", "modules", "achievements", "items"):
        data.setdefault(key, [])
    return data


@bp.route("/plans/<plan_id>/goals/new", methods=["GET", "POST"])
@educator_required
def new_plan_goal(plan_id: str) -> ResponseReturnValue:
    """Add a goal."""
    found = _plan(plan_id)
    if request.method == "GET":
        return _goal_page(found, None, _goal_values(None))
    values = _posted_goal()
    with refusal() as refused:
        plans.add_goal(found, current_educator(), load_goal(values), service_env())
    if refused:
        return _goal_page(found, None, values, refused.errors(), refused.status)
    flash("Added the goal.")
    if len(found.goals) < MIN_GOALS:
        flash(f"A plan has {MIN_GOALS} to {MAX_GOALS} goals: add another.")
        return redirect(url_for("educator.new_plan_goal", plan_id=found.public_id), 303)
    return _to_plan(found, "goals")


@bp.route("/plans/<plan_id>/goals/<int:goal_id>", methods=["GET", "POST"])
@educator_required
def plan_goal(plan_id: str, goal_id: int) -> ResponseReturnValue:
    """Change a goal."""
    found = _plan(plan_id)
    goal = plans.get_goal(found, goal_id)
    if request.method == "GET":
        return _goal_page(found, goal, _goal_values(goal))
    values = _posted_goal()
    with refusal() as refused:
        plans.update_goal(goal, current_educator(), load_goal(values), service_env())
    if refused:
        return _goal_page(found, goal, values, refused.errors(), refused.status)
    flash("Saved the goal.")
    return _to_plan(found, "goals")


@bp.post("/plans/<plan_id>/goals/<int:goal_id>/delete")
@educator_required
def delete_plan_goal(plan_id: str, goal_id: int) -> ResponseReturnValue:
    """Remove a goal (asks first)."""
    found = _plan(plan_id)
    goal = plans.get_goal(found, goal_id)
    if not confirmed():
        return confirm_page(Confirmation(
            title=f"Remove the goal “{goal.title}”?",
            undone="The goal, its standards, modules, badges and evidence list go; reflections "
                   "about it stay, about the plan as a whole.",
            action=url_for("educator.delete_plan_goal", plan_id=plan_id, goal_id=goal_id),
            button="Remove the goal", cancel=url_for("educator.plan_goal", plan_id=plan_id,
                                                     goal_id=goal_id),
            layout="educator/layout.html", section="plans",
        ))  # fmt: skip
    with refusal() as refused:
        plans.delete_goal(goal, service_env())
    refused.flash("Removed the goal.")
    return _to_plan(found, "goals")


# ----------------------------------------------------------------------------- reflections


@bp.post("/plans/<plan_id>/reflections")
@educator_required
def add_plan_reflection(plan_id: str) -> ResponseReturnValue:
    """Write a dated reflection (private unless ``shared``)."""
    found = _plan(plan_id)
    values = {k: request.form.get(k, "") for k in ("body", "written_on", "goal")}
    values["shared"] = "1" if request.form.get("shared") == "1" else "0"
    with refusal() as refused:
        data = dict(values)
        if not data["goal"]:
            data.pop("goal")
        plans.add_reflection(found, load_reflection(data), service_env())
    if refused:
        return _plan_page(found, values, refused.errors(), refused.status)
    flash("Saved your reflection." + (" It is shared with " + found.issuer.name + "."
          if values["shared"] == "1" else " It is private."))  # fmt: skip
    return _to_plan(found, "reflections")


@bp.post("/plans/<plan_id>/reflections/<int:reflection_id>/sharing")
@educator_required
def plan_reflection_sharing(plan_id: str, reflection_id: int) -> BaseResponse:
    """Share a reflection with the organisation (``shared`` 1), or keep it private (0)."""
    found = _plan(plan_id)
    reflection = plans.get_reflection(found, reflection_id)
    wanted = request.form.get("shared") == "1"
    plans.set_reflection_shared(reflection, wanted, service_env())
    flash(f"Shared with {found.issuer.name}." if wanted else "The reflection is private now.")
    return _to_plan(found, "reflections")


@bp.post("/plans/<plan_id>/reflections/<int:reflection_id>/delete")
@educator_required
def delete_plan_reflection(plan_id: str, reflection_id: int) -> ResponseReturnValue:
    """Delete a reflection (asks first)."""
    found = _plan(plan_id)
    reflection = plans.get_reflection(found, reflection_id)
    if not confirmed():
        return confirm_page(Confirmation(
            title="Delete this reflection?", undone="The reflection is deleted for good.",
            action=url_for("educator.delete_plan_reflection", plan_id=plan_id,
                           reflection_id=reflection_id),
            button="Delete the reflection", cancel=url_for("educator.plan", plan_id=plan_id),
            layout="educator/layout.html", section="plans",
        ))  # fmt: skip
    plans.delete_reflection(reflection, service_env())
    flash("Deleted the reflection.")
    return _to_plan(found, "reflections")


# -------------------------------------------------------------------------------- sharing


@bp.post("/plans/<plan_id>/share")
@educator_required
def share_plan(plan_id: str) -> BaseResponse:
    """Share the plan with its organisation (``shared`` 1), or stop sharing it (0)."""
    found = _plan(plan_id)
    wanted = request.form.get("shared") == "1"
    with refusal() as refused:
        plans.set_shared(found, wanted, service_env())
    refused.flash(
        f"Shared with {found.issuer.name}: its staff see your plan, its progress and the "
        "reflections you share, and can comment."
        if wanted
        else f"Your plan is private again; {found.issuer.name} no longer sees it."
    )
    return _to_plan(found, "sharing")


# ------------------------------------------------------------------------------- showcase


def _showcase_page(
    plan: LearningPlan,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    env = service_env()
    items, credentials = plans.showcase_choices(plan, current_educator(), env)
    return (
        render_template(
            "educator/plans/showcase.html",
            plan=plan,
            items=items,
            credentials=[(c, plans.credential_name(c)) for c in credentials],
            values=values,
            errors=errors or {},
            showcase_url=plans.showcase_url(plan, env),
        ),
        status,
    )


@bp.route("/plans/<plan_id>/showcase", methods=["GET", "POST"])
@educator_required
def plan_showcase(plan_id: str) -> ResponseReturnValue:
    """Choose what the showcase shows; publish or unpublish it (``action``)."""
    found = _plan(plan_id)
    current = {
        "intro": found.showcase_intro,
        "items": list(found.showcase_items),
        "credentials": list(found.showcase_credentials),
        "reflections": [r.id for r in found.reflections if r.on_showcase],
    }
    if request.method == "GET":
        return _showcase_page(found, current)
    env = service_env()
    action = request.form.get("action", "save")
    if action == "unpublish":
        plans.unpublish_showcase(found, env)
        flash("Your showcase is unpublished: its link shows “not found” until you publish again.")
        return redirect(url_for("educator.plan_showcase", plan_id=plan_id), 303)
    values = plan_form_data(request.form)
    for key in ("items", "credentials", "reflections"):
        values.setdefault(key, [])
    with refusal() as refused:
        plans.save_showcase(found, current_educator(), load_showcase(values), env)
        if action == "publish":
            plans.publish_showcase(found, current_educator(), env)
    if refused:
        shown = {**values, "reflections": _ints(values["reflections"])}
        return _showcase_page(found, shown, refused.errors(), refused.status)
    flash("Published your showcase." if action == "publish" else "Saved your selection.")
    return redirect(url_for("educator.plan_showcase", plan_id=plan_id), 303)


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


# ------------------------------------------------------------------------- pdf, completion


@bp.get("/plans/<plan_id>/plan.pdf")
@educator_required
def plan_pdf(plan_id: str) -> Response:
    """The plan as a PDF (the educator's own copy: everything of theirs in it)."""
    found = _plan(plan_id)
    body = plan_export.plan_pdf(found, current_educator(), service_env(),
                                locale=str(page_locale()))  # fmt: skip
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="learning-plan-{found.school_year}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/plans/<plan_id>/completion")
@educator_required
def plan_completion(plan_id: str) -> BaseResponse:
    """Ask for the plan-completion badge (``action`` request), or withdraw the request."""
    found = _plan(plan_id)
    env = service_env()
    with refusal() as refused:
        if request.form.get("action") == "withdraw":
            plan_reviews.withdraw_request(found, current_educator(), env)
        else:
            plan_reviews.request_completion(found, current_educator(), env)
    refused.flash(
        "Withdrawn: you can change your plan again."
        if request.form.get("action") == "withdraw"
        else f"Sent to {found.issuer.name} for approval."
    )
    return _to_plan(found, "completion")


@bp.post("/plans/<plan_id>/delete")
@educator_required
def delete_plan(plan_id: str) -> ResponseReturnValue:
    """Delete the plan (asks first)."""
    found = _plan(plan_id)
    if not confirmed():
        return confirm_page(Confirmation(
            title=f"Delete your plan for {found.school_year}?",
            undone="Its goals, reflections, comments and showcase are deleted for good.",
            action=url_for("educator.delete_plan", plan_id=plan_id), button="Delete the plan",
            cancel=url_for("educator.plan", plan_id=plan_id),
            layout="educator/layout.html", section="plans",
        ))  # fmt: skip
    with refusal() as refused:
        plans.delete(found)
    if refused:
        refused.flash()
        return _to_plan(found)
    flash("Deleted the plan.")
    return redirect(url_for("educator.plans"), 303)
