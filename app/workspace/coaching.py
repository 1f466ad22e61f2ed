"""Coaching in the workspace: the plans list (editors and owners see all; a coach theirs; a
leader those reporting to them), the settings (coaching types, coaching-cycle and
learning-partner achievements: editors), a plan's form (editors), its page, the coach's
session log and the coach's confirmation of an educator's evidence, and a session's report
(the coach and the leaders named on the plan only); the coach also reads and comments on the
learning plans the plan's educators shared with the organisation."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_staff
from app.forms import refusal
from app.models import CoachingPlan, CoachingSession, Issuer, LearningPlan
from app.services.learning import (
    coaching,
    coaching_sessions,
    lead_plans,
    plan_reviews,
    plans,
    recognition,
)
from app.services.learning.coaching import PlanInput
from app.services.learning.coaching_sessions import SessionInput
from app.services.org import achievements, schools
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.plans import load_comment

# ---------------------------------------------------------------------------------- the list


@bp.route("/<slug>/coaching", methods=["GET"])
@workspace_view("viewer")
def coaching_plans(slug: str) -> ResponseReturnValue:
    """The coaching plans the signed-in staff member may open."""
    issuer = current_issuer()
    plans = coaching.plans_for(issuer, current_staff(), g.role)
    return render_template(
        "workspace/coaching/plans.html",
        issuer=issuer,
        plans=[(p, coaching_sessions.delivery(p)) for p in plans],
        manages=coaching.manages(g.role),
        label=coaching.plan_label,
    )


# ------------------------------------------------------------------------------ the settings


def _settings_page(
    issuer: Issuer, errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    env = service_env()
    page = render_template(
        "workspace/coaching/settings.html",
        issuer=issuer,
        types=coaching.types_for(issuer, env, include_retired=True),
        rules=recognition.rules_for(issuer),
        kinds=recognition.KIND_LABELS,
        achievements=achievements.list_for(issuer),
        errors=errors,
        values=request.form,
    )
    return page, status


@bp.route("/<slug>/coaching/settings", methods=["GET"])
@workspace_view("editor")
def coaching_settings(slug: str) -> ResponseReturnValue:
    """Coaching types, and the achievements awarded for coaching cycles and partnerships."""
    return _settings_page(current_issuer(), {})


@bp.route("/<slug>/coaching/types", methods=["POST"])
@workspace_view("editor")
def add_coaching_type(slug: str) -> ResponseReturnValue:
    """Add a coaching type."""
    issuer = current_issuer()
    with refusal() as refused:
        kind = coaching.add_type(issuer, request.form.get("name", ""), actor=actor(),
                                 env=service_env())  # fmt: skip
        flash(f"Added the coaching type “{kind.name}”.")
        return redirect(url_for(".coaching_settings", slug=slug))
    return _settings_page(issuer, refused.errors({"name": "type_name"}), refused.status)


@bp.route("/<slug>/coaching/types/<int:type_id>", methods=["POST"])
@workspace_view("editor")
def edit_coaching_type(slug: str, type_id: int) -> ResponseReturnValue:
    """Rename, retire or bring back a coaching type (``action``)."""
    issuer = current_issuer()
    kind = coaching.get_type(issuer, type_id)
    action = request.form.get("action", "rename")
    env = service_env()
    with refusal() as refused:
        if action == "retire":
            coaching.set_retired(kind, True, actor=actor(), env=env)
            flash(f"Retired “{kind.name}”: new plans cannot choose it.")
        elif action == "restore":
            coaching.set_retired(kind, False, actor=actor(), env=env)
            flash(f"“{kind.name}” can be chosen again.")
        else:
            coaching.rename_type(kind, request.form.get("name", ""), actor=actor(), env=env)
            flash(f"Renamed to “{kind.name}”.")
        return redirect(url_for(".coaching_settings", slug=slug))
    return _settings_page(issuer, refused.errors({"name": f"type-{type_id}"}), refused.status)


@bp.route("/<slug>/coaching/recognition", methods=["POST"])
@workspace_view("editor")
def set_recognition_rule(slug: str) -> ResponseReturnValue:
    """Set the achievement awarded for coaching cycles or learning partnerships."""
    issuer = current_issuer()
    form = request.form
    with refusal() as refused:
        recognition.set_rule(issuer, form.get("achievement", ""), form.get("kind", ""),
                             form.get("count"), form.get("evidence_required") == "1",
                             actor=actor(), env=service_env())  # fmt: skip
        flash("Saved: the achievement is awarded automatically from now on.")
        return redirect(url_for(".coaching_settings", slug=slug))
    return _settings_page(issuer, refused.errors(), refused.status)


@bp.route("/<slug>/coaching/recognition/<public_id>/remove", methods=["POST"])
@workspace_view("editor")
def remove_recognition_rule(slug: str, public_id: str) -> ResponseReturnValue:
    """Stop awarding an achievement automatically (credentials awarded stay)."""
    rule = recognition.get_rule(current_issuer(), public_id)
    recognition.remove_rule(rule, actor=actor(), env=service_env())
    flash("That achievement is no longer awarded automatically.")
    return redirect(url_for(".coaching_settings", slug=slug))


# --------------------------------------------------------------------------------- the plans


def _plan_values(plan: CoachingPlan | None) -> dict[str, Any]:
    if plan is None:
        return {"school": "", "team_name": "", "coach": str(current_staff().id),
                "coaching_type": "", "face_to_face": "4", "virtual": "2", "educators": [],
                "educators_text": "", "recipients": {}, "achievement": ""}  # fmt: skip
    return {
        "school": plan.school.public_id if plan.school else "",
        "team_name": plan.team_name or "",
        "coach": str(plan.coach_id),
        "coaching_type": str(plan.coaching_type_id),
        "face_to_face": str(plan.face_to_face_agreed),
        "virtual": str(plan.virtual_agreed),
        "educators": [p.email for p in plan.participants],
        "educators_text": "",
        "recipients": {str(r.staff_id): r.report_format for r in plan.recipients},
        "achievement": "",
    } | ({"achievement": _achievement_id(plan)} if plan.achievement_id else {})


def _achievement_id(plan: CoachingPlan) -> str:
    for line in recognition.rules_for(current_issuer(), "coaching"):
        if line.achievement.id == plan.achievement_id:
            return line.achievement.public_id
    return ""


def _submitted() -> tuple[PlanInput, dict[str, Any]]:
    form = request.form
    recipients = {
        key.removeprefix("recipient-"): value
        for key, value in form.items()
        if key.startswith("recipient-") and value
    }
    ticked = form.getlist("educators")
    data = PlanInput(
        school=form.get("school", ""),
        team_name=form.get("team_name", ""),
        coach=form.get("coach", ""),
        coaching_type=form.get("coaching_type", ""),
        face_to_face=form.get("face_to_face", ""),
        virtual=form.get("virtual", ""),
        educators=(*ticked, form.get("educators_text", "")),
        recipients=recipients,
        achievement=form.get("achievement", ""),
    )
    values = {
        "school": data.school, "team_name": data.team_name, "coach": data.coach,
        "coaching_type": data.coaching_type, "face_to_face": data.face_to_face,
        "virtual": data.virtual, "educators": ticked,
        "educators_text": form.get("educators_text", ""), "recipients": recipients,
        "achievement": data.achievement,
    }  # fmt: skip
    return data, values


def _plan_form(
    plan: CoachingPlan | None, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    issuer = current_issuer()
    env = service_env()
    known = coaching.known_addresses(issuer)
    if plan is not None:
        for participant in plan.participants:
            known.setdefault(participant.email, None)
    by_email = schools.school_ids_by_email(issuer)
    school_list = schools.list_for(issuer)
    groups = [
        (s.name, [(e, n) for e, n in known.items() if by_email.get(e) == s.id]) for s in school_list
    ]
    groups.append(
        ("Not on a school roster", [(e, n) for e, n in known.items() if e not in by_email])
    )
    leaders = []
    for appointment in schools.leaders_of(issuer):
        leaders.append((appointment.staff, appointment.school))
    page = render_template(
        "workspace/coaching/plan_form.html",
        issuer=issuer,
        plan=plan,
        values=values,
        errors=errors,
        schools=school_list,
        staff=coaching.staff_of(issuer),
        types=[t for t in coaching.types_for(issuer, env, include_retired=True)
               if t.retired_at is None or (plan is not None and plan.coaching_type_id == t.id)],
        groups=[g for g in groups if g[1]],
        leaders=_leader_rows(leaders),
        cycle_rules=recognition.rules_for(issuer, "coaching"),
        formats=coaching.FORMAT_LABELS,
    )  # fmt: skip
    return page, status


def _leader_rows(appointments: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """One row per leader, with what they lead."""
    rows: dict[int, dict[str, Any]] = {}
    for account, school in appointments:
        row = rows.setdefault(account.id, {"account": account, "leads": []})
        row["leads"].append(school.name if school is not None else "the whole organisation")
    return sorted(rows.values(), key=lambda r: r["account"].name.lower())


PLAN_FIELDS = {"recipients": "recipients", "educators": "educators"}


@bp.route("/<slug>/coaching/plans/new", methods=["GET", "POST"])
@workspace_view("editor")
def new_coaching_plan(slug: str) -> ResponseReturnValue:
    """Make a coaching plan."""
    if request.method == "GET":
        return _plan_form(None, _plan_values(None), {})
    data, values = _submitted()
    with refusal() as refused:
        plan = coaching.create_plan(current_issuer(), data, actor=actor(), env=service_env())
        flash("Saved the coaching plan.")
        return redirect(url_for(".coaching_plan", slug=slug, coaching_plan_id=plan.public_id))
    return _plan_form(None, values, refused.errors(), refused.status)


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/edit", methods=["GET", "POST"])
@workspace_view("editor")
def edit_coaching_plan(slug: str, coaching_plan_id: str) -> ResponseReturnValue:
    """Change a coaching plan."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    if request.method == "GET":
        return _plan_form(plan, _plan_values(plan), {})
    data, values = _submitted()
    with refusal() as refused:
        coaching.update_plan(plan, data, actor=actor(), env=service_env())
        flash("Saved the changes to the plan.")
        return redirect(url_for(".coaching_plan", slug=slug, coaching_plan_id=plan.public_id))
    return _plan_form(plan, values, refused.errors(), refused.status)


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>", methods=["GET"])
@workspace_view("viewer")
def coaching_plan(slug: str, coaching_plan_id: str) -> ResponseReturnValue:
    """A plan: delivered against agreed, its educators and their cycle, its sessions."""
    issuer = current_issuer()
    plan = coaching.get_plan(issuer, coaching_plan_id)
    account = current_staff()
    coaching.require_reader(plan, account, g.role)
    is_coach = plan.coach_id == account.id
    names = coaching.names_by_address(p.email for p in plan.participants)
    return render_template(
        "workspace/coaching/plan.html",
        issuer=issuer,
        plan=plan,
        label=coaching.plan_label(plan),
        delivery=coaching_sessions.delivery(plan),
        sessions=coaching_sessions.sessions_of(plan),
        counts=coaching_sessions.counts,
        names=names,
        cycles={p.id: coaching_sessions.cycle_of(p) for p in plan.participants},
        confirmed={p.id: len(coaching_sessions.confirmed_sessions(p)) for p in plan.participants},
        is_coach=is_coach,
        learning_plans=lead_plans.coached_plans(plan) if is_coach else [],
        manages=coaching.manages(g.role),
        # Answers' comments are for the coach and the editors, not the leaders.
        sees_comments=is_coach or coaching.manages(g.role),
        recipient=coaching.recipient_of(plan, account),
        modes=coaching_sessions.MODE_LABELS,
        formats=coaching.FORMAT_LABELS,
        editable=lambda s: not any(a.state == "confirmed" for a in s.attendees),
    )


# ------------------------------------------------------------------------------ the sessions


def _session_values(session: CoachingSession | None, plan: CoachingPlan) -> dict[str, Any]:
    if session is None:
        return {"held_on": service_env().now.date().isoformat(), "mode": "face_to_face",
                "focus": plan.coaching_type.name, "notes": "", "private_notes": "",
                "next_steps": "", "participants": [str(p.id) for p in plan.participants],
                "evidence": ""}  # fmt: skip
    return {
        "held_on": session.held_on.isoformat(), "mode": session.mode, "focus": session.focus,
        "notes": session.notes, "private_notes": session.private_notes,
        "next_steps": session.next_steps,
        "participants": [str(a.participant_id) for a in session.attendees],
        "evidence": coaching_sessions.links_text(session.evidence_links or []),
    }  # fmt: skip


def _session_submitted() -> tuple[SessionInput, dict[str, Any]]:
    form = request.form
    data = SessionInput(
        held_on=form.get("held_on", ""), mode=form.get("mode", ""), focus=form.get("focus", ""),
        notes=form.get("notes", ""), private_notes=form.get("private_notes", ""),
        next_steps=form.get("next_steps", ""), participants=tuple(form.getlist("participants")),
        evidence=form.get("evidence", ""),
    )  # fmt: skip
    values = {
        "held_on": data.held_on, "mode": data.mode, "focus": data.focus, "notes": data.notes,
        "private_notes": data.private_notes, "next_steps": data.next_steps,
        "participants": list(data.participants), "evidence": data.evidence,
    }  # fmt: skip
    return data, values


def _session_form(
    plan: CoachingPlan, session: CoachingSession | None, values: dict[str, Any],
    errors: dict[str, str], status: int = 200,
) -> ResponseReturnValue:  # fmt: skip
    page = render_template(
        "workspace/coaching/session_form.html",
        issuer=current_issuer(),
        plan=plan,
        session=session,
        label=coaching.plan_label(plan),
        values=values,
        errors=errors,
        names=coaching.names_by_address(p.email for p in plan.participants),
        modes=coaching_sessions.MODE_LABELS,
        delivery=coaching_sessions.delivery(plan),
    )
    return page, status


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/sessions/new", methods=["GET", "POST"])
@workspace_view("viewer")
def log_coaching_session(slug: str, coaching_plan_id: str) -> ResponseReturnValue:
    """The coach logs a session (the leaders named on the plan get its report)."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    coaching.require_coach(plan, current_staff())
    if request.method == "GET":
        return _session_form(plan, None, _session_values(None, plan), {})
    data, values = _session_submitted()
    with refusal() as refused:
        session = coaching_sessions.log_session(plan, current_staff(), data, actor=actor(),
                                                env=service_env())  # fmt: skip
        sent = len([r for r in plan.recipients if coaching.leads_for(r.staff, plan)])
        flash(f"Logged the session. The educators are asked to confirm it; the report was "
              f"sent to {sent} leader{'' if sent == 1 else 's'}.")  # fmt: skip
        return redirect(url_for(".coaching_plan", slug=slug, coaching_plan_id=plan.public_id,
                                _anchor=f"session-{session.public_id}"))  # fmt: skip
    return _session_form(plan, None, values, refused.errors(), refused.status)


@bp.route(
    "/<slug>/coaching/plans/<coaching_plan_id>/sessions/<session_id>/edit", methods=["GET", "POST"]
)
@workspace_view("viewer")
def edit_coaching_session(slug: str, coaching_plan_id: str, session_id: str) -> ResponseReturnValue:
    """The coach corrects a session no educator has confirmed yet."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    coaching.require_coach(plan, current_staff())
    session = coaching_sessions.get_session(plan, session_id)
    if request.method == "GET":
        coaching_sessions.require_editable(session)
        return _session_form(plan, session, _session_values(session, plan), {})
    data, values = _session_submitted()
    with refusal() as refused:
        coaching_sessions.update_session(session, current_staff(), data, actor=actor(),
                                         env=service_env())  # fmt: skip
        flash("Saved the session. The educators are asked to confirm it again.")
        return redirect(url_for(".coaching_plan", slug=slug, coaching_plan_id=plan.public_id,
                                _anchor=f"session-{session.public_id}"))  # fmt: skip
    return _session_form(plan, session, values, refused.errors(), refused.status)


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/sessions/<session_id>/report", methods=["GET"])
@workspace_view("viewer")
def coaching_report(slug: str, coaching_plan_id: str, session_id: str) -> ResponseReturnValue:
    """A session's report: a named leader reads it in their format, the coach in full (or as a
    summary, ``?format=summary``, to see what those leaders get)."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    session = coaching_sessions.get_session(plan, session_id)
    account = current_staff()
    report_format = coaching_sessions.report_format_for(session, account)
    is_coach = plan.coach_id == account.id
    if is_coach and request.args.get("format") in ("summary", "full"):
        report_format = request.args["format"]
    return render_template(
        "workspace/coaching/report.html",
        issuer=current_issuer(),
        plan=plan,
        session=session,
        report=coaching_sessions.report(session, report_format),
        is_coach=is_coach,
        formats=coaching.FORMAT_LABELS,
    )


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/participants/<participant_id>/evidence",
          methods=["POST"])  # fmt: skip
@workspace_view("viewer")
def confirm_coaching_evidence(
    slug: str, coaching_plan_id: str, participant_id: str
) -> ResponseReturnValue:
    """The coach confirms an educator's coaching cycle has its evidence."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    coaching.require_coach(plan, current_staff())
    participant = coaching.get_participant(plan, participant_id)
    with refusal() as refused:
        coaching_sessions.confirm_evidence(participant, current_staff(), actor=actor(),
                                           env=service_env())  # fmt: skip
    awarded = " The coaching-cycle achievement was awarded." if participant.credential_id else ""
    refused.flash("Confirmed the evidence." + awarded)
    return redirect(url_for(".coaching_plan", slug=slug, coaching_plan_id=plan.public_id,
                            _anchor="educators"), 303)  # fmt: skip


# ------------------------------------------------------------- the educators' learning plans


def _coachee_plan_page(
    plan: CoachingPlan,
    found: LearningPlan,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    educator = plan_reviews.educator_of(found)
    env = service_env()
    page = render_template(
        "workspace/coaching/learning_plan.html",
        issuer=current_issuer(),
        coaching_plan=plan,
        label=coaching.plan_label(plan),
        plan=found,
        educator=educator,
        goals=plans.progress(found, educator, env),
        reflections=plans.shared_reflections(found),
        module_states=plans.MODULE_STATES,
        comment_action=url_for(
            "workspace.coachee_plan_comment",
            slug=current_issuer().slug,
            coaching_plan_id=plan.public_id,
            plan_id=found.public_id,
        ),
        comment_role="coach",
        values=values or {},
        errors=errors or {},
    )
    return page, status


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/learning-plans/<plan_id>",
          methods=["GET"], endpoint="coachee_plan")  # fmt: skip
@workspace_view("viewer")
def coachee_plan(slug: str, coaching_plan_id: str, plan_id: str) -> ResponseReturnValue:
    """A learning plan an educator of the coaching plan shared, for its coach."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    found = lead_plans.get_for_coach(plan, current_staff(), plan_id)
    return _coachee_plan_page(plan, found)


@bp.route("/<slug>/coaching/plans/<coaching_plan_id>/learning-plans/<plan_id>/comments",
          methods=["POST"], endpoint="coachee_plan_comment")  # fmt: skip
@workspace_view("viewer")
def coachee_plan_comment(slug: str, coaching_plan_id: str, plan_id: str) -> ResponseReturnValue:
    """The coach's comment on an educator's shared learning plan (shown as "coach")."""
    plan = coaching.get_plan(current_issuer(), coaching_plan_id)
    found = lead_plans.get_for_coach(plan, current_staff(), plan_id)
    values = {"body": request.form.get("body", "")}
    with refusal() as refused:
        lead_plans.comment_as_coach(plan, current_staff(), plan_id, load_comment(values),
                                    service_env(), ip=request.remote_addr)  # fmt: skip
    if refused:
        return _coachee_plan_page(plan, found, values, refused.errors(), refused.status)
    flash("Comment added; the educator sees it on their plan, with your name and “coach”.")
    return redirect(url_for("workspace.coachee_plan", slug=slug, coaching_plan_id=coaching_plan_id,
                            plan_id=plan_id) + "#comments", 303)  # fmt: skip
