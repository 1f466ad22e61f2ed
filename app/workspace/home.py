"""The signed-in start page (the workspaces an account belongs to) and each workspace's
dashboard: the numbers, awards over time, each achievement's figures, and recent awards."""

from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import current_staff, login_required
from app.services.delivery import analytics
from app.services.org import achievements, schools, staff
from app.services.org import queries as workspace
from app.wiring import service_env
from app.workspace import bp, current_issuer, workspace_view
from app.workspace.charts import bar_chart


@bp.get("/")
@login_required
def dashboard() -> str:
    """The organisations the signed-in account works in."""
    account = current_staff()
    return render_template(
        "workspace/dashboard.html",
        workspaces=staff.issuers_of(account),
        led=schools.led_by(account),
    )


@bp.get("/<slug>/")
@workspace_view("viewer")
def overview(slug: str) -> str:
    """A workspace at a glance: its numbers, awards per week, each achievement's awards, views
    and shares, the latest awards and running jobs."""
    issuer = current_issuer()
    env = service_env()
    glance = workspace.overview(issuer, env.now)
    activity = analytics.for_issuer(issuer.id, since=glance.weekly[0][0])
    listed = achievements.list_for(issuer)
    return render_template(
        "workspace/overview.html",
        issuer=issuer,
        achievements=listed,
        awardable=[(a, v) for a, v in listed if not a.archived_at],
        glance=glance,
        recent=glance.recent,
        total=glance.total,
        jobs=glance.jobs,
        activity=activity,
        per_achievement=activity.by_achievement,
        chart=bar_chart(
            [(start.strftime("%d %b"), count) for start, count in glance.weekly],
            # The darker foot of each week's bar: its awards claimed since.
            parts=[count for _, count in glance.weekly_claimed],
        ),
        views_chart=bar_chart(weekly_views(activity, [start for start, _ in glance.weekly])),
        expiring_days=workspace.EXPIRING_DAYS,
        env=env,
    )


def weekly_views(activity: analytics.IssuerActivity, starts: list[date]) -> list[tuple[str, int]]:
    """Page views per week (the weeks starting on ``starts``), from the daily counts."""
    totals = dict.fromkeys(starts, 0)
    for day, counts in activity.daily.items():
        week = day - timedelta(days=day.weekday())
        if week in totals:
            totals[week] += counts["view"]
    return [(start.strftime("%d %b"), totals[start]) for start in starts]


@bp.get("/<slug>/award")
@workspace_view("awarder")
def award_start(slug: str) -> Response | str:
    """The dashboard's "Award" action: on to the chosen achievement's award form; without a
    choice, the achievements that can be awarded, to choose from."""
    issuer = current_issuer()
    public_id = request.args.get("achievement")
    if public_id:
        chosen = achievements.get(issuer, public_id)
        return redirect(url_for(".award", slug=issuer.slug, public_id=chosen.public_id))
    awardable = [(a, v) for a, v in achievements.list_for(issuer) if not a.archived_at]
    return render_template("workspace/award_start.html", issuer=issuer, awardable=awardable)
