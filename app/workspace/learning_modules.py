"""Learning modules in the workspace: the list, create/edit (rules and achievement), publish,
the activities and prompts editor, the enrolments table, and cohort enrolment from a CSV file
(upload, preview a verdict per row, confirm). Editors build; awarders enrol; viewers look."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.forms import refusal
from app.models import Activity, Issuer, Module
from app.services.learning import authoring, cohorts, enrolments, partners
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.errors import flat_errors
from schemas.learning_modules import ActivitySchema, ModuleSchema, MoveSchema, PromptSchema

Errors = dict[str, list[str]]
#: The module form's inputs, as the form names them.
MODULE_FIELDS = (
    "title",
    "summary",
    "learning_outcomes",
    "achievement",
    "enrolment_mode",
    "requires_partner",
    "award_mode",
)


def _module(public_id: str) -> Module:
    return authoring.get_module(current_issuer(), public_id)


def _to_module(slug: str, module: Module, anchor: str | None = None) -> Response:
    return redirect(url_for(".module", slug=slug, module_id=module.public_id, _anchor=anchor), 303)


# --- list, create, edit, publish -------------------------------------------------------------


@bp.get("/<slug>/modules")
@workspace_view("viewer")
def modules_list(slug: str) -> str:
    """The issuer's modules with their state and enrolment counts."""
    issuer = current_issuer()
    rows = [(m, len(enrolments.table(m))) for m in authoring.list_modules(issuer)]
    return render_template("workspace/modules/list.html", issuer=issuer, rows=rows)


def _module_values(module: Module | None) -> dict[str, Any]:
    if module is None:
        return {"enrolment_mode": "open", "award_mode": "automatic", "requires_partner": True}
    achievement, _ = authoring.achievement_of(module)
    return {
        "title": module.title,
        "summary": module.summary,
        "learning_outcomes": "\n".join(module.learning_outcomes),
        "achievement": achievement.public_id,
        "enrolment_mode": module.enrolment_mode,
        "requires_partner": module.requires_partner,
        "award_mode": module.award_mode,
    }


def _module_form(
    issuer: Issuer,
    module: Module | None,
    values: Mapping[str, Any],
    errors: Errors | None = None,
    status: int = 200,
) -> tuple[str, int]:
    choices = [(a.public_id, v.name) for a, v in authoring.awardable_achievements(issuer)]
    if module is not None and values.get("achievement") not in {c[0] for c in choices}:
        # The module's achievement was archived meanwhile: show it, so the form says so.
        achievement, version = authoring.achievement_of(module)
        choices.append((achievement.public_id, f"{version.name} (archived)"))
    page = render_template(
        "workspace/modules/form.html",
        issuer=issuer,
        module=module,
        values=values,
        errors=errors or {},
        choices=choices,
    )
    return page, status


def _module_input() -> ModuleInput:
    """:raises ValidationError: for a form the schema refuses."""
    loaded = ModuleSchema().load(request.form.to_dict())
    return ModuleInput(
        title=loaded["title"],
        summary=loaded["summary"],
        achievement_public_id=loaded["achievement"],
        learning_outcomes=tuple(loaded["learning_outcomes"]),
        enrolment_mode=loaded["enrolment_mode"],
        requires_partner=loaded["requires_partner"],
        award_mode=loaded["award_mode"],
    )


def _submitted_values() -> dict[str, Any]:
    values: dict[str, Any] = {key: request.form.get(key, "") for key in MODULE_FIELDS}
    values["requires_partner"] = bool(request.form.get("requires_partner"))
    return values


@bp.route("/<slug>/modules/new", methods=["GET", "POST"])
@workspace_view("editor")
def new_module(slug: str) -> Response | tuple[str, int]:
    """Create a module (a draft until it is published)."""
    issuer = current_issuer()
    if request.method == "GET":
        return _module_form(issuer, None, _module_values(None))
    with refusal() as refused:
        created = authoring.create_module(issuer, _module_input(), actor=actor(), env=service_env())
    if refused:
        return _module_form(issuer, None, _submitted_values(), refused.messages(), 400)
    flash(f"Created “{created.title}”. Add its activities and prompts, then publish it.")
    return _to_module(slug, created)


def _answered_per_activity(module: Module) -> dict[int, int]:
    """How many answers each activity's prompts have had, by activity id."""
    answered = authoring.answered_counts(module)
    return {a.id: sum(answered.get(p.id, 0) for p in a.prompts) for a in module.activities}


@bp.get("/<slug>/modules/<module_id>")
@workspace_view("viewer")
def module(slug: str, module_id: str) -> str:
    """One module: its rules, activities and prompts, and its enrolments with their progress."""
    issuer = current_issuer()
    found = _module(module_id)
    achievement, version = authoring.achievement_of(found)
    env = service_env()
    return render_template(
        "workspace/modules/detail.html",
        issuer=issuer,
        module=found,
        achievement=achievement,
        version=version,
        answered_in=_answered_per_activity(found),
        rows=enrolments.table(found),
        prompt_count=authoring.prompt_count(found),
        partner_state=lambda enrolment: partners.partner_invitation_state(enrolment, env),
    )


@bp.route("/<slug>/modules/<module_id>/edit", methods=["GET", "POST"])
@workspace_view("editor")
def edit_module(slug: str, module_id: str) -> Response | tuple[str, int]:
    """Edit a module's description, achievement and completion rules."""
    issuer = current_issuer()
    found = _module(module_id)
    if request.method == "GET":
        return _module_form(issuer, found, _module_values(found))
    with refusal() as refused:
        authoring.update_module(found, _module_input(), actor=actor(), env=service_env())
    if refused:
        return _module_form(issuer, found, _submitted_values(), refused.messages(), 400)
    flash("Saved.")
    return _to_module(slug, found)


def _set_published(slug: str, module_id: str, published: bool) -> Response:
    found = _module(module_id)
    with refusal() as refused:
        authoring.set_published(found, published, actor=actor(), env=service_env())
    if not published:
        refused.flash("Unpublished: the module is a draft again; enrolled educators carry on.")
    elif found.enrolment_mode == "open":
        refused.flash("Published: educators can find it in their catalogue and enrol.")
    else:
        refused.flash("Published: you can now enrol a cohort.")
    return _to_module(slug, found)


@bp.post("/<slug>/modules/<module_id>/publish")
@workspace_view("editor")
def publish_module(slug: str, module_id: str) -> Response:
    """Publish a module."""
    return _set_published(slug, module_id, True)


@bp.post("/<slug>/modules/<module_id>/unpublish")
@workspace_view("editor")
def unpublish_module(slug: str, module_id: str) -> Response:
    """Take a module back to a draft."""
    return _set_published(slug, module_id, False)


# --- activities and prompts ------------------------------------------------------------------


def _activity_input() -> ActivityInput:
    """:raises ValidationError: for a form the schema refuses."""
    loaded = ActivitySchema().load(request.form.to_dict())
    return ActivityInput(
        title=loaded["title"],
        directions=loaded["directions"] or "",
        resources=tuple(loaded["resources"]),
    )


def _activity_form(
    module: Module,
    activity: Any,
    values: Mapping[str, Any],
    errors: Errors | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "workspace/modules/activity.html",
        issuer=current_issuer(),
        module=module,
        activity=activity,
        values=values,
        errors=errors or {},
        answered=authoring.answered_counts(module),
    )
    return page, status


def _activity_values(activity: Any) -> dict[str, str]:
    return {
        "title": activity.title,
        "directions": activity.directions,
        "resources": "\n".join(f"{r['title']} {r['url']}" for r in activity.resources),
    }


@bp.route("/<slug>/modules/<module_id>/activities/new", methods=["GET", "POST"])
@workspace_view("editor")
def new_activity(slug: str, module_id: str) -> Response | tuple[str, int]:
    """Add an activity at the end of the module."""
    found = _module(module_id)
    if request.method == "GET":
        return _activity_form(found, None, {})
    with refusal() as refused:
        created = authoring.add_activity(found, _activity_input(), actor=actor(), env=service_env())
    if refused:
        return _activity_form(found, None, request.form.to_dict(), refused.messages(), 400)
    flash(f"Added “{created.title}”. Now add its reflection prompts.")
    return redirect(
        url_for(".activity", slug=slug, module_id=module_id, activity_id=created.id), 303
    )


@bp.route("/<slug>/modules/<module_id>/activities/<int:activity_id>", methods=["GET", "POST"])
@workspace_view("editor")
def activity(slug: str, module_id: str, activity_id: int) -> Response | tuple[str, int]:
    """Edit an activity, and its prompts below it."""
    found = _module(module_id)
    chosen = authoring.get_activity(found, activity_id)
    if request.method == "GET":
        return _activity_form(found, chosen, _activity_values(chosen))
    with refusal() as refused:
        authoring.update_activity(chosen, _activity_input(), actor=actor(), env=service_env())
    if refused:
        return _activity_form(found, chosen, request.form.to_dict(), refused.messages(), 400)
    flash("Saved the activity.")
    return redirect(
        url_for(".activity", slug=slug, module_id=module_id, activity_id=activity_id), 303
    )


def _direction() -> str | None:
    try:
        direction: str = MoveSchema().load(request.form.to_dict())["direction"]
    except ValidationError as exc:
        flash(next(iter(flat_errors(exc, depth=1, first=True).values())), "error")
        return None
    return direction


@bp.post("/<slug>/modules/<module_id>/activities/<int:activity_id>/move")
@workspace_view("editor")
def move_activity(slug: str, module_id: str, activity_id: int) -> Response:
    """Move an activity up or down."""
    found = _module(module_id)
    chosen = authoring.get_activity(found, activity_id)
    direction = _direction()
    if direction:
        authoring.move_activity(chosen, direction, actor=actor(), env=service_env())
    return _to_module(slug, found, "activities")


@bp.post("/<slug>/modules/<module_id>/activities/<int:activity_id>/delete")
@workspace_view("editor")
def delete_activity(slug: str, module_id: str, activity_id: int) -> Response:
    """Delete an activity nobody has answered."""
    found = _module(module_id)
    chosen = authoring.get_activity(found, activity_id)
    title = chosen.title
    with refusal() as refused:
        authoring.delete_activity(chosen, actor=actor(), env=service_env())
    refused.flash(f"Deleted “{title}”.")
    return _to_module(slug, found, "activities")


def _save_prompt(
    slug: str,
    found: Module,
    activity: Activity,
    name: str,
    save: Callable[[str], None],
    done: str,
) -> Response | tuple[str, int]:
    """Validate a prompt's text and ``save`` it (a new prompt or an edit); when refused, the
    activity's page again with the text, and every complaint about it, at the input ``name``."""
    with refusal() as refused:
        save(PromptSchema().load(request.form.to_dict())["text"])
    if not refused:
        flash(done)
        return _back_to_activity(slug, found.public_id, activity.id)
    values = {**_activity_values(activity), name: request.form.get("text", "")}
    errors = {name: list(refused.errors().values())}
    return _activity_form(found, activity, values, errors, 400)


def _back_to_activity(slug: str, module_id: str, activity_id: int) -> Response:
    return redirect(
        url_for(
            ".activity", slug=slug, module_id=module_id, activity_id=activity_id, _anchor="prompts"
        ),
        303,
    )


@bp.post("/<slug>/modules/<module_id>/activities/<int:activity_id>/prompts")
@workspace_view("editor")
def add_prompt(slug: str, module_id: str, activity_id: int) -> Response | tuple[str, int]:
    """Add a reflection prompt to an activity."""
    found = _module(module_id)
    chosen = authoring.get_activity(found, activity_id)

    def add(text: str) -> None:
        authoring.add_prompt(chosen, text, actor=actor(), env=service_env())

    return _save_prompt(slug, found, chosen, "new_prompt", add, "Added the prompt.")


@bp.post("/<slug>/modules/<module_id>/prompts/<int:prompt_id>")
@workspace_view("editor")
def edit_prompt(slug: str, module_id: str, prompt_id: int) -> Response | tuple[str, int]:
    """Change a prompt's text (also after educators answered it)."""
    found = _module(module_id)
    prompt = authoring.get_prompt(found, prompt_id)

    def update(text: str) -> None:
        authoring.update_prompt(prompt, text, actor=actor(), env=service_env())

    return _save_prompt(
        slug, found, prompt.activity, f"prompt-{prompt.id}", update, "Saved the prompt."
    )


@bp.post("/<slug>/modules/<module_id>/prompts/<int:prompt_id>/move")
@workspace_view("editor")
def move_prompt(slug: str, module_id: str, prompt_id: int) -> Response:
    """Move a prompt up or down within its activity."""
    found = _module(module_id)
    prompt = authoring.get_prompt(found, prompt_id)
    direction = _direction()
    if direction:
        authoring.move_prompt(prompt, direction, actor=actor(), env=service_env())
    return _back_to_activity(slug, module_id, prompt.activity_id)


@bp.post("/<slug>/modules/<module_id>/prompts/<int:prompt_id>/delete")
@workspace_view("editor")
def delete_prompt(slug: str, module_id: str, prompt_id: int) -> Response:
    """Delete a prompt nobody has answered; an answered one is refused with a message."""
    found = _module(module_id)
    prompt = authoring.get_prompt(found, prompt_id)
    activity_id = prompt.activity_id
    with refusal() as refused:
        authoring.delete_prompt(prompt, actor=actor(), env=service_env())
    refused.flash("Deleted the prompt.")
    return _back_to_activity(slug, module_id, activity_id)


@bp.post("/<slug>/modules/<module_id>/enrolments/<int:enrolment_id>/partner/revoke")
@workspace_view("awarder")
def revoke_partner(slug: str, module_id: str, enrolment_id: int) -> Response:
    """Withdraw an educator's learning partner invitation (e.g. sent to the wrong person): its
    link stops working; the educator can invite again."""
    found = _module(module_id)
    enrolment = enrolments.enrolment_in(found, enrolment_id)
    with refusal() as refused:
        partners.revoke_partner(enrolment, actor=actor(), env=service_env())
    refused.flash(f"Withdrawn: the link sent to {enrolment.partner_name} no longer works.")
    return _to_module(slug, found, "enrolments")


# --- cohort enrolment ------------------------------------------------------------------------


def _cohort_page(
    module: Module,
    *,
    rows: list[cohorts.CohortRow] | None = None,
    data: str = "",
    filename: str = "",
    error: str | None = None,
) -> tuple[str, int]:
    page = render_template(
        "workspace/modules/cohort.html",
        issuer=current_issuer(),
        module=module,
        rows=rows,
        counts=cohorts.cohort_counts(rows) if rows is not None else {},
        verdicts=cohorts.COHORT_VERDICTS,
        data=data,
        filename=filename,
        error=error,
        max_rows=cohorts.MAX_COHORT_ROWS,
    )
    return page, 400 if error else 200


@bp.route("/<slug>/modules/<module_id>/cohort", methods=["GET", "POST"])
@workspace_view("awarder")
def cohort(slug: str, module_id: str) -> tuple[str, int]:
    """Upload a cohort file (``email``, ``name``) and preview a verdict for every row; nothing
    is stored until the preview is confirmed."""
    found = _module(module_id)
    if request.method == "GET":
        return _cohort_page(found)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _cohort_page(found, error="Choose a CSV file to upload.")
    data = upload.read()
    with refusal() as refused:
        rows = cohorts.cohort_preview(found, data)
    if refused:
        return _cohort_page(found, error=refused.message)
    filename = PurePosixPath(upload.filename.replace("\\", "/")).name
    # The confirmation sends the file back, byte for byte, and it is checked again then.
    encoded = base64.b64encode(data).decode("ascii")
    return _cohort_page(found, rows=rows, data=encoded, filename=filename)


@bp.post("/<slug>/modules/<module_id>/cohort/confirm")
@workspace_view("awarder")
def cohort_confirm(slug: str, module_id: str) -> Response | tuple[str, int]:
    """Enrol the rows of the previewed file that pass the checks, and email their invitations."""
    found = _module(module_id)
    try:
        data = base64.b64decode(request.form.get("data", ""), validate=True)
    except (ValueError, binascii.Error):
        data = b""
    if not data:
        return _cohort_page(
            found, error="The file did not come back with the form; upload it again."
        )
    with refusal() as refused:
        rows = cohorts.enrol_cohort(found, data, actor=actor(), env=service_env())
    if refused:
        return _cohort_page(found, error=refused.message)
    enrolled = sum(1 for r in rows if r.ok)
    flash(
        f"Enrolled {enrolled} educator{'' if enrolled == 1 else 's'} and emailed "
        f"{'their invitations' if enrolled != 1 else 'an invitation'}; "
        f"{len(rows) - enrolled} row{'' if len(rows) - enrolled == 1 else 's'} skipped."
    )
    return _to_module(slug, found, "enrolments")
