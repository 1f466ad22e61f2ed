"""The educator's coaching (``/me/coaching``): their coaching plans, each session logged with
them to confirm (or to say it did not happen as logged), the evidence of their coaching cycle
and its achievement; and their learning partnerships (``/me/partnerships``), both ways round,
with their progress toward the learning-partner achievements."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.forms import refusal
from app.models import CoachingParticipant, CoachingSession, Educator
from app.services._core.errors import NotFound
from app.services.learning import coaching, coaching_sessions, recognition
from app.wiring import service_env


def _plans(educator: Educator) -> list[dict[str, Any]]:
    """Each plan the educator is on, with the sessions they took part in and their answers."""
    found = []
    for participant in coaching.participants_of(educator):
        plan = participant.plan
        mine: list[tuple[CoachingSession, Any]] = []
        for session in coaching_sessions.sessions_of(plan):
            for attendance in session.attendees:
                if attendance.participant_id == participant.id:
                    mine.append((session, attendance))
        found.append({
            "participant": participant,
            "plan": plan,
            "label": coaching.plan_label(plan),
            "delivery": coaching_sessions.delivery(plan),
            "sessions": mine,
            "cycle": coaching_sessions.cycle_of(participant),
        })  # fmt: skip
    return found


def _page(
    errors: dict[str, dict[str, str]] | None = None, status: int = 200
) -> ResponseReturnValue:
    educator = current_educator()
    page = render_template(
        "educator/coaching.html",
        educator=educator,
        plans=_plans(educator),
        modes=coaching_sessions.MODE_LABELS,
        errors=errors or {},
        values=request.form,
    )
    return page, status


@bp.route("/coaching", methods=["GET"])
@educator_required
def coaching_page() -> ResponseReturnValue:
    """The educator's coaching plans and sessions."""
    return _page()


@bp.route("/coaching/sessions/<session_id>/answer", methods=["POST"])
@educator_required
def answer_coaching_session(session_id: str) -> ResponseReturnValue:
    """Confirm a session as logged (``answer=confirm``), or say it did not happen as logged."""
    educator = current_educator()
    coaching_sessions.attendance_of(session_id, educator)  # 404 for a session not theirs
    confirmed = request.form.get("answer") == "confirm"
    with refusal() as refused:
        comment = request.form.get("comment", "")
        attendance = coaching_sessions.answer(
            session_id, educator, confirmed, comment, service_env()
        )
        participant = attendance.participant
        done = "Thank you: the session is confirmed." if confirmed else (
            "Thank you: your coach sees your comment.")  # fmt: skip
        if confirmed and participant.credential_id:
            done += " Your coaching cycle is complete: its achievement is in your backpack."
        flash(done)
        return redirect(url_for(".coaching_page", _anchor=f"session-{session_id}"), 303)
    return _page({session_id: refused.errors()}, refused.status)


def _own_participant(educator: Educator, coaching_plan_id: str) -> CoachingParticipant:
    for participant in coaching.participants_of(educator):
        if participant.plan.public_id == coaching_plan_id:
            return participant
    raise NotFound("You are not on this coaching plan.")


@bp.route("/coaching/plans/<coaching_plan_id>/evidence", methods=["POST"])
@educator_required
def coaching_evidence(coaching_plan_id: str) -> ResponseReturnValue:
    """Add the evidence of one's coaching cycle."""
    educator = current_educator()
    participant = _own_participant(educator, coaching_plan_id)
    with refusal() as refused:
        coaching_sessions.add_evidence(participant, educator, request.form.get("url", ""),
                                       request.form.get("note", ""), service_env())  # fmt: skip
        done = "Saved your evidence."
        if participant.credential_id:
            done += " Your coaching cycle is complete: its achievement is in your backpack."
        flash(done)
        return redirect(url_for(".coaching_page", _anchor=f"plan-{coaching_plan_id}"), 303)
    return _page({coaching_plan_id: refused.errors()}, refused.status)


@bp.route("/partnerships", methods=["GET"])
@educator_required
def partnerships() -> ResponseReturnValue:
    """The learning partnerships the educator has been part of, either way round."""
    educator = current_educator()
    return render_template(
        "educator/partnerships.html",
        educator=educator,
        found=recognition.partnerships_of(educator),
    )
