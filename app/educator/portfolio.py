"""The educator's portfolio (``/me/portfolio``): their items (module answers among them), adding
and editing items (text, link or an uploaded file), publishing an item as public evidence (or
withdrawing that consent), deleting one, and downloading their own files.

Another educator's item answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.errors import wants_json
from app.evidence_files import evidence_limit, send_evidence_file
from app.forms import refusal
from app.models import PortfolioItem, StoredFile
from app.services._core.errors import NotFound
from app.services.learning import portfolio, reviews
from app.services.learning.portfolio import ItemInput
from app.wiring import service_env
from schemas.errors import flat_errors
from schemas.portfolio import load_item

#: Views whose form takes an evidence file (their 413 page explains the file limit).
UPLOAD_ENDPOINTS = ("educator.new_portfolio_item",)
#: How the educator's pages name a submission's state.
STATE_LABELS = {
    "submitted": "Waiting for review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}
KIND_LABELS = {
    "response": "Module answer",
    "file": "File",
    "link": "Link",
    "narrative": "Narrative",
}


def accepted_extensions() -> str:
    """The file name endings an upload may have, for the form's hint and ``accept``."""
    return ", ".join(
        sorted({e for _, (_, extensions) in portfolio.FILE_TYPES.items() for e in extensions})
    )


def _item_or_404(public_id: str) -> PortfolioItem:
    return portfolio.get_item(current_educator(), public_id)


@bp.get("/portfolio", endpoint="portfolio")
@educator_required
def portfolio_list() -> str:
    """Every item of the educator's portfolio, most recently changed first."""
    educator = current_educator()
    items = portfolio.items_of(educator)
    return render_template(
        "educator/portfolio/list.html",
        items=items,
        kinds=KIND_LABELS,
        in_review={
            item.id
            for item in items
            for s in portfolio.submissions_with(item)
            if s.state in ("submitted", "changes_requested")
        },
    )


def _item_form(
    *,
    item: PortfolioItem | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "educator/portfolio/form.html",
            item=item,
            values=values,
            errors=errors or {},
            limit=portfolio.size_words(evidence_limit()),
            extensions=accepted_extensions(),
        ),
        status,
    )


def _upload(upload: FileStorage | None) -> tuple[bytes, str] | None:
    if upload is None or not upload.filename:
        return None
    limit = evidence_limit()
    # One byte over the limit is enough for store_file to refuse it with its message.
    return upload.stream.read(limit + 1), upload.filename


@bp.route("/portfolio/new", methods=["GET", "POST"])
@educator_required
def new_portfolio_item() -> ResponseReturnValue:
    """Add an item: a narrative, a link, or a file (with an optional narrative)."""
    if request.method == "GET":
        return _item_form(item=None, values={"title": "", "body": "", "url": ""})
    values = {name: request.form.get(name, "") for name in ("title", "body", "url")}
    errors: dict[str, str] = {}
    try:
        data = load_item(values)
    except ValidationError as error:
        errors = flat_errors(error, depth=1, first=True)
        data = None
    upload = _upload(request.files.get("file"))
    if upload is not None and values["url"].strip():
        errors.setdefault("url", "An item is a file or a link, not both: add the link separately.")
    if errors or data is None:
        return _item_form(item=None, values=values, errors=errors, status=400)
    env = service_env()
    educator = current_educator()
    with refusal() as refused:  # a stored file of a refused item goes with it
        stored: StoredFile | None = None
        if upload is not None:
            stored = portfolio.store_file(
                upload[0], upload[1], max_bytes=evidence_limit(), now=env.now
            )
        kind = "file" if stored is not None else "link" if data["url"] else "narrative"
        item = portfolio.create_item(
            educator,
            kind,
            ItemInput(title=data["title"], body=data["body"], url=data["url"]),
            env,
            file=stored,
        )
    if refused:
        return _item_form(item=None, values=values, errors=refused.errors(), status=400)
    flash(f"Added “{item.title}” to your portfolio. It is private until you publish it.")
    return redirect(url_for("educator.portfolio_item", public_id=item.public_id), 303)


def _item_page(
    item: PortfolioItem,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    env = service_env()
    submissions = portfolio.submissions_with(item)
    citing = portfolio.credentials_citing(item, env)
    return (
        render_template(
            "educator/portfolio/item.html",
            item=item,
            kinds=KIND_LABELS,
            values=values or {"title": item.title, "body": item.body, "url": item.url or ""},
            errors=errors or {},
            evidence_url=portfolio.evidence_url(item, env),
            submissions=[(s, reviews.achievement_of(s)[1].name) for s in submissions],
            citing=citing,
            locked=portfolio.edit_refusal_given(item, citing, submissions),
            states=STATE_LABELS,
            size_words=portfolio.size_words,
        ),
        status,
    )


@bp.route("/portfolio/<public_id>", methods=["GET", "POST"])
@educator_required
def portfolio_item(public_id: str) -> ResponseReturnValue:
    """One item: what it holds, where it is used, publishing, and its edit form."""
    item = _item_or_404(public_id)
    if request.method == "GET":
        return _item_page(item)
    values = {name: request.form.get(name, "") for name in ("title", "body", "url")}
    if item.kind != "link":
        values["url"] = ""  # only link items have one
    with refusal() as refused:
        data = load_item(values)
        if item.kind == "link" and not data["url"]:
            raise ValidationError("Give a link starting with https://.", "url")
        portfolio.update_item(
            item,
            current_educator(),
            ItemInput(title=data["title"], body=data["body"], url=data["url"]),
            service_env(),
        )
    if refused:
        errors = refused.errors({name: name for name in values})
        return _item_page(item, values=values, errors=errors, status=refused.status)
    flash("Saved.")
    return redirect(url_for("educator.portfolio_item", public_id=item.public_id), 303)


@bp.post("/portfolio/<public_id>/publish")
@educator_required
def publish_portfolio_item(public_id: str) -> Response:
    """Publish the item as public evidence, or withdraw that consent (``publish`` 1 or 0)."""
    item = _item_or_404(public_id)
    wanted = request.form.get("publish") == "1"
    if item.publish != wanted:
        portfolio.set_publish(item, current_educator(), wanted, service_env())
    if wanted:
        flash("Published: the item's evidence page is public now.")
    else:
        flash("Unpublished: the item's evidence page no longer exists.")
    return redirect(url_for("educator.portfolio_item", public_id=item.public_id), 303)


@bp.route("/portfolio/<public_id>/delete", methods=["GET", "POST"])
@educator_required
def delete_portfolio_item(public_id: str) -> ResponseReturnValue:
    """Ask, then delete the item; items credentials or reviews rely on are kept (and why)."""
    item = _item_or_404(public_id)
    if request.method == "GET":
        return render_template("educator/portfolio/delete.html", item=item)
    title = item.title
    with refusal() as refused:
        portfolio.delete_item(item, current_educator(), service_env())
    if refused:
        refused.flash()
        return redirect(url_for("educator.portfolio_item", public_id=public_id), 303)
    flash(f"Deleted “{title}”.")
    return redirect(url_for("educator.portfolio"), 303)


@bp.get("/portfolio/<public_id>/file")
@educator_required
def portfolio_file(public_id: str) -> Response:
    """The item's file, for its owner (published or not)."""
    item = _item_or_404(public_id)
    if item.file is None:
        raise NotFound("This item has no file.")
    return send_evidence_file(item.file)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A form over ``MAX_CONTENT_LENGTH``, refused before it is read: a page saying what the
    limits are (for the evidence upload form, that form again with the message)."""
    total = portfolio.size_words(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0))
    message = f"The upload is too large: a form may send at most {total} in all."
    if request.endpoint in UPLOAD_ENDPOINTS:
        limit = portfolio.size_words(evidence_limit())
        message = f"The file is too large: evidence files may be at most {limit}."
        if not wants_json():
            values = {"title": "", "body": "", "url": ""}
            return _item_form(item=None, values=values, errors={"file": message}, status=413)
    if wants_json():
        return jsonify({"error": "upload_too_large", "message": message}), 413
    page = render_template(
        "errors/error.html", status=413, title="Upload too large", message=message
    )
    return page, 413
