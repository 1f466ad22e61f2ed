"""Assessor pools in the workspace: an achievement's pool (staff, invited peers and their
training on the calibration set, assignment, double scoring), a staff member's queue of
stages given to them (and the disagreements a lead decides), and the leads' figures with their
charts and CSV exports."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_staff
from app.forms import refusal
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import (
    assessing,
    assessment_reports,
    assessors,
    calibration,
    educators,
    stages,
)
from app.services.org import achievements
from app.services.org import queries as org_queries
from app.wiring import service_env, utcnow
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.charts import bar_chart
from schemas.stages import load_choice, load_pool_settings

ASSIGNMENT_LABELS = {"round_robin": "Round-robin", "load": "By load (fewest open first)"}
MEMBER_STATES = {
    "invited": "Invited",
    "training": "Rating the calibration set",
    "active": "Active",
}


def _pool_url(slug: str, public_id: str) -> ResponseReturnValue:
    found: ResponseReturnValue = redirect(
        url_for(".assessor_pool", slug=slug, public_id=public_id), 303
    )
    return found


@bp.get("/<slug>/achievements/<public_id>/assessors")
@workspace_view("editor")
def assessor_pool(slug: str, public_id: str) -> ResponseReturnValue:
    """The achievement's assessor pool, its settings and its calibration set."""
    issuer = current_issuer()
    found = achievements.get(issuer, public_id)
    version = achievements.current_version(found)
    plan = stages.plan_of(found)
    members = assessors.pool_with_load(found)
    in_pool = {m.staff_id for m, _ in members if m.staff_id}
    names = {c["id"]: c["name"] for c in calibration.criteria_of(version)}
    return render_template(
        "workspace/assessors/pool.html",
        issuer=issuer,
        achievement=found,
        version=version,
        plan=plan,
        members=[(m, load, calibration.member_label(m, with_email=True)) for m, load in members],
        addable=[a for a in stages.coaches(found) if a.id not in in_pool],
        items=calibration.set_of(found),
        candidates=calibration.candidates(found),
        criteria=names,
        assignment_labels=ASSIGNMENT_LABELS,
        member_states=MEMBER_STATES,
        max_items=calibration.MAX_ITEMS,
    )


@bp.post("/<slug>/achievements/<public_id>/assessors/settings")
@workspace_view("editor")
def assessor_pool_settings(slug: str, public_id: str) -> ResponseReturnValue:
    """Round-robin or by load; the share scored by two blind; the training threshold."""
    found = achievements.get(current_issuer(), public_id)
    with refusal() as refused:
        data = load_pool_settings(
            {
                k: request.form.get(k, "").strip()
                for k in ("assignment", "double_share", "training_threshold")
            }
        )
        plan = stages.plan_of(found)
        if plan is None:
            raise Invalid("Turn on assessment stages first.", "assignment")
        assessors.set_settings(plan, **data, actor=actor(), env=service_env())
    refused.flash("Saved the pool's settings.")
    return _pool_url(slug, public_id)


@bp.post("/<slug>/achievements/<public_id>/assessors/staff")
@workspace_view("editor")
def assessor_pool_add(slug: str, public_id: str) -> ResponseReturnValue:
    """Add one of the organisation's reviewers to the pool."""
    found = achievements.get(current_issuer(), public_id)
    with refusal() as refused:
        data = load_choice({"choice": request.form.get("staff_id", "")})
        account = org_queries.staff_account(data["choice"]) if data["choice"] else None
        if account is None:
            raise Invalid("Choose a reviewer from the list.", "staff_id")
        assessors.add_staff(found, account, actor=actor(), env=service_env())
    refused.flash("Added to the pool.")
    return _pool_url(slug, public_id)


@bp.post("/<slug>/achievements/<public_id>/assessors/invite")
@workspace_view("editor")
def assessor_pool_invite(slug: str, public_id: str) -> ResponseReturnValue:
    """Invite an educator who holds the achievement to assess it (they accept at /me)."""
    found = achievements.get(current_issuer(), public_id)
    with refusal() as refused:
        data = load_choice({"email": request.form.get("email", "")})
        educator = educators.find_by_email(data["email"]) if data["email"] else None
        if educator is None:
            raise Invalid(
                "Nobody has signed in to Cairn with that address: ask them to sign in first.",
                "email",
            )
        assessors.invite_peer(found, educator, actor=actor(), env=service_env())
    refused.flash("Invited: they accept from their educator account (“Assessing”).")
    return _pool_url(slug, public_id)


@bp.post("/<slug>/achievements/<public_id>/assessors/member")
@workspace_view("editor")
def assessor_pool_member(slug: str, public_id: str) -> ResponseReturnValue:
    """Remove someone from the pool, or make a staff member a lead assessor (or not)."""
    found = achievements.get(current_issuer(), public_id)
    with refusal(NotFound, Invalid, Conflict) as refused:
        data = load_choice({"choice": request.form.get("member_id", ""),
                            "action": request.form.get("action", "")})  # fmt: skip
        member = assessors.member_in(found, data["choice"])
        if data["action"] == "remove":
            assessors.remove(member, actor=actor(), env=service_env())
        elif data["action"] in ("lead", "unlead"):
            assessors.set_lead(member, data["action"] == "lead", actor=actor(), env=service_env())
        else:
            raise Invalid("Choose what to do.", "action")
    refused.flash("Saved.")
    return _pool_url(slug, public_id)


@bp.post("/<slug>/achievements/<public_id>/assessors/calibration")
@workspace_view("editor")
def assessor_calibration_add(slug: str, public_id: str) -> ResponseReturnValue:
    """Add a past submission, with its decided ratings as reference, to the calibration set."""
    found = achievements.get(current_issuer(), public_id)
    with refusal() as refused:
        data = load_choice({"submission": request.form.get("submission", "")})
        calibration.add_item(found, data["submission"], actor=actor(), env=service_env())
    refused.flash("Added to the calibration set.")
    return _pool_url(slug, public_id)


@bp.post("/<slug>/achievements/<public_id>/assessors/calibration/remove")
@workspace_view("editor")
def assessor_calibration_remove(slug: str, public_id: str) -> ResponseReturnValue:
    """Take a submission out of the calibration set."""
    found = achievements.get(current_issuer(), public_id)
    with refusal(NotFound, Invalid, Conflict) as refused:
        data = load_choice({"choice": request.form.get("item_id", "")})
        calibration.remove_item(found, data["choice"] or 0, actor=actor(), env=service_env())
    refused.flash("Taken out of the calibration set.")
    return _pool_url(slug, public_id)


@bp.get("/<slug>/assessing")
@workspace_view("awarder")
def assessing_queue(slug: str) -> ResponseReturnValue:
    """The stages given to the signed-in staff member, and the disagreements they decide."""
    issuer = current_issuer()
    account = current_staff()
    return render_template(
        "workspace/assessors/queue.html",
        issuer=issuer,
        rows=assessing.staff_queue(account, issuer),
        disputed=assessing.disputed(account, issuer),
        stage_labels=stages.STAGE_LABELS,
        now=utcnow(),
    )


def _report_context(public_id: str) -> dict[str, Any]:
    issuer = current_issuer()
    found = achievements.get(issuer, public_id)
    version = achievements.current_version(found)
    report = assessment_reports.report(found, utcnow())
    criteria, members = calibration.agreement(found, version)
    return {
        "issuer": issuer,
        "achievement": found,
        "version": version,
        "report": report,
        "throughput_chart": bar_chart([(w, t) for w, _c, _a, _p, t in report.throughput]),
        "time_chart": bar_chart(
            # Tenths of a day, so a stage decided within the day is not drawn as nothing.
            [
                (stages.STAGE_LABELS[s], round((m or 0) * 10))
                for s, _d, m, _x, _o in report.time_in_stage
            ]
        ),
        "agreement_chart": bar_chart(
            [(w, p or 0) for w, _c, _a, p in report.agreement], ceiling=100
        ),
        "criteria": criteria,
        "members": members,
        "stage_labels": stages.STAGE_LABELS,
    }


@bp.get("/<slug>/achievements/<public_id>/assessment-report")
@workspace_view("awarder")
def assessment_report(slug: str, public_id: str) -> ResponseReturnValue:
    """The leads' view: throughput, time in each stage and agreement over time."""
    return render_template("workspace/assessors/report.html", **_report_context(public_id))


@bp.get("/<slug>/achievements/<public_id>/assessment-report.csv")
@workspace_view("awarder")
def assessment_report_csv(slug: str, public_id: str) -> ResponseReturnValue:
    """One of the leads' tables as CSV (``?table=`` throughput, time-in-stage, agreement,
    criteria or assessors)."""
    table = request.args.get("table", "throughput")
    if table not in assessment_reports.TABLES:
        abort(400, "Ask for one of: " + ", ".join(assessment_reports.TABLES) + ".")
    issuer = current_issuer()
    found = achievements.get(issuer, public_id)
    body = assessment_reports.csv_of(table, found, achievements.current_version(found), utcnow())
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cairn-assessment-{table}-{found.public_id}.csv"'
    )
    return response
