"""Self-directed learning, the educator's side: record learning done elsewhere (a conference, a
book study, a webinar, ...) with its hours and evidence, ask an organisation for credit, see
where each request stands and the reviewer's note or reason; withdraw, change, delete a draft.

Another educator's request answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.educator.portfolio import accepted_extensions
from app.evidence_files import evidence_limit, send_evidence_file
from app.forms import refusal
from app.models import LearningRequest
from app.services.learning import portfolio, self_directed
from app.services.learning.self_directed import Upload
from app.wiring import service_env
from schemas.self_directed import KIND_LABELS, KINDS, load_learning_request

#: How the educator's pages name a request's state.
STATE_LABELS = {
    "draft": "Draft",
    "submitted": "Waiting for a decision",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn (you can change it and submit it again)",
}
FIELDS = ("organisation", "kind", "title", "provider", "started_on", "ended_on", "hours",
          "description", "category", "links")  # fmt: skip


def _values(found: LearningRequest | None) -> dict[str, Any]:
    if found is None:
        return {name: "" for name in FIELDS}
    issuer = self_directed.issuer_of(found)
    return {
        "organisation": issuer.slug,
        "kind": found.kind,
        "title": found.title,
        "provider": found.provider,
        "started_on": found.started_on.isoformat(),
        "ended_on": found.ended_on.isoformat(),
        "hours": f"{found.hours:g}",
        "description": found.description,
        "category": found.category or "",
        "links": "\n".join(
            f"{link['name']} | {link['url']}" if link.get("name") else link["url"]
            for link in found.links
        ),
    }


def _page(
    found: LearningRequest | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    saved_only: bool = False,
) -> tuple[str, int]:
    educator = current_educator()
    organisations = self_directed.organisations_for(educator)
    return (
        render_template(
            "educator/learning/request.html",
            found=found,
            issuer=self_directed.issuer_of(found) if found is not None else None,
            values=values if values is not None else _values(found),
            errors=errors or {},
            organisations=organisations,
            categories={o.slug: self_directed.categories_of(o) for o in organisations},
            kinds=KINDS,
            kind_labels=KIND_LABELS,
            states=STATE_LABELS,
            editable=found is None or found.state in self_directed.EDITABLE_STATES,
            limit=portfolio.size_words(evidence_limit()),
            extensions=accepted_extensions(),
            saved_only=saved_only,
        ),
        status,
    )


def _upload(upload: FileStorage | None) -> Upload | None:
    if upload is None or not upload.filename:
        return None
    limit = evidence_limit()
    # One byte over the limit is enough for store_file to refuse it with its message.
    return Upload(upload.stream.read(limit + 1), upload.filename, limit)


def _form() -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in FIELDS}


@bp.get("/learning")
@educator_required
def learning_requests() -> str:
    """The educator's requests for credit, newest first."""
    educator = current_educator()
    found = self_directed.requests_of(educator)
    return render_template(
        "educator/learning/list.html",
        rows=[(r, self_directed.issuer_of(r)) for r in found],
        states=STATE_LABELS,
        kind_labels=KIND_LABELS,
        organisations=self_directed.organisations_for(educator),
    )


def _after_save(found: LearningRequest) -> ResponseReturnValue:
    """Submit when that button was pressed; otherwise back to the draft."""
    if request.form.get("action") != "submit":
        flash("Saved as a draft. Submit it when it is ready.")
        return redirect(url_for("educator.learning_request", public_id=found.public_id), 303)
    with refusal() as refused:
        self_directed.submit(found, current_educator(), service_env())
    if refused.field == "credential_name":  # asked first; back here once it is confirmed
        flash("Saved as a draft. Confirm the name your credentials carry, then submit it.")
        return redirect(
            url_for(
                "educator.confirm_name",
                next=url_for("educator.learning_request", public_id=found.public_id),
            ),
            303,
        )
    if refused:
        found = self_directed.get_for_educator(current_educator(), found.public_id)
        return _page(found, errors={"_schema": refused.message}, status=refused.status,
                     saved_only=True)  # fmt: skip
    issuer = self_directed.issuer_of(found)
    flash(f"Submitted to {issuer.name}. You will get an email when it has been decided.")
    return redirect(url_for("educator.learning_request", public_id=found.public_id), 303)


@bp.route("/learning/new", methods=["GET", "POST"])
@educator_required
def new_learning_request() -> ResponseReturnValue:
    """Record learning done elsewhere: save a draft, or save and submit it at once."""
    if request.method == "GET":
        values = {name: "" for name in FIELDS}
        organisations = self_directed.organisations_for(current_educator())
        if len(organisations) == 1:
            values["organisation"] = organisations[0].slug
        return _page(None, values=values)
    values = _form()
    with refusal() as refused:
        data = load_learning_request(values)
        found = self_directed.create(
            current_educator(), data, service_env(), upload=_upload(request.files.get("file"))
        )
    if refused:
        return _page(None, values=values, errors=refused.errors(), status=400)
    return _after_save(found)


@bp.route("/learning/<public_id>", methods=["GET", "POST"])
@educator_required
def learning_request(public_id: str) -> ResponseReturnValue:
    """One request: its state and the reviewer's note; the form while it is a draft."""
    found = self_directed.get_for_educator(current_educator(), public_id)
    if request.method == "GET":
        return _page(found)
    values = _form()
    with refusal() as refused:
        data = load_learning_request(values)
        self_directed.update_request(
            found, current_educator(), data, service_env(),
            upload=_upload(request.files.get("file")),
        )  # fmt: skip
    if refused:
        found = self_directed.get_for_educator(current_educator(), public_id)
        return _page(found, values=values, errors=refused.errors(), status=refused.status)
    return _after_save(found)


@bp.post("/learning/<public_id>/withdraw")
@educator_required
def withdraw_learning_request(public_id: str) -> Response:
    """Take a request back from the review queue."""
    found = self_directed.get_for_educator(current_educator(), public_id)
    with refusal() as refused:
        self_directed.withdraw(found, current_educator(), service_env())
    refused.flash("Withdrawn. You can change it and submit it again.")
    return redirect(url_for("educator.learning_request", public_id=public_id), 303)


@bp.post("/learning/<public_id>/delete")
@educator_required
def delete_learning_request(public_id: str) -> Response:
    """Delete a draft (or withdrawn) request and its files."""
    found = self_directed.get_for_educator(current_educator(), public_id)
    with refusal() as refused:
        self_directed.delete_request(found, current_educator(), service_env())
    if refused:
        refused.flash()
        return redirect(url_for("educator.learning_request", public_id=public_id), 303)
    flash("Deleted.")
    return redirect(url_for("educator.learning_requests"), 303)


@bp.post("/learning/<public_id>/files/<file_id>/remove")
@educator_required
def remove_learning_file(public_id: str, file_id: str) -> Response:
    """Remove an evidence file from a draft."""
    found = self_directed.get_for_educator(current_educator(), public_id)
    with refusal() as refused:
        self_directed.remove_file(found, current_educator(), file_id, service_env())
    refused.flash("File removed.")
    return redirect(url_for("educator.learning_request", public_id=public_id), 303)


@bp.get("/learning/<public_id>/files/<file_id>")
@educator_required
def learning_file(public_id: str, file_id: str) -> Response:
    """An evidence file of one of the educator's requests."""
    found = self_directed.get_for_educator(current_educator(), public_id)
    return send_evidence_file(self_directed.file_of(found, file_id).file)
