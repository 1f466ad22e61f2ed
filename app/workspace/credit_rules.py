"""Credit rules for renewal (owners and editors): the list, a form started from a preset or
blank, editing and deleting. Educators see their progress at ``/me/renewal``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.forms import refusal
from app.models import CreditRule
from app.services.learning import credit_rules
from app.services.org import achievements
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.credit_rules import (
    CONVERSIONS,
    MAX_CATEGORIES,
    PRESETS,
    credit_rule_form_data,
    load_credit_rule,
)
from schemas.errors import flat_errors

#: Blank category rows a form offers below the filled ones.
SPARE_ROWS = 2


def _values(rule: CreditRule | None, preset: str | None, today: str) -> dict[str, Any]:
    """What the form shows first: the rule, a preset, or a blank rule starting today."""
    if rule is not None:
        source: dict[str, Any] = {
            "name": rule.name,
            "cycle_years": rule.cycle_years,
            "cycle_start": rule.cycle_start.isoformat(),
            "hours_required": rule.hours_required,
            "categories": rule.categories,
            "conversions": rule.conversions,
        }
    else:
        source = PRESETS.get(preset or "", {"conversions": {"ceu": 15, "points": 1}})
    values: dict[str, Any] = {
        "name": source.get("name", ""),
        "cycle_years": _number(source.get("cycle_years")),
        "cycle_start": source.get("cycle_start", today),
        "hours_required": _number(source.get("hours_required")),
        **{k: _number((source.get("conversions") or {}).get(k)) for k in CONVERSIONS},
    }
    rows = [
        {
            "name": c.get("name", ""),
            "minimum": _number(c.get("minimum")),
            "achievements": list(c.get("achievements", [])),
        }
        for c in source.get("categories", [])
    ]
    values["rows"] = _with_spares(rows)
    return values


def _with_spares(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spare = {"name": "", "minimum": "", "achievements": []}
    return (rows + [dict(spare) for _ in range(SPARE_ROWS)])[:MAX_CATEGORIES]


def _number(value: Any) -> str:
    if value is None or value == "":
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _submitted() -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema's input and the values to show again, from the posted form."""
    form = request.form
    ticked = {
        index: form.getlist(f"category-{index}-achievements") for index in range(MAX_CATEGORIES)
    }
    data = credit_rule_form_data(form, ticked)
    values: dict[str, Any] = {
        k: form.get(k, "")
        for k in ("name", "cycle_years", "cycle_start", "hours_required", *CONVERSIONS)
    }
    rows = [
        {
            "name": form.get(f"category-{i}-name", ""),
            "minimum": form.get(f"category-{i}-minimum", ""),
            "achievements": ticked[i],
        }
        for i in range(MAX_CATEGORIES)
        if f"category-{i}-name" in form
    ]
    values["rows"] = rows or _with_spares([])
    return data, values


def _errors(invalid: ValidationError, data: dict[str, Any]) -> dict[str, str]:
    """Schema errors by the form's input names (``category-<row>-name``)."""
    sent_rows = [
        i
        for i in range(MAX_CATEGORIES)
        if request.form.get(f"category-{i}-name", "").strip()
        or request.form.get(f"category-{i}-minimum", "").strip()
    ]
    errors: dict[str, str] = {}
    for path, message in flat_errors(invalid, separator="-", first=True).items():
        parts = path.split("-")
        if parts[0] == "categories" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            row = sent_rows[index] if index < len(sent_rows) else index
            errors.setdefault(f"category-{row}-{parts[2]}", message)
        else:
            errors.setdefault(parts[0], message)
    return errors


def _form_page(
    rule: CreditRule | None, values: dict[str, Any], errors: dict[str, str]
) -> ResponseReturnValue:
    issuer = current_issuer()
    page = render_template(
        "workspace/credit_rule_form.html",
        issuer=issuer,
        rule=rule,
        values=values,
        errors=errors,
        presets=PRESETS,
        achievements=achievements.list_for(issuer),
    )
    return (page, 400) if errors else page


def _save(rule: CreditRule | None) -> ResponseReturnValue:
    env = service_env()
    data, values = _submitted()
    with refusal() as refused:
        loaded = load_credit_rule(data)
        if rule is None:
            rule = credit_rules.create(current_issuer(), loaded, actor=actor(), env=env)
            flash(f"Saved the credit rules “{rule.name}”.")
        else:
            credit_rules.update(rule, loaded, actor=actor(), env=env)
            flash(f"Saved the changes to “{rule.name}”.")
        return redirect(url_for(".credit_rules", slug=current_issuer().slug))
    invalid = refused.invalid
    return _form_page(rule, values, _errors(invalid, data) if invalid else refused.errors())


@bp.route("/<slug>/credit-rules", methods=["GET"], endpoint="credit_rules")
@workspace_view("editor")
def credit_rules_page(slug: str) -> ResponseReturnValue:
    """The organisation's credit rules."""
    issuer = current_issuer()
    names = {a.public_id: v.name for a, v in achievements.list_for(issuer, include_archived=True)}
    return render_template(
        "workspace/credit_rules.html",
        issuer=issuer,
        rules=credit_rules.list_for(issuer),
        names=names,
        presets=PRESETS,
    )


@bp.route("/<slug>/credit-rules/new", methods=["GET", "POST"])
@workspace_view("editor")
def new_credit_rule(slug: str) -> ResponseReturnValue:
    """A form for new rules, from a preset (``?preset=``) or blank."""
    if request.method == "POST":
        return _save(None)
    today = credit_rules.now_date(service_env()).isoformat()
    return _form_page(None, _values(None, request.args.get("preset"), today), {})


@bp.route("/<slug>/credit-rules/<rule_id>", methods=["GET", "POST"])
@workspace_view("editor")
def edit_credit_rule(slug: str, rule_id: str) -> ResponseReturnValue:
    """Edit rules."""
    rule = credit_rules.get(current_issuer(), rule_id)
    if request.method == "POST":
        return _save(rule)
    return _form_page(rule, _values(rule, None, ""), {})


@bp.route("/<slug>/credit-rules/<rule_id>/delete", methods=["POST"])
@workspace_view("editor")
def delete_credit_rule(slug: str, rule_id: str) -> ResponseReturnValue:
    """Delete rules (credentials and their hours are untouched)."""
    rule = credit_rules.get(current_issuer(), rule_id)
    name = rule.name
    credit_rules.delete(rule, actor=actor(), env=service_env())
    flash(f"Deleted the credit rules “{name}”.")
    return redirect(url_for(".credit_rules", slug=slug))
