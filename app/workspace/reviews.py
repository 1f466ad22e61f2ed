"""The review queue (awarders and up): educators' submissions for the issuer's portfolio badges
and pathway completions waiting for review; a submission's statement and items (files too,
published or not: its reviewers may see what was submitted to them, nobody else's), the rubric as
one radio group per criterion, written feedback, and approve / request changes / decline.

A submission for another issuer answers 404, like everything outside the workspace's issuer.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.auth import current_staff
from app.evidence_files import send_evidence_file
from app.forms import refusal
from app.models import Educator, Submission
from app.services._core.errors import NotFound, ServiceError, required
from app.services.learning import assessors, calibration, educators, reviews, self_directed, stages
from app.services.learning import queries as learning_queries
from app.services.org import queries as org_queries
from app.wiring import service_env, utcnow
from app.workspace import bp, current_issuer, workspace_view
from schemas.reviews import decision_form_data, load_decision

#: The queue's filters: what each shows, by state.
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "waiting": ("Waiting", ("submitted",)),
    "changes": ("Changes requested", ("changes_requested",)),
    "decided": ("Decided or withdrawn", reviews.CLOSED_STATES),
}
STATE_LABELS = {
    "submitted": "Waiting",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}
DECISION_LABELS = {
    "approve": "Approved",
    "request_changes": "Asked for changes",
    "decline": "Declined",
}
LEARNING_STATE_LABELS = {
    "submitted": "Waiting",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}
ORIGIN_LABELS = {"portfolio": "Portfolio", "module": "Module", "pathway": "Pathway completed"}


@bp.app_context_processor
def _review_helpers() -> dict[str, Any]:
    def waiting_reviews() -> int:
        """How many submissions wait in the current workspace's queue (for the navigation)."""
        issuer = g.get("issuer")
        if issuer is None:
            return 0
        # Requests for credit for self-directed learning wait in the same queue.
        return reviews.waiting_count(issuer) + self_directed.waiting_count(issuer)

    return {"waiting_reviews": waiting_reviews}


@bp.get("/<slug>/reviews", endpoint="reviews")
@workspace_view("awarder")
def reviews_queue(slug: str) -> str:
    """The queue: waiting submissions oldest first; ``?show=changes`` or ``?show=decided``."""
    issuer = current_issuer()
    show = request.args.get("show", "waiting")
    if show not in FILTERS:
        show = "waiting"
    found = reviews.queue(issuer, states=FILTERS[show][1])
    return render_template(
        "workspace/reviews/queue.html",
        issuer=issuer,
        show=show,
        filters=FILTERS,
        rows=[(s, reviews.achievement_of(s)[1], _educator(s)) for s in found],
        current_stages=stages.current_of(found),
        referred=stages.referred_of(found),
        stage_labels=stages.STAGE_LABELS,
        now=utcnow(),
        states=STATE_LABELS,
        origins=ORIGIN_LABELS,
        learning=[
            (r, self_directed.educator_of(r))
            for r in self_directed.queue(issuer, states=FILTERS[show][1])
        ],
        learning_states=LEARNING_STATE_LABELS,
        takes_learning=self_directed.setting_of(issuer) is not None,
    )


def _educator(submission: Submission) -> Educator:
    return required(learning_queries.educator(submission.educator_id), "missing educator")


def review_page(
    submission: Submission,
    *,
    values: dict[str, Any] | None = None,
    stage_values: dict[str, Any] | None = None,
    release_values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The review page: the submission, earlier reviews, its stages (when its achievement
    assesses in stages) and the form of what waits for a decision."""
    achievement, version, _ = reviews.achievement_of(submission)
    educator = _educator(submission)
    history = [
        (r, org_queries.staff_account(r.reviewer_id), _levels_named(version.rubric, r.results))
        for r in submission.reviews
    ]
    try:
        email: str | None = educators.recipient_email(educator)
    except ServiceError:
        email = None
    page = render_template(
        "workspace/reviews/review.html",
        issuer=current_issuer(),
        submission=submission,
        achievement=achievement,
        version=version,
        educator=educator,
        email=email,
        confirmed=bool(educators.verified_emails(educator)),
        items=[row.item for row in submission.items],
        history=history,
        values=values or {"feedback": "", "levels": {}},
        errors=errors or {},
        stage_rounds=stages.rounds(submission, version),
        current_stage=stages.current(submission),
        blind=_blind(submission, achievement, version),
        criteria=stages.criteria(version),
        stage_values=stage_values or {"feedback": "", "ratings": {}, "criterion_feedback": {}},
        stage_labels=stages.STAGE_LABELS,
        now=utcnow(),
        stage_states=stages.STATE_LABELS,
        referral=stages.referral(submission),
        referrals=[
            (r, org_queries.staff_account(r.coach_id) if r.coach_id else None)
            for r in stages.referrals_of(submission)
        ],
        release_values=release_values or {"note": ""},
        may_release=_may_release(submission),
        states=STATE_LABELS,
        decisions=DECISION_LABELS,
        origins=ORIGIN_LABELS,
    )
    return page, status


def _blind(submission: Submission, achievement: Any, version: Any) -> dict[str, Any] | None:
    """What the signed-in reviewer may know of an assessment scored by two blind: who scores
    it, how many ratings are in, whether they are one of the two (and rated already), and, for
    a lead assessor once the two disagree, both ratings side by side."""
    stage = stages.current(submission)
    if stage is None or stage.second_id is None or stage.stage != "assessment":
        return None
    me = assessors.member_of_staff(achievement.id, current_staff())
    given = calibration.blind_ratings(stage)
    two = [assessors.assignee_of(stage), assessors.member_in_any(stage.second_id)]
    lead = stage.disputed_at is not None and calibration.is_lead(current_staff(), achievement)
    names = {c["id"]: c["name"] for c in calibration.criteria_of(version)}
    return {
        "assessors": [calibration.member_label(m) for m in two if m is not None],
        "rated": len(given),
        "mine": me is not None and me.id in (stage.assignee_id, stage.second_id),
        "rated_by_me": calibration.rated_by(stage, me),
        "disputed": stage.disputed_at is not None,
        "lead": lead,
        "ratings": [
            (
                calibration.member_label(required(assessors.member_in_any(r.member_id), "m")),
                [
                    (names.get(cid, cid), v.get("rating"), v.get("feedback", ""))
                    for cid, v in r.ratings.items()
                ],
                r.feedback,
            )
            for r in given
        ]
        if lead
        else [],
    }


def _may_release(submission: Submission) -> bool:
    """Whether the signed-in reviewer may release the submission's referral (its coach, or an
    editor or owner)."""
    found = stages.referral(submission)
    return found is not None and (
        found.coach_id == current_staff().id or g.get("role") in ("owner", "editor")
    )


def _levels_named(
    rubric: list[dict[str, Any]] | None, chosen: dict[str, Any] | None
) -> list[tuple[str, str]]:
    named = []
    for criterion in rubric or []:
        level_id = (chosen or {}).get(str(criterion["id"]))
        for level in criterion.get("levels", []):
            if str(level["id"]) == level_id:
                named.append((str(criterion["name"]), str(level["name"])))
    return named


@bp.get("/<slug>/reviews/<submission_id>")
@workspace_view("awarder")
def review(slug: str, submission_id: str) -> tuple[str, int]:
    """One submission, with the review form while it waits for a decision."""
    return review_page(reviews.get_for_issuer(current_issuer(), submission_id))


@bp.post("/<slug>/reviews/<submission_id>")
@workspace_view("awarder")
def decide_review(slug: str, submission_id: str) -> ResponseReturnValue:
    """Approve (issues the credential), ask for changes, or decline."""
    submission = reviews.get_for_issuer(current_issuer(), submission_id)
    values = decision_form_data(request.form)
    with refusal() as refused:
        data = load_decision(values)
        reviews.decide(
            submission,
            current_staff(),
            data["decision"],
            data["feedback"],
            data["levels"],
            service_env(),
            ip=request.remote_addr,
        )
    if refused:
        submission = reviews.get_for_issuer(current_issuer(), submission_id)  # after the rollback
        return review_page(
            submission, values=values, errors=refused.errors(), status=refused.status
        )
    done = {
        "approve": "Approved: the credential is issued and the educator emailed.",
        "request_changes": "Sent back for changes; the educator has been emailed your feedback.",
        "decline": "Declined; the educator has been emailed your feedback.",
    }
    flash(done[data["decision"]])
    return redirect(url_for("workspace.reviews", slug=slug), 303)


@bp.get("/<slug>/reviews/<submission_id>/items/<item_id>/file")
@workspace_view("awarder")
def review_item_file(slug: str, submission_id: str, item_id: str) -> Response:
    """The file of an item of this submission, published or not (for its reviewers only)."""
    submission = reviews.get_for_issuer(current_issuer(), submission_id)
    item = reviews.submitted_item(submission, item_id)
    if item.file is None:
        raise NotFound("This item has no file.")
    return send_evidence_file(item.file)
