"""Blueprint ``lead``: the leaders' pages at ``/lead/…`` (a school's dashboard, the whole
organisation's, their CSV exports, the organisation's PD goals, and the learning plans
educators in their scope shared with the organisation, which they read and comment on).

A leader needs no workspace membership: these pages are all a leader without one may open.
Every view signs the visitor in and checks, through ``schools.require_leader``, that their
appointment covers what the URL names (403 otherwise). Someone with neither an appointment nor
a role in the organisation gets 404, as in the workspace, so outsiders cannot learn its slug.
PD goals are kept by the whole organisation's leaders and its owners.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.auth import current_staff, login_required
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import Issuer, LearningPlan, PdGoal, School
from app.services._core.errors import Forbidden, Invalid, NotFound
from app.services._core.spreadsheets import safe_row
from app.services.learning import (
    authoring,
    lead_dashboard,
    lead_plans,
    leadership,
    pd_goals,
    plan_reviews,
)
from app.services.learning import plans as learning_plans
from app.services.learning.leadership import Context, Filters, PanelData
from app.services.org import achievements, issuers, schools, staff
from app.services.org.audit import Actor
from app.services.org.schools import LeaderScope
from app.wiring import service_env
from app.workspace.charts import bar_chart, bar_rows
from schemas.errors import flat_errors
from schemas.leaders import FiltersSchema, PdGoalSchema, goal_form_data
from schemas.plans import load_comment

lead_bp = Blueprint("lead", __name__, url_prefix="/lead")


def _issuer_for_leader(slug: str) -> tuple[Issuer, LeaderScope]:
    """The organisation and the signed-in account's scope in it; 404 for an organisation they
    neither lead nor work in."""
    account = current_staff()
    issuer = issuers.get_by_slug(slug)
    scope = schools.scope_of(account, issuer)
    if not scope.leads_anything and staff.role_of(account, issuer) is None:
        raise NotFound("There is no such organisation.")
    return issuer, scope


def _leading(slug: str, school_id: str | None) -> tuple[Issuer, LeaderScope, School | None]:
    """The organisation, the account's scope and the school named, checked by
    ``require_leader`` (403 when the appointment does not cover it)."""
    issuer, _ = _issuer_for_leader(slug)
    school = schools.get(issuer, school_id) if school_id is not None else None
    scope = schools.require_leader(current_staff(), issuer, school)
    return issuer, scope, school


def _goal_keeper(slug: str) -> Issuer:
    """The organisation, for one of its district leaders or owners (403 for other leaders and
    staff)."""
    issuer, scope = _issuer_for_leader(slug)
    if not scope.whole_organisation and staff.role_of(current_staff(), issuer) != "owner":
        raise Forbidden("PD goals are kept by the organisation's district leaders and owners.")
    return issuer


def _actor() -> Actor:
    return Actor(current_staff(), ip=request.remote_addr)


def _today() -> date:
    return service_env().now.astimezone(UTC).date()


def _context(
    issuer: Issuer, scope: LeaderScope, school: School | None
) -> tuple[Context, dict[str, str], dict[str, Any]]:
    """The dashboard's context from the query string, the filter errors (shown beside the
    form; the defaults are used meanwhile) and the filter form's values."""
    errors: dict[str, str] = {}
    try:
        asked = FiltersSchema().load(request.args)
    except ValidationError as error:
        errors = flat_errors(error, depth=1, first=True)
        asked = {"school": None, "role": None, "year": None, "start": None, "end": None}
    chosen = school
    if chosen is None and asked["school"]:
        chosen = schools.get(issuer, asked["school"])
        schools.require_leader(current_staff(), issuer, chosen)
    today = _today()
    try:
        filters = leadership.filters_for(
            scope,
            school=chosen,
            role=asked["role"],
            year=asked["year"],
            start=asked["start"],
            end=asked["end"],
            today=today,
        )
    except Invalid as error:  # a period that ends before it starts, or too long
        errors["to"] = error.message
        filters = leadership.filters_for(
            scope,
            school=chosen,
            role=asked["role"],
            year=asked["year"],
            start=None,
            end=None,
            today=today,
        )
    ctx = Context(
        issuer=issuer,
        filters=filters,
        people=leadership.people_of(issuer),
        scope=scope,
        school=chosen,
        env=service_env(),
    )
    form = {k: request.args.get(k, "") for k in ("school", "role", "year", "from", "to")}
    return ctx, errors, form


def _period_label(filters: Filters) -> str:
    start, end = leadership.school_year_bounds(leadership.school_year_of(filters.start))
    if (filters.start, filters.end) == (start, end):
        return f"School year {leadership.school_year_label(start.year)}"
    last = date.fromordinal(filters.end.toordinal() - 1)
    return f"{filters.start:%d %b %Y} to {last:%d %b %Y}"


def _drawing(data: PanelData) -> Any:
    """The chart's geometry for the template."""
    if data.chart is None or not data.chart.series:
        return None
    if data.chart.kind == "columns":
        return bar_chart([(label, int(value)) for label, value in data.chart.series])
    suffix = "%" if data.chart.what.startswith("%") else ""
    return bar_rows(data.chart.series, suffix=suffix)


@lead_bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The signed-in account's appointments; straight to the dashboard when there is one."""
    led = schools.led_by(current_staff())
    if len(led) == 1:
        return redirect(_dashboard_url(*led[0]))
    return render_template("lead/index.html", led=led, url=_dashboard_url)


def _dashboard_url(issuer: Issuer, school: School | None) -> str:
    if school is None:
        return url_for("lead.district", slug=issuer.slug)
    return url_for("lead.school", slug=issuer.slug, school_id=school.public_id)


def _dashboard(issuer: Issuer, scope: LeaderScope, school: School | None) -> ResponseReturnValue:
    ctx, errors, form = _context(issuer, scope, school)
    shown = lead_dashboard.panels(ctx)
    csv_args = {k: v for k, v in form.items() if v}
    if school is not None:
        csv_args.pop("school", None)
    visible = [s for s in ctx.people.schools.values() if scope.covers(s)]
    page = render_template(
        "lead/dashboard.html",
        issuer=issuer,
        scope=scope,
        school=school,
        chosen=ctx.school,
        panels=[(p, _drawing(p)) for p in shown],
        schools=sorted(visible, key=lambda s: s.name.lower()),
        roles=schools.roles_of(issuer),
        years=_years(ctx.filters.today),
        period=_period_label(ctx.filters),
        filters=ctx.filters,
        form=form,
        errors=errors,
        csv_args=csv_args,
        can_keep_goals=scope.whole_organisation
        or staff.role_of(current_staff(), issuer) == "owner",
    )
    return page, 400 if errors else 200


def _year(given: object, default: int) -> int:
    """A school year from a query string or form (a start year 2000-2100), else ``default``."""
    try:
        year = int(str(given))
    except ValueError:
        return default
    return year if 2000 <= year <= 2100 else default


def _years(today: date) -> list[int]:
    this = leadership.school_year_of(today)
    return list(range(this, this - 5, -1))


@lead_bp.get("/<slug>")
@login_required
def district(slug: str) -> ResponseReturnValue:
    """The whole organisation's dashboard (its district leaders)."""
    issuer, scope, _ = _leading(slug, None)
    return _dashboard(issuer, scope, None)


@lead_bp.get("/<slug>/schools/<school_id>")
@login_required
def school(slug: str, school_id: str) -> ResponseReturnValue:
    """One school's dashboard (its leaders, and the district's)."""
    issuer, scope, found = _leading(slug, school_id)
    return _dashboard(issuer, scope, found)


def _csv(issuer: Issuer, scope: LeaderScope, school: School | None, key: str) -> Response:
    ctx, _, _ = _context(issuer, scope, school)
    data = lead_dashboard.panel(ctx, key)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(data.columns)
    for row in data.rows:
        writer.writerow(safe_row(row))
    where = school.public_id if school is not None else issuer.slug
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{key}-{where}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@lead_bp.get("/<slug>/panels/<key>.csv")
@login_required
def district_csv(slug: str, key: str) -> Response:
    """One panel of the whole organisation's dashboard as CSV (its table)."""
    issuer, scope, _ = _leading(slug, None)
    return _csv(issuer, scope, None, key)


@lead_bp.get("/<slug>/schools/<school_id>/panels/<key>.csv")
@login_required
def school_csv(slug: str, school_id: str, key: str) -> Response:
    """One panel of a school's dashboard as CSV (its table)."""
    issuer, scope, found = _leading(slug, school_id)
    return _csv(issuer, scope, found, key)


# ------------------------------------------------------------------------------ PD goals


@lead_bp.get("/<slug>/goals")
@login_required
def goals(slug: str) -> ResponseReturnValue:
    """The organisation's PD goals for a school year, each with its progress."""
    issuer = _goal_keeper(slug)
    today = _today()
    year = _year(request.args.get("year"), leadership.school_year_of(today))
    scope = LeaderScope(whole_organisation=True, school_ids=frozenset())
    start, end = leadership.school_year_bounds(year)
    ctx = Context(
        issuer=issuer,
        scope=scope,
        people=leadership.people_of(issuer),
        filters=Filters(None, None, start, end, today),
        env=service_env(),
    )
    years = sorted(set(_years(today)) | set(pd_goals.years_of(issuer)) | {year}, reverse=True)
    return render_template(
        "lead/goals.html",
        issuer=issuer,
        scope=schools.scope_of(current_staff(), issuer),
        can_keep_goals=True,
        year=year,
        years=years,
        label=leadership.school_year_label,
        progress=pd_goals.progress_of(issuer, ctx, year),
        measures=pd_goals.MEASURE_LABELS,
        names=_activity_names(issuer),
    )


def _activity_names(issuer: Issuer) -> dict[str, str]:
    names = {m.public_id: m.title for m in authoring.list_modules(issuer)}
    names |= {a.public_id: v.name for a, v in achievements.list_for(issuer, include_archived=True)}
    return names


def _goal_form(
    issuer: Issuer,
    goal: PdGoal | None,
    values: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    known = leadership.standards_of(issuer)
    known_labels = {label for label, _ in known}
    page = render_template(
        "lead/goal_form.html",
        issuer=issuer,
        scope=schools.scope_of(current_staff(), issuer),
        can_keep_goals=True,
        goal=goal,
        values=values,
        other_standards="\n".join(s for s in values.get("standards", []) if s not in known_labels),
        standards=known,
        modules=authoring.list_modules(issuer),
        achievements=[(a, v) for a, v in achievements.list_for(issuer)],
        measures=pd_goals.MEASURE_LABELS,
        years=sorted(
            set(_years(_today())) | {_year(values.get("school_year"), 0)} - {0}, reverse=True
        ),
        label=leadership.school_year_label,
        errors=errors or {},
    )
    return page, status


def _save_goal(issuer: Issuer, goal: PdGoal | None) -> ResponseReturnValue:
    raw = goal_form_data(request.form)
    with refusal() as refused:
        loaded = PdGoalSchema().load(raw)
        if goal is None:
            saved = pd_goals.create(issuer, loaded, actor=_actor(), env=service_env())
        else:
            saved = pd_goals.update(goal, loaded, actor=_actor(), env=service_env())
    if refused:
        values = dict(raw) | {"standards": raw["standards"]}
        return _goal_form(issuer, goal, values, errors=refused.errors(), status=400)
    flash("The goal is saved.")
    return redirect(url_for(".goals", slug=issuer.slug, year=saved.school_year) + "#goals")


@lead_bp.route("/<slug>/goals/new", methods=["GET", "POST"])
@login_required
def new_goal(slug: str) -> ResponseReturnValue:
    """Record a PD goal."""
    issuer = _goal_keeper(slug)
    if request.method == "POST":
        return _save_goal(issuer, None)
    year = leadership.school_year_of(_today())
    values = {
        "school_year": year,
        "standards": [],
        "module_ids": [],
        "achievement_ids": [],
        "measure": "percent_earned",
        "target": "",
    }
    return _goal_form(issuer, None, values)


@lead_bp.route("/<slug>/goals/<goal_id>", methods=["GET", "POST"])
@login_required
def edit_goal(slug: str, goal_id: str) -> ResponseReturnValue:
    """Change a PD goal."""
    issuer = _goal_keeper(slug)
    goal = pd_goals.get(issuer, goal_id)
    if request.method == "POST":
        return _save_goal(issuer, goal)
    return _goal_form(issuer, goal, goal.as_dict())


@lead_bp.post("/<slug>/goals/<goal_id>/delete")
@login_required
def delete_goal(slug: str, goal_id: str) -> ResponseReturnValue:
    """Remove a PD goal (asks first)."""
    issuer = _goal_keeper(slug)
    goal = pd_goals.get(issuer, goal_id)
    if not confirmed():
        return confirm_page(
            Confirmation(
                title="Remove this goal?",
                undone="The goal, its activities and its target go; the enrolments and "
                "credentials it measured stay.",
                action=url_for(".delete_goal", slug=slug, goal_id=goal.public_id),
                button="Remove the goal",
                cancel=url_for(".edit_goal", slug=slug, goal_id=goal.public_id),
                facts=(
                    ("Goal", goal.goal),
                    ("School year", leadership.school_year_label(goal.school_year)),
                ),
            )
        )
    year = goal.school_year
    pd_goals.delete(goal, actor=_actor(), env=service_env())
    flash("The goal is removed.")
    return redirect(url_for(".goals", slug=slug, year=year))


# ------------------------------------------------------------------------ shared learning plans


def _plan_reader(slug: str) -> tuple[Issuer, LeaderScope]:
    """The organisation and the account's appointment (403 for its staff who lead nothing)."""
    issuer, scope = _issuer_for_leader(slug)
    if not scope.leads_anything:
        raise Forbidden("Shared learning plans are read here by the organisation's leaders.")
    return issuer, scope


@lead_bp.get("/<slug>/plans")
@login_required
def plans(slug: str) -> ResponseReturnValue:
    """The learning plans shared with the organisation by educators the leader's appointment
    covers, with their goals' progress."""
    issuer, scope = _plan_reader(slug)
    people = leadership.people_of(issuer)
    env = service_env()
    rows = [
        (plan, educator, people.schools.get(place.school_id) if place.school_id else None,
         learning_plans.progress(plan, educator, env))
        for plan, educator, place in lead_plans.shared_in_scope(issuer, scope, people)
    ]  # fmt: skip
    visible = [s for s in people.schools.values() if scope.covers(s)]
    return render_template(
        "lead/plans.html",
        issuer=issuer,
        scope=scope,
        schools=sorted(visible, key=lambda s: s.name.lower()),
        can_keep_goals=scope.whole_organisation
        or staff.role_of(current_staff(), issuer) == "owner",
        rows=rows,
    )


def _lead_plan_page(
    issuer: Issuer,
    scope: LeaderScope,
    plan: LearningPlan,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    env = service_env()
    educator = plan_reviews.educator_of(plan)
    people = leadership.people_of(issuer)
    page = render_template(
        "lead/plan.html",
        issuer=issuer,
        scope=scope,
        schools=sorted(
            (s for s in people.schools.values() if scope.covers(s)), key=lambda s: s.name.lower()
        ),
        can_keep_goals=scope.whole_organisation
        or staff.role_of(current_staff(), issuer) == "owner",
        plan=plan,
        educator=educator,
        goals=learning_plans.progress(plan, educator, env),
        reflections=learning_plans.shared_reflections(plan),
        module_states=learning_plans.MODULE_STATES,
        comment_action=url_for(".plan_comment", slug=issuer.slug, plan_id=plan.public_id),
        comment_role="leader",
        back=(url_for(".plans", slug=issuer.slug), "Shared learning plans"),
        values=values or {},
        errors=errors or {},
    )
    return page, status


@lead_bp.get("/<slug>/plans/<plan_id>")
@login_required
def plan(slug: str, plan_id: str) -> ResponseReturnValue:
    """A shared plan of an educator in the leader's scope: goals with their progress, the
    shared reflections and the comments (what the organisation's staff see)."""
    issuer, scope = _plan_reader(slug)
    found = lead_plans.get_for_leader(issuer, scope, leadership.people_of(issuer), plan_id)
    return _lead_plan_page(issuer, scope, found)


@lead_bp.post("/<slug>/plans/<plan_id>/comments")
@login_required
def plan_comment(slug: str, plan_id: str) -> ResponseReturnValue:
    """Comment on a shared plan as a leader (the educator sees the name and the role)."""
    issuer, scope = _plan_reader(slug)
    people = leadership.people_of(issuer)
    found = lead_plans.get_for_leader(issuer, scope, people, plan_id)
    values = {"body": request.form.get("body", "")}
    with refusal() as refused:
        loaded = load_comment(values)
        lead_plans.comment_as_leader(issuer, scope, people, plan_id, current_staff(), loaded,
                                     service_env(), ip=request.remote_addr)  # fmt: skip
    if refused:
        return _lead_plan_page(issuer, scope, found, values, refused.errors(), refused.status)
    flash("Comment added; the educator sees it on their plan, with your name and role.")
    return redirect(url_for(".plan", slug=slug, plan_id=plan_id) + "#comments", 303)
