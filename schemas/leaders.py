"""Schools, leaders and PD goals: the schools page's forms, the leaders' dashboard filters and
the PD goal form."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

#: The evaluation measures a PD goal may use (the model's GOAL_MEASURES).
MEASURES = ("percent_earned", "credentials_earned", "enrolments_completed")
#: At most this many standards typed for one goal.
MAX_STANDARDS = 20


def _required_text(limit: int, message: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error=message),
            validate.Length(max=limit, error=f"At most {limit:,} characters."),
        ],
        error_messages={"required": message, "null": message},
    )


class SchoolSchema(Schema):
    """Add or rename a school."""

    class Meta:
        unknown = EXCLUDE

    name = _required_text(200, "Give the school a name.")


class AppointLeaderSchema(Schema):
    """Appoint a leader by address: of one school (its public id) or, with no school, of the
    whole organisation. The name is for the account an invitation makes."""

    class Meta:
        unknown = EXCLUDE

    email = fields.Email(
        required=True,
        error_messages={
            "required": "Give their email address.",
            "invalid": "Give an email address.",
        },
    )
    name = fields.String(load_default="", validate=validate.Length(max=200))
    school = fields.String(load_default="", validate=validate.Length(max=36))

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        return {k: (v.strip() if isinstance(v, str) else v) for k, v in dict(data).items()}


class FiltersSchema(Schema):
    """The dashboard's filters, from the query string: school (public id), job role, school
    year, or a period from one day to another (inclusive)."""

    class Meta:
        unknown = EXCLUDE

    school = fields.String(load_default=None, validate=validate.Length(max=36))
    role = fields.String(load_default=None, validate=validate.Length(max=60))
    year = fields.Integer(
        load_default=None,
        strict=False,
        validate=validate.Range(min=2000, max=2100, error="Choose a school year."),
        error_messages={"invalid": "Choose a school year."},
    )
    start = fields.Date(
        load_default=None, data_key="from", error_messages={"invalid": "Give a date as YYYY-MM-DD."}
    )
    end = fields.Date(
        load_default=None, data_key="to", error_messages={"invalid": "Give a date as YYYY-MM-DD."}
    )

    @pre_load
    def _blank_to_none(self, data: Any, **kwargs: Any) -> Any:
        return {k: (v.strip() or None if isinstance(v, str) else v) for k, v in dict(data).items()}


class PdGoalSchema(Schema):
    """A PD goal: the school year, the need, the goal, its standards (chosen and typed), the
    modules and achievements that serve it, and the measure with its target."""

    class Meta:
        unknown = EXCLUDE

    school_year = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=2000, max=2100, error="Choose a school year."),
        error_messages={"required": "Choose a school year.", "invalid": "Choose a school year."},
    )
    need = _required_text(2000, "Say which need the goal answers.")
    goal = _required_text(500, "Write the goal.")
    standards = fields.List(
        fields.String(validate=validate.Length(max=200, error="At most 200 characters each.")),
        load_default=list,
        validate=validate.Length(max=MAX_STANDARDS, error=f"At most {MAX_STANDARDS} standards."),
    )
    module_ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list)
    achievement_ids = fields.List(
        fields.String(validate=validate.Length(max=36)), load_default=list
    )
    measure = fields.String(
        required=True,
        validate=validate.OneOf(MEASURES, error="Choose how the goal is measured."),
        error_messages={"required": "Choose how the goal is measured."},
    )
    target = fields.Float(
        required=True,
        validate=validate.Range(
            min=0, min_inclusive=False, max=1_000_000, error="Give a target above zero."
        ),
        error_messages={
            "required": "Give a target.",
            "null": "Give a target.",
            "invalid": "Give the target as a number.",
        },
    )


def goal_form_data(form: Any) -> dict[str, Any]:
    """The goal form's values for :class:`PdGoalSchema`: the standards ticked plus those typed,
    one a line."""
    typed = [line.strip() for line in (form.get("other_standards") or "").splitlines()]
    return {
        "school_year": form.get("school_year"),
        "need": form.get("need", ""),
        "goal": form.get("goal", ""),
        "standards": [s for s in form.getlist("standards") + typed if s and s.strip()],
        "module_ids": form.getlist("module_ids"),
        "achievement_ids": form.getlist("achievement_ids"),
        "measure": form.get("measure"),
        "target": form.get("target") or None,
    }
