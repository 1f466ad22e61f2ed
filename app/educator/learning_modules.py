"""Modules on the educator side (``/me/modules``): the catalogue, a module's page (progress,
evidence, learning partner, completion), and its activity pages where prompts are answered.

Answers are saved by an ordinary form post per activity, which works without JavaScript;
``module-autosave.js`` posts the same form to the same URL as the educator types and reads the
JSON answer. Another educator's enrolment, like a module nobody may see, answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.errors import wants_json
from app.evidence_files import evidence_limit
from app.forms import Refusal, refusal
from app.models import Enrolment, Module
from app.services.learning import (
    answers,
    authoring,
    completion,
    educators,
    enrolments,
    partners,
    portfolio,
    progress,
)
from app.services.learning.portfolio import ItemInput
from app.wiring import service_env
from schemas.learning_modules import (
    AnswersSchema,
    CompletionSchema,
    EvidenceSchema,
    PartnerInviteSchema,
    ThanksSchema,
)

Errors = dict[str, str]


def _prefixed(prefix: str, refused: Refusal) -> Errors:
    # The module page has several forms: their inputs are named ``<prefix>-<field>``, and a
    # service's complaint about no one field is shown beside the section (``<prefix>``).
    errors = refused.errors(default="")
    return {f"{prefix}-{name}" if name else prefix: message for name, message in errors.items()}


def _module_page(
    module: Module,
    enrolment: Enrolment | None,
    *,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    achievement, version = authoring.achievement_of(module)
    context: dict[str, Any] = {}
    if enrolment is not None:
        done = progress.progress(enrolment)
        items = answers.module_items(enrolment)
        context = {
            "progress": done,
            "problems": completion.completion_problems(enrolment, done),
            "attachments": answers.attachments(enrolment),
            "items": items,
            "submission": completion.submission_of(enrolment),
            "partner_state": partners.partner_invitation_state(enrolment, service_env()),
        }
    page = render_template(
        "educator/modules/module.html",
        module=module,
        enrolment=enrolment,
        version=version,
        achievement=achievement,
        issuer_name=authoring.issuer_name(module),
        errors=errors or {},
        values=values or {},
        max_evidence=portfolio.size_words(evidence_limit()),
        **context,
    )
    return page, status


@bp.get("/modules", endpoint="modules")
@educator_required
def catalogue() -> str:
    """The modules the educator is enrolled in, and every open one they may join."""
    entries = enrolments.catalogue(current_educator())
    done = {e.enrolment.id: progress.progress(e.enrolment) for e in entries if e.enrolment}
    return render_template("educator/modules/catalogue.html", entries=entries, progress=done)


@bp.get("/modules/<module_id>")
@educator_required
def module(module_id: str) -> tuple[str, int]:
    """A module: what it is and, once enrolled, the educator's progress and next steps."""
    found, enrolment = enrolments.module_for(current_educator(), module_id)
    return _module_page(found, enrolment)


@bp.post("/modules/<module_id>/enrol")
@educator_required
def enrol(module_id: str) -> Response:
    """Join an open module."""
    educator = current_educator()
    found, _ = enrolments.module_for(educator, module_id)
    enrolments.enrol(educator, found, service_env())
    flash(f"You are enrolled in “{found.title}”. Start with the first activity.")
    return redirect(url_for(".module", module_id=found.public_id), 303)


def _enrolment(module_id: str) -> Enrolment:
    return enrolments.enrolment_for(current_educator(), module_id)


@bp.route("/modules/<module_id>/activities/<int:activity_id>", methods=["GET", "POST"])
@educator_required
def activity(module_id: str, activity_id: int) -> ResponseReturnValue:
    """An activity: directions, resources and its prompts. Posting saves the answers (all of
    the form's, or the one ``module-autosave.js`` sends); JSON for scripts, a redirect for
    browsers."""
    educator = current_educator()
    enrolment = _enrolment(module_id)
    found = authoring.get_activity(enrolment.module, activity_id)
    errors: Errors = {}
    values: dict[int, str] = {}
    if request.method == "POST":
        with refusal() as refused:
            texts = AnswersSchema().load(request.form.to_dict())["answers"]
            changed = answers.save_answers(enrolment, educator, found, texts, service_env())
        if refused:
            errors = {"answers": refused.message}
        if wants_json():
            if errors:
                return jsonify({"error": "not_saved", "message": errors["answers"]}), 400
            done = progress.progress(enrolment)
            here = next(a for a in done.activities if a.activity.id == found.id)
            return jsonify(
                {
                    "saved": changed,
                    "answered": done.answered,
                    "total": done.total,
                    "percent": done.percent,
                    "activity_done": here.done,
                }
            )
        if not errors:
            flash("Saved your answers.")
            following = _next_activity(enrolment, found.id)
            if request.form.get("then") == "next" and following is not None:
                return redirect(
                    url_for(".activity", module_id=module_id, activity_id=following), 303
                )
            if request.form.get("then") == "module":
                return redirect(url_for(".module", module_id=module_id), 303)
            return redirect(url_for(".activity", module_id=module_id, activity_id=found.id), 303)
        values = {p.id: request.form.get(f"prompt-{p.id}", "") for p in found.prompts}
    saved = answers.answers(enrolment)
    page = render_template(
        "educator/modules/activity.html",
        module=enrolment.module,
        enrolment=enrolment,
        activity=found,
        answers={p.id: values.get(p.id, saved.get(p.id, "")) for p in found.prompts},
        next_activity=_next_activity(enrolment, found.id),
        editable=enrolment.state in enrolments.EDITABLE_STATES,
        errors=errors,
    )
    return page, 400 if errors else 200


def _next_activity(enrolment: Enrolment, activity_id: int) -> int | None:
    ids = [a.id for a in enrolment.module.activities]
    position = ids.index(activity_id)
    return ids[position + 1] if position + 1 < len(ids) else None


@bp.post("/modules/<module_id>/evidence")
@educator_required
def attach(module_id: str) -> ResponseReturnValue:
    """Attach a file, a link or a narrative to the enrolment."""
    educator = current_educator()
    enrolment = _enrolment(module_id)
    upload = request.files.get("file")
    with refusal() as refused:
        loaded = EvidenceSchema().load(request.form.to_dict())
        data = ItemInput(title=loaded["title"] or "", body=loaded["body"] or "", url=loaded["url"])
        # One byte over the limit is enough for the portfolio to refuse the file by its size.
        file = None
        if upload is not None and upload.filename:
            file = (upload.read(evidence_limit() + 1), upload.filename)
        item = answers.attach_evidence(
            enrolment,
            educator,
            loaded["kind"],
            data,
            service_env(),
            upload=file,
            max_bytes=evidence_limit(),
        )
    if not refused:
        flash(f"Attached “{item.title}”.")
        return redirect(url_for(".module", module_id=module_id, _anchor="evidence"), 303)
    return _refused_form(enrolment, "evidence", refused)


def _refused_form(enrolment: Enrolment, prefix: str, refused: Refusal) -> ResponseReturnValue:
    """The module page again, with a refused form's values and errors (its inputs are named
    ``<prefix>-<field>``)."""
    values = {f"{prefix}-{k}": v for k, v in request.form.items() if k != "csrf_token"}
    errors = _prefixed(prefix, refused)
    return _module_page(enrolment.module, enrolment, errors=errors, values=values, status=400)


@bp.post("/modules/<module_id>/evidence/<item_id>/remove")
@educator_required
def detach(module_id: str, item_id: str) -> Response:
    """Take an item off the module (it stays in the portfolio)."""
    enrolment = _enrolment(module_id)
    with refusal() as refused:
        answers.detach_evidence(enrolment, current_educator(), item_id, service_env())
    refused.flash("Removed it from this module; it is still in your portfolio.")
    return redirect(url_for(".module", module_id=module_id, _anchor="evidence"), 303)


@bp.post("/modules/<module_id>/partner")
@educator_required
def invite_partner(module_id: str) -> ResponseReturnValue:
    """Invite a learning partner by email."""
    enrolment = _enrolment(module_id)
    with refusal() as refused:
        loaded = PartnerInviteSchema().load(request.form.to_dict())
        partners.invite_partner(
            enrolment, current_educator(), loaded["name"], loaded["email"], service_env()
        )
    if not refused:
        flash(f"Invited {enrolment.partner_name}: an email is on its way to them.")
        return redirect(url_for(".module", module_id=module_id, _anchor="partner"), 303)
    return _refused_form(enrolment, "partner", refused)


@bp.post("/modules/<module_id>/partner/revoke")
@educator_required
def revoke_partner(module_id: str) -> ResponseReturnValue:
    """Withdraw the learning partner's invitation: its link stops working."""
    enrolment = _enrolment(module_id)
    educator = current_educator()
    with refusal() as refused:
        partners.revoke_partner(
            enrolment, actor=educators.actor(educator, request.remote_addr), env=service_env()
        )
    if refused:
        errors = {"partner": refused.message}
        return _module_page(enrolment.module, enrolment, errors=errors, status=refused.status)
    flash(f"Withdrawn: the link sent to {enrolment.partner_name} no longer works.")
    return redirect(url_for(".module", module_id=module_id, _anchor="partner"), 303)


@bp.post("/modules/<module_id>/partner/thanks")
@educator_required
def thank_partner(module_id: str) -> ResponseReturnValue:
    """Send the learning partner a thank-you note."""
    enrolment = _enrolment(module_id)
    with refusal() as refused:
        note = ThanksSchema().load(request.form.to_dict())["note"]
        partners.thank_partner(enrolment, current_educator(), note, service_env())
    if not refused:
        flash(f"Sent your note to {enrolment.partner_name}.")
        return redirect(url_for(".module", module_id=module_id, _anchor="partner"), 303)
    if refused.invalid is not None:
        errors = _prefixed("thanks", refused)
    else:  # the note's own problem beside it; the partner's state beside the partner section
        errors = {"thanks-note" if refused.field else "partner": refused.message}
    values = {"thanks-note": request.form.get("note", "")}
    return _module_page(enrolment.module, enrolment, errors=errors, values=values, status=400)


@bp.post("/modules/<module_id>/complete")
@educator_required
def complete(module_id: str) -> ResponseReturnValue:
    """Submit the module for completion, publishing the chosen items as evidence."""
    enrolment = _enrolment(module_id)
    with refusal() as refused:
        publish = CompletionSchema().load({"publish": request.form.getlist("publish")})["publish"]
        completion.complete(enrolment, current_educator(), publish, service_env())
    if not refused:
        if enrolment.state == "awarded":
            flash("Complete! Your badge has been issued; it is in your backpack.")
        else:
            flash("Submitted: a reviewer will look at your work, and you will hear by email.")
        return redirect(url_for(".module", module_id=module_id), 303)
    if refused.field == "credential_name":  # asked first; back here once it is confirmed
        return redirect(url_for(".confirm_name", next=url_for(".module", module_id=module_id)), 303)
    values = {"publish": set(request.form.getlist("publish")), "submitted": True}
    errors = {"complete": refused.message}
    return _module_page(enrolment.module, enrolment, errors=errors, values=values, status=400)
