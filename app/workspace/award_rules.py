"""An achievement's award rules in the workspace (editors): the rubric reviewers score (criteria
with levels, published as OB 3.0 ``resultDescription``s), whether educators may submit portfolio
items for it, and a pathway (N of a set of the issuer's other achievements earns it). Saving
makes a new version, like any edit.

The rubric editor works without JavaScript: adding or removing a criterion or a level posts the
form back and shows it again with the change, nothing saved until "Save".
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.forms import refusal
from app.models import Achievement, AchievementVersion
from app.services.org import achievements
from app.services.org.achievements import AwardRulesInput
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.achievements import flash_saved
from schemas.award_rules import (
    CRITERION_FIELDS,
    LEVEL_FIELDS,
    MAX_CRITERIA,
    MAX_LEVELS,
    award_rules_form_data,
    load_award_rules,
    rubric_rows,
)
from schemas.errors import flat_errors

#: Levels a new criterion starts with (most rubrics have three or four).
NEW_LEVELS = 3
#: Which input a service complaint belongs beside.
SERVICE_FIELDS = {
    "rubric": "rubric",
    "pathway_members": "pathway_members",
    "pathway_required": "pathway_required",
    "pathway_award_mode": "pathway_award_mode",
}


def _blank_level() -> dict[str, str]:
    return dict.fromkeys(LEVEL_FIELDS, "")


def _blank_criterion() -> dict[str, Any]:
    return {
        **dict.fromkeys(CRITERION_FIELDS, ""),
        "levels": [_blank_level() for _ in range(NEW_LEVELS)],
    }


def _values_from_version(version: AchievementVersion) -> dict[str, Any]:
    return {
        "rubric": [
            {
                "id": str(c.get("id") or ""),
                "name": str(c.get("name") or ""),
                "description": str(c.get("description") or ""),
                "levels": [
                    {name: str(level.get(name) or "") for name in LEVEL_FIELDS}
                    for level in c.get("levels", [])
                ],
            }
            for c in version.rubric or []
        ],
        "accepts_submissions": bool(version.accepts_submissions),
        "pathway_required": str(version.pathway_required or ""),
        "pathway_members": list(version.pathway_members or []),
        "pathway_award_mode": version.pathway_award_mode or "automatic",
    }


def _values_from_form(rows: list[dict[str, Any]]) -> dict[str, Any]:
    form = request.form
    return {
        "rubric": rows,
        "accepts_submissions": bool(form.get("accepts_submissions")),
        "pathway_required": form.get("pathway_required", ""),
        "pathway_members": form.getlist("pathway_members"),
        "pathway_award_mode": form.get("pathway_award_mode", "automatic"),
    }


def _apply(op: str, rows: list[dict[str, Any]]) -> str | None:
    """Apply an add/remove button to the rows; return what to announce (None: not an edit)."""
    name, _, where = op.partition(":")
    parts = [int(p) for p in where.split(":") if p.isdigit()]
    if name == "add_criterion" and len(rows) < MAX_CRITERIA:
        rows.append(_blank_criterion())
        return f"Added criterion {len(rows)}: fill it in, then save."
    if name == "remove_criterion" and len(parts) == 1 and parts[0] < len(rows):
        removed = rows.pop(parts[0])
        return f"Removed criterion “{removed.get('name') or parts[0] + 1}” (not saved yet)."
    if name == "add_level" and len(parts) == 1 and parts[0] < len(rows):
        levels = rows[parts[0]]["levels"]
        if len(levels) < MAX_LEVELS:
            levels.append(_blank_level())
        return f"Added a level to criterion {parts[0] + 1}."
    if name == "remove_level" and len(parts) == 2 and parts[0] < len(rows):
        levels = rows[parts[0]]["levels"]
        if parts[1] < len(levels):
            levels.pop(parts[1])
        return f"Removed a level of criterion {parts[0] + 1} (not saved yet)."
    return None


def _options(found: Achievement, chosen: list[str]) -> list[tuple[Achievement, AchievementVersion]]:
    # The issuer's other achievements; archived ones only when a pathway already names them.
    return [
        (a, v)
        for a, v in achievements.list_for(current_issuer(), include_archived=True)
        if a.id != found.id and (a.archived_at is None or a.public_id in chosen)
    ]


def _page(
    found: Achievement,
    version: AchievementVersion,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "workspace/award_rules.html",
        issuer=current_issuer(),
        achievement=found,
        version=version,
        values=values,
        errors=errors or {},
        notice=notice,
        options=_options(found, values["pathway_members"]),
        max_criteria=MAX_CRITERIA,
        max_levels=MAX_LEVELS,
    )
    return page, status


def _rules(data: dict[str, Any]) -> AwardRulesInput:
    return AwardRulesInput(
        rubric=tuple(data["rubric"]),
        accepts_submissions=data["accepts_submissions"],
        pathway_required=data["pathway_required"],
        pathway_members=tuple(data["pathway_members"]),
        pathway_award_mode=data["pathway_award_mode"],
    )


def _save_json(found: Achievement) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "bad_request", "message": "Send a JSON object."}), 400
    try:
        rules = _rules(load_award_rules(body))
    except ValidationError as error:
        return jsonify({"error": "invalid", "fields": flat_errors(error)}), 400
    with refusal() as refused:
        saved = achievements.update_award_rules(found, rules, actor=actor(), env=service_env())
    if refused:
        return jsonify({"error": "invalid", "fields": refused.messages()}), 400
    return jsonify({"version": saved.version})


@bp.route("/<slug>/achievements/<public_id>/rules", methods=["GET", "POST"])
@workspace_view("editor")
def award_rules(slug: str, public_id: str) -> ResponseReturnValue:
    """The Award rules page: rubric, portfolio submissions and pathway."""
    found = achievements.get(current_issuer(), public_id)
    current = achievements.current_version(found)
    if request.method == "GET":
        return _page(found, current, _values_from_version(current))
    if request.is_json:
        return _save_json(found)
    rows = rubric_rows(request.form)
    op = request.form.get("op", "save")
    if op != "save":
        notice = _apply(op, rows)
        return _page(found, current, _values_from_form(rows), notice=notice)
    data = award_rules_form_data(request.form)
    shown = _values_from_form(data["rubric"])  # without the blank rows, as validated
    try:
        rules = _rules(load_award_rules(data))
    except ValidationError as error:
        errors = flat_errors(error, first=True)
        return _page(found, current, shown, errors=errors, status=400)
    with refusal() as refused:
        saved = achievements.update_award_rules(found, rules, actor=actor(), env=service_env())
    if refused:
        current = achievements.current_version(found)  # reloaded after the rollback
        return _page(found, current, shown, errors=refused.errors(SERVICE_FIELDS), status=400)
    flash_saved(saved.version, current.version, "new awards and reviews use")
    return redirect(url_for(".achievement", slug=slug, public_id=public_id), 303)
