"""Self-directed learning, the staff's side: a request for credit in the review queue (awarders
and up) with its evidence, approved (perhaps for other hours, with a note) or declined with a
reason; and the organisation's setting naming the achievement such credit is awarded as
(editors and up). A request of another organisation, or a draft, answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.auth import current_staff
from app.evidence_files import send_evidence_file
from app.forms import refusal
from app.models import LearningRequest
from app.services._core.errors import ServiceError
from app.services.learning import educators, self_directed
from app.services.org import achievements
from app.services.org import queries as org_queries
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.self_directed import KIND_LABELS, load_learning_decision, load_setting

STATE_LABELS = {
    "submitted": "Waiting",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}


def request_page(
    found: LearningRequest,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """A request: what the educator recorded, its evidence, and the decision form while it
    waits."""
    issuer = current_issuer()
    educator = self_directed.educator_of(found)
    try:
        email: str | None = educators.recipient_email(educator)
    except ServiceError:
        email = None
    achievement = self_directed.setting_of(issuer)
    return (
        render_template(
            "workspace/learning/request.html",
            issuer=issuer,
            found=found,
            educator=educator,
            email=email,
            achievement=achievement,
            version=achievements.current_version(achievement) if achievement else None,
            counted_in=self_directed.counted_in(issuer, achievement) if achievement else [],
            decider=org_queries.staff_account(found.decided_by_id) if found.decided_by_id else None,
            values=values or {"hours": f"{found.hours:g}", "note": ""},
            errors=errors or {},
            kind_labels=KIND_LABELS,
            states=STATE_LABELS,
        ),
        status,
    )


@bp.get("/<slug>/learning-requests/<request_id>")
@workspace_view("awarder")
def learning_request(slug: str, request_id: str) -> tuple[str, int]:
    """One request for credit, with the decision form while it waits."""
    return request_page(self_directed.get_for_issuer(current_issuer(), request_id))


@bp.post("/<slug>/learning-requests/<request_id>")
@workspace_view("awarder")
def decide_learning_request(slug: str, request_id: str) -> ResponseReturnValue:
    """Approve (awards the credential with the hours) or decline with a reason."""
    found = self_directed.get_for_issuer(current_issuer(), request_id)
    values = {name: request.form.get(name, "") for name in ("decision", "hours", "note")}
    with refusal() as refused:
        data = load_learning_decision(values)
        self_directed.decide(
            found, current_staff(), data["decision"], hours=data["hours"], note=data["note"],
            env=service_env(), ip=request.remote_addr,
        )  # fmt: skip
    if refused:
        found = self_directed.get_for_issuer(current_issuer(), request_id)  # after the rollback
        return request_page(found, values=values, errors=refused.errors(), status=refused.status)
    if data["decision"] == "approve":
        flash(
            f"Approved: {found.approved_hours:g} hours awarded as a credential; the educator "
            "has been emailed."
        )
    else:
        flash("Declined; the educator has been emailed your reason.")
    return redirect(url_for("workspace.reviews", slug=slug), 303)


@bp.get("/<slug>/learning-requests/<request_id>/files/<file_id>")
@workspace_view("awarder")
def learning_request_file(slug: str, request_id: str, file_id: str) -> Response:
    """An evidence file of a request (for the organisation's reviewers)."""
    found = self_directed.get_for_issuer(current_issuer(), request_id)
    return send_evidence_file(self_directed.file_of(found, file_id).file)


def _setting_page(
    *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    issuer = current_issuer()
    chosen = self_directed.setting_of(issuer)
    return (
        render_template(
            "workspace/learning/setting.html",
            issuer=issuer,
            chosen=chosen,
            options=[
                (a, v)
                for a, v in achievements.list_for(issuer)
                if v.credit_unit in self_directed.HOUR_UNITS
            ],
            values=values or {"achievement": chosen.public_id if chosen else ""},
            errors=errors or {},
            waiting=self_directed.waiting_count(issuer),
        ),
        status,
    )


@bp.route("/<slug>/self-directed-learning", methods=["GET", "POST"])
@workspace_view("editor")
def self_directed_setting(slug: str) -> ResponseReturnValue:
    """Name the achievement approved self-directed learning is awarded as (or none)."""
    if request.method == "GET":
        return _setting_page()
    values = {"achievement": request.form.get("achievement", "")}
    with refusal() as refused:
        data = load_setting(values)
        chosen = self_directed.set_achievement(
            current_issuer(), data["achievement"], actor=actor(), env=service_env()
        )
    if refused:
        return _setting_page(values=values, errors=refused.errors(), status=refused.status)
    if chosen is None:
        flash("Educators can no longer ask for credit for self-directed learning.")
    else:
        flash("Saved: educators can ask for credit, awarded as this achievement.")
    return redirect(url_for("workspace.self_directed_setting", slug=slug), 303)
