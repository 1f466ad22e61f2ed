"""Achievements in the workspace: the list, the create and edit forms (every edit is a new
version), the detail page with its version history, and archive / restore."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.errors import wants_json
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import Achievement, AchievementVersion, Issuer
from app.services.awarding import queries as credential_queries
from app.services.delivery import analytics
from app.services.org import achievements as achievement_service
from app.services.org import queries as org_queries
from app.services.org.achievement_labels import (
    ACHIEVEMENT_TYPE_LABELS,
    ALIGNMENT_TYPE_LABELS,
    COMMON_ACHIEVEMENT_TYPES,
    achievement_type_label,
)
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.achievement_forms import (
    FormInvalid,
    KeptImage,
    achievement_input_from_form,
    kept_upload,
)
from app.workspace.badge_designs import design_values, designer_context, preview_link
from credentials import ACHIEVEMENT_TYPES, ALIGNMENT_TARGET_TYPES
from schemas.achievements import ALIGNMENT_FIELDS, SUGGESTED_FRAMEWORKS, achievement_form_data

#: Blank alignment rows offered below the filled ones: one, so alignments are added one at a
#: time ("Add another alignment" offers the next, with JavaScript or by submitting the form).
SPARE_ALIGNMENT_ROWS = 1
#: The inputs under "More details" (the form opens that part when one of them is filled in).
MORE_DETAILS = (
    "achievement_type",
    "tags",
    "credits_available",
    "default_validity_days",
    "learning_outcomes",
    "criteria_url",
)
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
    "credits_available": "credit",
    "credit_unit": "credit unit",
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


def _with_rows(
    values: dict[str, Any], rows: list[dict[str, Any]], spare: int = SPARE_ALIGNMENT_ROWS
) -> dict[str, Any]:
    # Alignment rows as the form names their inputs (alignments-<n>-<field>), then spare rows.
    for index, row in enumerate(rows):
        for name in ALIGNMENT_FIELDS:
            values[f"alignments-{index}-{name}"] = row.get(name) or ""
    values["alignment_rows"] = len(rows) + spare
    values["filled_alignments"] = len(rows)
    return values


def _values_from_version(version: AchievementVersion | None) -> dict[str, Any]:
    if version is None:
        # A badge without an image looks broken in wallets, so a new one gets a generated image
        # unless the editor designs or uploads one.
        values = {
            "achievement_type": "Badge",
            "credit_unit": "clock_hours",
            "generate_image": True,
            "image_source": "generate",
        }
        return _with_rows({**values, **design_values(None)}, [])
    values = {
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        "criteria_url": version.criteria_url or "",
        "learning_outcomes": "\n".join(version.learning_outcomes),
        "achievement_type": version.achievement_type,
        "tags": ", ".join(version.tags),
        "credits_available": format_number(version.credits_available),
        "credit_unit": version.credit_unit or "",
        "default_validity_days": str(version.default_validity_days or ""),
        "generate_image": False,
        "image_source": "keep",
        **design_values(None),
    }
    return _with_rows(values, list(version.alignments))


def _values_from_request() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {key: form.get(key, "") for key in FIELD_LABELS if key != "image_id"}
    values["generate_image"] = bool(form.get("generate_image"))
    values["image_source"] = form.get("image_source") or (
        "generate" if values["generate_image"] else "keep"
    )
    values.update(design_values(form))
    if form.get("design_preset"):
        values["image_source"] = "design"
    # The non-blank rows in order: the schema's alignments[i] errors refer to the i-th of them.
    # "Add another alignment" without JavaScript submits the form for one more blank row.
    spare = SPARE_ALIGNMENT_ROWS + (1 if form.get("add_alignment") else 0)
    return _with_rows(values, achievement_form_data(form)["alignments"], spare)


def _only_shown() -> bool:
    # Buttons that show the form again without saving: the criteria preview, one more alignment
    # row, a designer colour preset (without JavaScript each of these submits the form).
    return any(request.form.get(name) for name in ("preview", "add_alignment", "design_preset"))


def _type_choices(chosen: str) -> list[tuple[str, list[str]]]:
    # The common types first, then the rest by name; an ext: type set through the API stays
    # selectable.
    others = sorted(
        (kind for kind in ACHIEVEMENT_TYPES if kind not in COMMON_ACHIEVEMENT_TYPES),
        key=achievement_type_label,
    )
    if chosen not in ACHIEVEMENT_TYPES:
        others.append(chosen)
    return [("Most used", list(COMMON_ACHIEVEMENT_TYPES)), ("All types", others)]


def _render_form(
    issuer: Issuer,
    *,
    achievement: Achievement | None,
    current: AchievementVersion | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    kept: KeptImage | None = None,
    preview: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    errors = errors or {}
    page = render_template(
        "workspace/achievement_form.html",
        issuer=issuer,
        achievement=achievement,
        current=current,
        current_image=image_link(current) if current is not None else None,
        values=values,
        errors=errors,
        error_links=_error_links(errors),
        kept=kept,
        preview=preview,
        design_preview=preview_link(issuer.slug, values),
        more_details_open=any(values.get(n) and values.get(n) != "Badge" for n in MORE_DETAILS)
        # The unit alone (clock hours on a new form) opens nothing; a complaint about it does.
        or any(n in errors for n in (*MORE_DETAILS, "credit_unit")),
        alignments_open=bool(values.get("filled_alignments"))
        or any(name.startswith("alignments") for name in errors)
        or values.get("alignment_rows", 0) > values.get("filled_alignments", 0) + 1,
        achievement_types=_type_choices(values.get("achievement_type") or "Badge"),
        type_labels=ACHIEVEMENT_TYPE_LABELS,
        alignment_types=ALIGNMENT_TARGET_TYPES,
        alignment_labels=ALIGNMENT_TYPE_LABELS,
        frameworks=SUGGESTED_FRAMEWORKS,
        max_image_kb=current_app.config["MAX_IMAGE_BYTES"] // 1024,
        **designer_context(),
    )
    return page, status


#: How the summary at the top of a refused form names each input it links to.
INPUT_LABELS = {
    "name": "Name",
    "description": "Description",
    "criteria_markdown": "What earns it",
    "criteria_url": "Criteria URL",
    "learning_outcomes": "Learning outcomes",
    "achievement_type": "Achievement type",
    "tags": "Tags",
    "credits_available": "Credit",
    "credit_unit": "Credit unit",
    "default_validity_days": "Default validity",
    "image": "Image file",
    "image_source": "Image",
    "generate_image": "Image",
    "design_shape": "Badge shape",
    "design_background": "Background colour",
    "design_border": "Border colour",
    "design_text_colour": "Text colour",
    "design_icon": "Icon",
    "design_line1": "First line",
    "design_line2": "Second line",
}
_ALIGNMENT_LABELS = {
    "target_name": "standard name",
    "target_url": "standard URL",
    "target_framework": "framework",
    "target_code": "code",
    "target_description": "description",
    "target_type": "type",
}


def _error_links(errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """``(input id, label, message)`` for each refused input, for the summary at the top."""
    links = []
    for name, messages in errors.items():
        if name == "_schema" or not messages:
            continue
        label = INPUT_LABELS.get(name)
        if label is None and name.startswith("alignments-") and name.count("-") == 2:
            _, index, field = name.split("-")
            label = f"Alignment {int(index) + 1}: {_ALIGNMENT_LABELS.get(field, field)}"
        links.append((name, label or name.replace("_", " ").capitalize(), messages[0]))
    return links


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
    if _only_shown():
        return _render_form(
            issuer,
            achievement=None,
            current=None,
            values=values,
            kept=kept_upload(request.form, request.files, service_env().now),
            preview=bool(request.form.get("preview")),
        )
    env = service_env()
    try:
        with refusal() as refused:
            data = achievement_input_from_form(
                request.form, request.files, current_image_id=None, now=env.now
            )
            created = achievement_service.create_achievement(issuer, data, actor=actor(), env=env)
    except FormInvalid as exc:
        errors, kept = exc.errors, exc.kept
    else:
        if not refused:
            flash(f"Created “{data.name}”, version 1.")
            return redirect(
                url_for(".achievement", slug=issuer.slug, public_id=created.public_id), 303
            )
        errors, kept = refused.messages(), None
    return _render_form(
        issuer, achievement=None, current=None, values=values, errors=errors, kept=kept, status=400
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
    if _only_shown():
        return _render_form(
            issuer,
            achievement=found,
            current=current,
            values=values,
            kept=kept_upload(request.form, request.files, service_env().now),
            preview=bool(request.form.get("preview")),
        )
    env = service_env()
    number = current.version
    try:
        with refusal() as refused:
            data = achievement_input_from_form(
                request.form, request.files, current_image_id=current.image_id, now=env.now
            )
            saved = achievement_service.update_achievement(found, data, actor=actor(), env=env)
    except FormInvalid as exc:
        errors, kept = exc.errors, exc.kept
    else:
        if not refused:
            flash_saved(saved.version, number, "new awards use")
            return redirect(
                url_for(".achievement", slug=issuer.slug, public_id=found.public_id), 303
            )
        errors, kept = refused.messages(), None
    current = achievement_service.current_version(found)  # reloaded after the rollback
    return _render_form(
        issuer,
        achievement=found,
        current=current,
        values=values,
        errors=errors,
        kept=kept,
        status=400,
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


def _set_archived(public_id: str, archived: bool) -> Response | str:
    issuer = current_issuer()
    found = achievement_service.get(issuer, public_id)
    if archived and found.archived_at is None and not confirmed():
        return _confirm_archive(issuer, found)
    if (found.archived_at is not None) != archived:
        achievement_service.set_archived(found, archived, actor=actor(), env=service_env())
    name = achievement_service.current_version(found).name
    flash(
        f"Archived “{name}”: it can no longer be awarded; credentials already issued stay valid."
        if archived
        else f"Restored “{name}”: it can be awarded again."
    )
    return redirect(url_for(".achievement", slug=issuer.slug, public_id=public_id), 303)


def _confirm_archive(issuer: Issuer, found: Achievement) -> str:
    """The confirm step of archiving: what stops, and what stays as it is."""
    name = achievement_service.current_version(found).name
    return confirm_page(
        Confirmation(
            title=f"Archive “{name}”?",
            warning="It stops being awarded at once.",
            undone=(
                "No one can be awarded it, by the form, a bulk upload, a module or a pathway, "
                "until it is restored. Credentials already issued stay valid and keep their "
                "pages; nothing already signed changes."
            ),
            action=url_for(".archive_achievement", slug=issuer.slug, public_id=found.public_id),
            button="Archive it",
            cancel=url_for(".achievement", slug=issuer.slug, public_id=found.public_id),
            facts=(("Achievement", name), ("Organisation", issuer.name)),
        )
    )


@bp.post("/<slug>/achievements/<public_id>/archive")
@workspace_view("editor")
def archive_achievement(slug: str, public_id: str) -> Response | str:
    """Archive an achievement (no new awards; issued credentials stay valid), after a confirm
    step."""
    return _set_archived(public_id, True)


@bp.post("/<slug>/achievements/<public_id>/restore")
@workspace_view("editor")
def restore_achievement(slug: str, public_id: str) -> Response | str:
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
