"""Individual learning plans: one schema per operation (a new plan, its vision, a goal, a
reflection, the showcase's selection, a staff comment, a declined completion, the organisation's
plan-completion achievement), for forms and JSON alike. Forms post lists as repeated inputs:
``plan_form_data`` turns a form into the schema's input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

#: The inputs a form may repeat (checkbox groups), read with ``getlist``.
LIST_INPUTS = ("standards", "modules", "achievements", "items", "credentials", "reflections")
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_ID = fields.String(validate=validate.Length(min=1, max=64))


def _text(label: str, limit: int, *, required: bool = False) -> fields.String:
    if required:
        return fields.String(
            required=True,
            validate=validate.Length(
                min=1, max=limit, error=f"Write the {label} (at most {limit:,} characters)."
            ),
            error_messages={"required": f"Write the {label}."},
        )
    return fields.String(
        load_default="",
        validate=validate.Length(max=limit, error=f"Keep the {label} under {limit:,} characters."),
    )


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        # Blank text inputs are absent (so required ones say so); text is stripped.
        if not isinstance(data, Mapping):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            cleaned[key] = value
        return cleaned


class NewPlanSchema(_Form):
    """A new plan: its school year (``2026-2027``) and the organisation (slug) planned with."""

    school_year = fields.String(
        required=True, error_messages={"required": "Choose the school year."}
    )
    organisation = fields.String(
        required=True,
        validate=validate.Length(max=64),
        error_messages={"required": "Choose the organisation whose framework you plan with."},
    )

    @validates("school_year")
    def _year(self, value: str, **kwargs: Any) -> None:
        match = _YEAR.match(value)
        if not match or int(match.group(2)) != int(match.group(1)) + 1:
            raise ValidationError("Enter a school year like 2026-2027.")
        if not 2000 <= int(match.group(1)) <= 2100:
            raise ValidationError("Enter a school year between 2000 and 2100.")


class VisionSchema(_Form):
    """The plan's vision statement and its optional action research question."""

    vision = _text("vision statement", 5000, required=True)
    research_question = _text("research question", 2000)


class GoalSchema(_Form):
    """A goal: what, the standards it is aligned to (keys of the organisation's framework), the
    modules and badges chosen toward it, the portfolio items that are its evidence so far, the
    evidence still to collect, and the target date."""

    title = _text("goal", 200, required=True)
    description = _text("description", 5000)
    standards = fields.List(_ID, load_default=list, validate=validate.Length(max=50))
    modules = fields.List(_ID, load_default=list, validate=validate.Length(max=50))
    achievements = fields.List(_ID, load_default=list, validate=validate.Length(max=50))
    items = fields.List(_ID, load_default=list, validate=validate.Length(max=100))
    evidence = _text("evidence to collect", 5000)
    target_date = fields.Date(
        load_default=None, error_messages={"invalid": "Enter a date like 2027-05-31."}
    )


class ReflectionSchema(_Form):
    """A dated reflection, optionally about one goal (its id), private unless shared."""

    body = _text("reflection", 10_000, required=True)
    written_on = fields.Date(
        required=True,
        error_messages={
            "invalid": "Enter a date like 2027-01-15.",
            "required": "Enter the day of the reflection.",
        },
    )
    goal = fields.Integer(load_default=None, strict=False)
    shared = fields.Boolean(load_default=False)


class ShowcaseSchema(_Form):
    """What the public showcase shows besides the plan: an introduction, and the portfolio
    items, credentials and reflections selected (nothing else is public)."""

    intro = _text("introduction", 2000)
    items = fields.List(_ID, load_default=list, validate=validate.Length(max=100))
    credentials = fields.List(_ID, load_default=list, validate=validate.Length(max=100))
    reflections = fields.List(fields.Integer(strict=False), load_default=list)


class CommentSchema(_Form):
    """A staff comment on a shared plan."""

    body = _text("comment", 5000, required=True)


class DeclineSchema(_Form):
    """Declining a plan-completion request: the reason the educator reads."""

    reason = _text("reason", 2000, required=True)


class CompletionSettingSchema(_Form):
    """The organisation's plan-completion achievement (public id; absent: none)."""

    achievement = fields.String(load_default=None, validate=validate.Length(max=64))


def plan_form_data(form: Any) -> dict[str, Any]:
    """The schemas' input from a posted form (a ``MultiDict``): repeated inputs as lists."""
    data: dict[str, Any] = {key: form.get(key) for key in form if key not in LIST_INPUTS}
    for key in LIST_INPUTS:
        values = [v for v in form.getlist(key) if str(v).strip()]
        if values or key in form:
            data[key] = values
    return data


def _load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = schema.load(data)
    return loaded


def load_new_plan(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(NewPlanSchema(), data)


def load_vision(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(VisionSchema(), data)


def load_goal(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(GoalSchema(), data)


def load_reflection(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(ReflectionSchema(), data)


def load_showcase(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(ShowcaseSchema(), data)


def load_comment(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(CommentSchema(), data)


def load_decline(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(DeclineSchema(), data)


def load_completion_setting(data: Mapping[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: per field."""
    return _load(CompletionSettingSchema(), data)
