"""Achievements in the workspace: the list, the create and edit forms (every edit is a new
version), the detail page with its version history, and archive / restore."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.errors import wants_json
from app.forms import refusal
from app.models import Achievement, AchievementVersion, Issuer
from app.services._core.errors import ServiceError
from app.services._core.transaction import roll_back_refused
from app.services.awarding import queries as credential_queries
from app.services.delivery import analytics, images
from app.services.org import achievements as achievement_service
from app.services.org import queries as org_queries
from app.services.org.achievements import AchievementInput
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from credentials import ACHIEVEMENT_TYPES, ALIGNMENT_TARGET_TYPES
from schemas.achievements import (
    ALIGNMENT_FIELDS,
    SUGGESTED_FRAMEWORKS,
    AchievementSchema,
    achievement_form_data,
)
from schemas.errors import flat_errors

#: Blank alignment rows offered below the filled ones (the form works without JavaScript).
SPARE_ALIGNMENT_ROWS = 3
#: How the version history names each field an edit changed.
FIELD_LABELS = {
    "name": "name",
    "description": "description",
    "criteria_markdown": "criteria",
    "criteria_url": "criteria URL",
    "learning_outcomes": "learning outcomes",
    "alignments": "alignments",
    "achievement_type": "type",
    "tags": "tags",
    "credits_available": "credit hours",
    "default_validity_days": "default validity",
    "image_id": "image",
}
#: The history names award-rule changes (made on the Award rules page) this way.
HISTORY_LABELS = {
    **FIELD_LABELS,
    "rubric": "rubric",
    "accepts_submissions": "portfolio submissions",
    "pathway_required": "pathway: how many",
    "pathway_members": "pathway achievements",
    "pathway_award_mode": "pathway: automatic or review",
}
LIST_FILTERS = ("active", "archived", "all")
#: The forms that take an image upload (their 413 page names the image limit too).
IMAGE_FORMS = ("workspace.new_achievement", "workspace.edit_achievement", "workspace.profile")


class FormInvalid(Exception):
    """A submitted form was refused; ``errors`` maps input names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


def store_image_upload(upload: FileStorage | None, now: datetime) -> int | None:
    """Validate and store an uploaded badge image or logo (in the open transaction).

    :returns: the image id, or None when no file was chosen.
    :raises ServiceError: explaining what is wrong with the file.
    """
    if upload is None or not upload.filename:
        return None
    max_bytes: int = current_app.config["MAX_IMAGE_BYTES"]
    # One byte over the limit is enough for store_upload to refuse the file with its message.
    data = upload.read(max_bytes + 1)
    image = images.store_upload(
        data, max_bytes=max_bytes, max_pixels=current_app.config["MAX_IMAGE_PIXELS"], now=now
    )
    return image.id


def achievement_input_from_form(
    form: Mapping[str, str],
    files: Mapping[str, FileStorage],
    *,
    current_image_id: int | None,
    now: datetime,
) -> AchievementInput:
    """Validate a submitted achievement form (fields with ``schemas.achievements``, the image
    with ``images.store_upload``) into the service's input.

    The image is the uploaded file, a generated default, or ``current_image_id`` (kept).
    A new image is added to the session uncommitted; when the form is refused the session is
    rolled back, so a refused form stores nothing.

    :raises FormInvalid: with every problem found, by input name.
    """
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] | None = None
    try:
        loaded = AchievementSchema().load(achievement_form_data(form))
    except ValidationError as exc:
        errors = flat_errors(exc)
    image_id = current_image_id
    upload = files.get("image")
    try:
        uploaded = store_image_upload(upload, now)
    except ServiceError as exc:
        errors.setdefault("image", []).append(exc.message)
        uploaded = None
    if uploaded is not None:
        image_id = uploaded
    if loaded is not None and loaded["generate_image"]:
        if upload is not None and upload.filename:
            errors.setdefault("generate_image", []).append(
                "Either upload an image or generate one, not both."
            )
        elif not errors:
            image_id = images.generate_default(loaded["name"], now=now).id
    if errors or loaded is None:
        roll_back_refused()
        raise FormInvalid(errors)
    return AchievementInput(
        name=loaded["name"],
        description=loaded["description"],
        criteria_markdown=loaded["criteria_markdown"],
        criteria_url=loaded["criteria_url"],
        learning_outcomes=tuple(loaded["learning_outcomes"]),
        alignments=tuple(loaded["alignments"]),
        achievement_type=loaded["achievement_type"],
        tags=tuple(loaded["tags"]),
        credits_available=loaded["credits_available"],
        default_validity_days=loaded["default_validity_days"],
        image_id=image_id,
    )


def format_number(value: float | None) -> str:
    """A number as a form shows it: ``2`` rather than ``2.0``, blank for none."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def image_link(version: AchievementVersion) -> str | None:
    """The public URL path of a version's image, if it has one."""
    if version.image is None:
        return None
    extension = "svg" if version.image.media_type == "image/svg+xml" else "png"
    return url_for("public.image", sha256=version.image.sha256, extension=extension)


def _with_rows(values: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    # Alignment rows as the form names their inputs (alignments-<n>-<field>), then spare rows.
    for index, row in enumerate(rows):
        for name in ALIGNMENT_FIELDS:
            values[f"alignments-{index}-{name}"] = row.get(name) or ""
    values["alignment_rows"] = len(rows) + SPARE_ALIGNMENT_ROWS
    return values


def _values_from_version(version: AchievementVersion | None) -> dict[str, Any]:
    if version is None:
        # A badge without an image looks broken in wallets, so a new one gets a generated image
        # unless the editor uploads one or unticks the box.
        return _with_rows({"achievement_type": "Badge", "generate_image": True}, [])
    values = {
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        "criteria_url": version.criteria_url or "",
        "learning_outcomes": "\n".join(version.learning_outcomes),
        "achievement_type": version.achievement_type,
        "tags": ", ".join(version.tags),
        "credits_available": format_number(version.credits_available),
        "default_validity_days": str(version.default_validity_days or ""),
        "generate_image": False,
    }
    return _with_rows(values, list(version.alignments))


def _values_from_request() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {key: form.get(key, "") for key in FIELD_LABELS if key != "image_id"}
    values["generate_image"] = bool(form.get("generate_image"))
    # The non-blank rows in order: the schema's alignments[i] errors refer to the i-th of them.
    return _with_rows(values, achievement_form_data(form)["alignments"])


def _render_form(
    issuer: Issuer,
    *,
    achievement: Achievement | None,
    current: AchievementVersion | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    preview: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    types = list(ACHIEVEMENT_TYPES)
    chosen = values.get("achievement_type") or "Badge"
    if chosen not in types:
        types.append(chosen)  # an ext: type set through the API stays selectable
    page = render_template(
        "workspace/achievement_form.html",
        issuer=issuer,
        achievement=achievement,
        current=current,
        current_image=image_link(current) if current is not None else None,
        values=values,
        errors=errors or {},
        preview=preview,
        achievement_types=types,
        alignment_types=ALIGNMENT_TARGET_TYPES,
        frameworks=SUGGESTED_FRAMEWORKS,
        max_image_kb=current_app.config["MAX_IMAGE_BYTES"] // 1024,
    )
    return page, status


@bp.get("/<slug>/achievements", endpoint="achievements")
@workspace_view("viewer")
def list_achievements(slug: str) -> str:
    """The issuer's achievements as cards; ``?show=archived`` or ``?show=all`` for the rest."""
    issuer = current_issuer()
    show = request.args.get("show", "active")
    if show not in LIST_FILTERS:
        show = "active"
    rows = achievement_service.list_for(issuer, include_archived=show != "active")
    if show == "archived":
        rows = [(a, v) for a, v in rows if a.archived_at is not None]
    return render_template(
        "workspace/achievements.html",
        issuer=issuer,
        rows=rows,
        show=show,
        filters=LIST_FILTERS,
        image_link=image_link,
        format_number=format_number,
    )


@bp.route("/<slug>/achievements/new", methods=["GET", "POST"])
@workspace_view("editor")
def new_achievement(slug: str) -> Response | tuple[str, int]:
    """Create an achievement (its version 1)."""
    issuer = current_issuer()
    if request.method == "GET":
        return _render_form(
            issuer, achievement=None, current=None, values=_values_from_version(None)
        )
    values = _values_from_request()
    if request.form.get("preview"):
        return _render_form(issuer, achievement=None, current=None, values=values, preview=True)
    env = service_env()
    try:
        with refusal() as refused:
            data = achievement_input_from_form(
                request.form, request.files, current_image_id=None, now=env.now
            )
            created = achievement_service.create_achievement(issuer, data, actor=actor(), env=env)
    except FormInvalid as exc:
        errors = exc.errors
    else:
        if not refused:
            flash(f"Created “{data.name}”, version 1.")
            return redirect(
                url_for(".achievement", slug=issuer.slug, public_id=created.public_id), 303
            )
        errors = refused.messages()
    return _render_form(
        issuer, achievement=None, current=None, values=values, errors=errors, status=400
    )


@bp.get("/<slug>/achievements/<public_id>")
@workspace_view("viewer")
def achievement(slug: str, public_id: str) -> str:
    """One achievement: its current version, credential counts and version history."""
    issuer = current_issuer()
    found = achievement_service.get(issuer, public_id)
    version = achievement_service.current_version(found)
    history = achievement_service.history(found)
    authors = {
        v.created_by_id: org_queries.staff_account(v.created_by_id)
        for v, _ in history
        if v.created_by_id is not None
    }
    return render_template(
        "workspace/achievement.html",
        issuer=issuer,
        achievement=found,
        version=version,
        counts=credential_queries.counts(found, service_env().now),
        activity=analytics.for_achievement(found.id),
        history=history,
        authors=authors,
        labels=HISTORY_LABELS,
        image_link=image_link,
        format_number=format_number,
    )


@bp.route("/<slug>/achievements/<public_id>/edit", methods=["GET", "POST"])
@workspace_view("editor")
def edit_achievement(slug: str, public_id: str) -> Response | tuple[str, int]:
    """Edit an achievement: saving makes a new version; credentials already issued keep
    theirs. Saving without a change makes none."""
    issuer = current_issuer()
    found = achievement_service.get(issuer, public_id)
    current = achievement_service.current_version(found)
    if request.method == "GET":
        return _render_form(
            issuer, achievement=found, current=current, values=_values_from_version(current)
        )
    values = _values_from_request()
    if request.form.get("preview"):
        return _render_form(issuer, achievement=found, current=current, values=values, preview=True)
    env = service_env()
    number = current.version
    try:
        with refusal() as refused:
            data = achievement_input_from_form(
                request.form, request.files, current_image_id=current.image_id, now=env.now
            )
            saved = achievement_service.update_achievement(found, data, actor=actor(), env=env)
    except FormInvalid as exc:
        errors = exc.errors
    else:
        if not refused:
            flash_saved(saved.version, number, "new awards use")
            return redirect(
                url_for(".achievement", slug=issuer.slug, public_id=found.public_id), 303
            )
        errors = refused.messages()
    current = achievement_service.current_version(found)  # reloaded after the rollback
    return _render_form(
        issuer, achievement=found, current=current, values=values, errors=errors, status=400
    )


def flash_saved(version: int, previous: int, users: str) -> None:
    """Say what saving an achievement (or its award rules) made: a new version or none."""
    if version == previous:
        flash("Nothing changed, so no new version was made.")
    else:
        flash(
            f"Saved as version {version}. Credentials already issued keep version "
            f"{previous}; {users} version {version}."
        )


def _set_archived(public_id: str, archived: bool) -> Response:
    issuer = current_issuer()
    found = achievement_service.get(issuer, public_id)
    if (found.archived_at is not None) != archived:
        achievement_service.set_archived(found, archived, actor=actor(), env=service_env())
    name = achievement_service.current_version(found).name
    flash(
        f"Archived “{name}”: it can no longer be awarded; credentials already issued stay valid."
        if archived
        else f"Restored “{name}”: it can be awarded again."
    )
    return redirect(url_for(".achievement", slug=issuer.slug, public_id=public_id), 303)


@bp.post("/<slug>/achievements/<public_id>/archive")
@workspace_view("editor")
def archive_achievement(slug: str, public_id: str) -> Response:
    """Archive an achievement (no new awards; issued credentials stay valid)."""
    return _set_archived(public_id, True)


@bp.post("/<slug>/achievements/<public_id>/restore")
@workspace_view("editor")
def restore_achievement(slug: str, public_id: str) -> Response:
    """Restore an archived achievement."""
    return _set_archived(public_id, False)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> tuple[Any, int]:
    """A workspace upload over ``MAX_CONTENT_LENGTH``: refused before it is read, with a page
    that says what the limits are."""
    total = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    message = f"The upload is too large: a form may send at most {total:g} MB in all."
    if request.endpoint in IMAGE_FORMS:
        image = current_app.config["MAX_IMAGE_BYTES"] // 1024
        message += f" A badge image or logo may be at most {image:,} KB."
    message += " Go back, choose a smaller file and try again."
    if wants_json():
        return jsonify({"error": "upload_too_large", "message": message}), 413
    page = render_template(
        "errors/error.html", status=413, title="Upload too large", message=message
    )
    return page, 413
