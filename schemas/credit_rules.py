"""Credit rules for renewal: the workspace form's input (categories as numbered rows), and the
presets an organisation starts from (data, edited after choosing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

#: At most this many categories (and so category rows read from a form).
MAX_CATEGORIES = 12
#: What a conversion turns into hours: one CEU, one PD point, one micro-credential that
#: carries no credit of its own.
CONVERSIONS = ("ceu", "points", "micro_credential")
_CATEGORY_INPUT = re.compile(r"^category-(\d{1,2})-(name|minimum)$")

#: Starting points, not any state's rules: the renewal figures the issue names (a 5-year cycle
#: of 50 clock hours, 36 hours a year, 1 CEU = 15 contact hours, a micro-credential counted as
#: 10 PD points). An organisation picks one and edits it to the rules it renews under.
PRESETS: dict[str, dict[str, Any]] = {
    "five-year-50": {
        "label": "5-year cycle, 50 clock hours",
        "name": "Licence renewal: 50 clock hours in 5 years",
        "cycle_years": 5,
        "hours_required": 50,
        "categories": [
            {"name": "Literacy", "minimum": 10},
            {"name": "Special education", "minimum": 5},
        ],
        "conversions": {"ceu": 15, "points": 1, "micro_credential": 10},
    },
    "annual-36": {
        "label": "Every year, 36 hours",
        "name": "Annual professional learning: 36 hours",
        "cycle_years": 1,
        "hours_required": 36,
        "categories": [{"name": "Technology", "minimum": 6}],
        "conversions": {"ceu": 15, "points": 1, "micro_credential": 10},
    },
    "points-100": {
        "label": "5-year cycle, 100 PD points (a micro-credential is 10)",
        "name": "Renewal: 100 PD points in 5 years",
        "cycle_years": 5,
        "hours_required": 100,
        "categories": [],
        "conversions": {"ceu": 10, "points": 1, "micro_credential": 10},
    },
}

_HOURS: dict[str, str | list[Any] | dict[Any, Any]] = {
    "invalid": "Enter a number, like 10 or 7.5.",
    "special": "Enter a number, like 10 or 7.5.",
}


def _hours(required: bool = False, load_default: Any = None) -> fields.Float:
    if required:
        return fields.Float(
            required=True,
            allow_nan=False,
            validate=validate.Range(min=0, max=10_000, error="Enter between 0 and 10,000."),
            error_messages={**_HOURS, "required": "Enter the hours required."},
        )
    return fields.Float(
        load_default=load_default,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=10_000, error="Enter between 0 and 10,000."),
        error_messages=_HOURS,
    )


class CategorySchema(Schema):
    """A category: its name, the hours it needs at least, and the achievements counted in it
    (their public ids; which exist is checked by the service)."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100, error="Give the category a name (at most 100)."),
        error_messages={"required": "Give the category a name."},
    )
    minimum = _hours(load_default=0)
    achievements = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list)


class CreditRuleSchema(Schema):
    """A credit rule, from the workspace form (see :func:`credit_rule_form_data`)."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200, error="Give the rules a name (at most 200)."),
        error_messages={"required": "Give the rules a name, like the licence they renew."},
    )
    cycle_years = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=10, error="A cycle is 1 to 10 years."),
        error_messages={
            "invalid": "Enter a whole number of years.",
            "required": "Enter the cycle's length in years.",
        },
    )
    cycle_start = fields.Date(
        required=True,
        error_messages={
            "invalid": "Enter a date like 2025-07-01.",
            "required": "Enter the day the current cycle began.",
        },
    )
    hours_required = _hours(required=True)
    categories = fields.List(
        fields.Nested(CategorySchema),
        load_default=list,
        validate=validate.Length(max=MAX_CATEGORIES, error="At most 12 categories."),
    )
    ceu = _hours(load_default=15)
    points = _hours(load_default=1)
    micro_credential = _hours(load_default=0)

    @pre_load
    def _blanks(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}


def credit_rule_form_data(
    form: Mapping[str, Any], achievements: Mapping[int, list[str]]
) -> dict[str, Any]:
    """The schema's input from a flat HTML form: ``category-<n>-name`` / ``-minimum`` rows
    (blank rows dropped, order kept) and ``achievements`` (``achievements[n]``: the ids ticked
    for row n)."""
    data: dict[str, Any] = {
        name: form.get(name)
        for name in ("name", "cycle_years", "cycle_start", "hours_required", *CONVERSIONS)
        if name in form
    }
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        match = _CATEGORY_INPUT.match(str(key))
        if match and int(match.group(1)) < MAX_CATEGORIES:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(key)
    categories = []
    for index in sorted(rows):
        row = rows[index]
        if not str(row.get("name") or "").strip() and not str(row.get("minimum") or "").strip():
            continue
        minimum = str(row.get("minimum") or "").strip()
        categories.append(
            {
                "name": str(row.get("name") or "").strip(),
                "minimum": minimum or 0,
                "achievements": list(achievements.get(index, [])),
            }
        )
    data["categories"] = categories
    return data


def load_credit_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a credit rule.

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = CreditRuleSchema().load(data)
    names = [c["name"].strip().lower() for c in loaded["categories"]]
    if len(set(names)) != len(names):
        raise ValidationError({"categories": ["Give each category a different name."]})
    return loaded
