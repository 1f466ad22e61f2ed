"""Submitting portfolio items for a portfolio badge (any issuer's achievement that takes
submissions), and the educator's submissions: state, reviewers' feedback, resubmitting after
changes were asked for, withdrawing.

Another educator's submission answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.educator.portfolio import KIND_LABELS, STATE_LABELS
from app.forms import Refusal, refusal
from app.models import Achievement, AchievementVersion, Issuer, PortfolioItem, Submission
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import portfolio, reviews, stages
from app.wiring import service_env, utcnow
from schemas.reviews import load_submission, submission_form_data

#: The service's complaints that belong beside a form input (others go at the top).
FIELD_OF = {"items": "items", "statement": "statement"}


def _levels_named(version: AchievementVersion, chosen: dict[str, Any]) -> list[tuple[str, str]]:
    """A review's rubric levels as ``(criterion name, level name)``, in rubric order."""
    named = []
    for criterion in version.rubric or []:
        level_id = chosen.get(str(criterion["id"]))
        for level in criterion.get("levels", []):
            if str(level["id"]) == level_id:
                named.append((str(criterion["name"]), str(level["name"])))
    return named


def _form_page(
    template: str,
    *,
    achievement: Achievement,
    version: AchievementVersion,
    issuer: Issuer,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    **context: Any,
) -> tuple[str, int]:
    return (
        render_template(
            template,
            achievement=achievement,
            version=version,
            issuer=issuer,
            items=portfolio.items_of(current_educator()),
            kinds=KIND_LABELS,
            values=values,
            errors=errors or {},
            **context,
        ),
        status,
    )


#: What the submission forms show: a chosen item that is gone is a problem of the input too.
SHOWN = (Invalid, Conflict, NotFound)


def _refused(refused: Refusal) -> dict[str, str]:
    error = refused.error
    if isinstance(error, NotFound) and error.field is None and "item" in error.message:
        return {"items": "One of the chosen items is not in your portfolio any more."}
    return refused.errors(FIELD_OF)


@bp.get("/portfolio/submit")
@educator_required
def choose_badge() -> str:
    """Every achievement, of any organisation, that takes portfolio submissions now."""
    educator = current_educator()
    mine = {s.achievement_id: s for s in reviews.submissions_of(educator)}
    return render_template(
        "educator/portfolio/choose.html",
        badges=reviews.open_for_submissions(),
        mine=mine,
        states=STATE_LABELS,
        open_states=reviews.OPEN_STATES,
    )


@bp.route("/portfolio/submit/<achievement_id>", methods=["GET", "POST"])
@educator_required
def new_submission(achievement_id: str) -> ResponseReturnValue:
    """Choose items, write a statement, agree which items to publish, and submit."""
    achievement, version, issuer = reviews.open_achievement(achievement_id)
    educator = current_educator()
    current = reviews.open_submission(educator, achievement)

    def page(values: dict[str, Any], errors: dict[str, str] | None = None) -> tuple[str, int]:
        return _form_page(
            "educator/portfolio/submit.html",
            achievement=achievement,
            version=version,
            issuer=issuer,
            values=values,
            errors=errors,
            status=400 if errors else 200,
            current=current,
        )

    if request.method == "GET":
        return page({"items": [], "statement": "", "publish": []})
    values = submission_form_data(request.form)
    with refusal(*SHOWN) as refused:
        data = load_submission(values)
        submission = reviews.submit(
            educator,
            achievement,
            data["items"],
            data["statement"],
            service_env(),
            publish=data["publish"],
        )
    if refused.field == "credential_name":  # asked first; back here once it is confirmed
        return redirect(url_for("educator.confirm_name", next=request.path), 303)
    if refused:
        return page(values, _refused(refused))
    flash(f"Submitted for “{version.name}”. You will get an email when it has been reviewed.")
    return redirect(url_for("educator.submission", public_id=submission.public_id), 303)


@bp.get("/submissions")
@educator_required
def submissions() -> str:
    """The educator's submissions, newest first."""
    found = reviews.submissions_of(current_educator())
    return render_template(
        "educator/portfolio/submissions.html",
        rows=[(s, *reviews.achievement_of(s)) for s in found],
        states=STATE_LABELS,
    )


def _submission_page(
    submission: Submission,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    achievement, version, issuer = reviews.achievement_of(submission)
    submitted: list[PortfolioItem] = [row.item for row in submission.items]
    if values is None:
        values = {
            "items": [i.public_id for i in submitted],
            "statement": submission.statement,
            "publish": [i.public_id for i in submitted if i.publish],
        }
    return _form_page(
        "educator/portfolio/submission.html",
        achievement=achievement,
        version=version,
        issuer=issuer,
        values=values,
        errors=errors,
        status=status,
        submission=submission,
        submitted=submitted,
        reviews_=[(r, _levels_named(version, r.results or {})) for r in submission.reviews],
        states=STATE_LABELS,
        open_states=reviews.OPEN_STATES,
        stage_rounds=stages.rounds(submission, version),
        plan_stages=_plan_stages(achievement),
        current_stage=stages.current(submission),
        referral=(found := stages.referral(submission)),
        coach=stages.get_referral_coach(found) if found else None,
        attempts_left=stages.attempts_left(submission, stages.plan_of(achievement)),
        stage_labels=stages.STAGE_LABELS,
        stage_states=stages.STATE_LABELS,
        now=utcnow(),
    )


def _plan_stages(achievement: Achievement) -> tuple[str, ...]:
    plan = stages.plan_of(achievement)
    return plan.stages() if plan else ()


@bp.get("/submissions/<public_id>")
@educator_required
def submission(public_id: str) -> tuple[str, int]:
    """One submission: its state, what was submitted, the reviewers' feedback, and what can be
    done next (resubmit after changes were asked for, or withdraw)."""
    return _submission_page(reviews.get_for_educator(current_educator(), public_id))


@bp.post("/submissions/<public_id>/resubmit")
@educator_required
def resubmit(public_id: str) -> ResponseReturnValue:
    """Send a submission returned for changes back for review."""
    educator = current_educator()
    found = reviews.get_for_educator(educator, public_id)
    values = submission_form_data(request.form)
    with refusal(*SHOWN) as refused:
        data = load_submission(values)
        reviews.resubmit(
            found,
            educator,
            data["items"],
            data["statement"],
            service_env(),
            publish=data["publish"],
        )
    if refused:
        errors = _refused(refused)
        found = reviews.get_for_educator(educator, public_id)  # reloaded after the rollback
        return _submission_page(found, values=values, errors=errors, status=400)
    flash("Sent back for review.")
    return redirect(url_for("educator.submission", public_id=found.public_id), 303)


@bp.post("/submissions/<public_id>/withdraw")
@educator_required
def withdraw_submission(public_id: str) -> Response:
    """Withdraw a submission that has not been decided."""
    educator = current_educator()
    found = reviews.get_for_educator(educator, public_id)
    with refusal(Conflict) as refused:
        reviews.withdraw(found, educator, service_env())
    refused.flash("Withdrawn. You can submit for this badge again whenever you like.")
    return redirect(url_for("educator.submission", public_id=public_id), 303)
