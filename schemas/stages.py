"""Staged assessment forms: an achievement's plan of stages, and a reviewer's decision at one
stage (with a rating and feedback per rubric criterion at the assessment)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate

from schemas.fields import FormSchema

MAX_FEEDBACK = 10_000
MAX_DAYS = 60
MAX_ATTEMPTS = 20
STAGES = ("completeness", "assessment", "approval")
DECISIONS = ("complete", "return", "rate", "approve")
RATINGS = ("demonstrated", "not_yet")
_CRITERION = r"([a-z0-9][a-z0-9-]{0,39})"
_RATING_INPUT = re.compile(rf"^rating-{_CRITERION}$")
_FEEDBACK_INPUT = re.compile(rf"^feedback-{_CRITERION}$")


def _feedback() -> fields.String:
    return fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_FEEDBACK, error=f"Keep the feedback under {MAX_FEEDBACK:,} characters."
        ),
    )


def _no_nul(data: Any) -> None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            inner = value.values() if isinstance(value, Mapping) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in inner):
                raise ValidationError("Remove the NUL character.", str(key))


class PlanSchema(FormSchema):
    """Whether the achievement's submissions go through stages, which optional ones, and how
    many working days each stage may take (and the reminder before)."""

    enabled = fields.Boolean(load_default=False)
    completeness = fields.Boolean(load_default=False)
    approval = fields.Boolean(load_default=False)
    due_working_days = fields.Integer(
        load_default=5,
        validate=validate.Range(1, MAX_DAYS, error=f"Give between 1 and {MAX_DAYS} working days."),
        error_messages={"invalid": "Give a whole number of working days."},
    )
    remind_working_days = fields.Integer(
        load_default=1,
        validate=validate.Range(0, MAX_DAYS, error="Give a whole number of working days."),
        error_messages={"invalid": "Give a whole number of working days."},
    )
    max_attempts = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(
            1, MAX_ATTEMPTS, error=f"Allow between 1 and {MAX_ATTEMPTS} attempts, or no limit."
        ),
        error_messages={"invalid": "Give a whole number of attempts, or leave it empty."},
    )
    coach_id = fields.Integer(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "Choose a coach from the list."},
    )


class StageDecisionSchema(FormSchema):
    """A reviewer's decision at one stage."""

    stage = fields.String(
        required=True,
        validate=validate.OneOf(STAGES, error="Decide one of the stages."),
        error_messages={"required": "Decide one of the stages."},
    )
    decision = fields.String(
        required=True,
        validate=validate.OneOf(DECISIONS, error="Choose a decision."),
        error_messages={"required": "Choose a decision."},
    )
    feedback = _feedback()
    ratings = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.OneOf(RATINGS, error="Demonstrated or not yet.")),
        load_default=dict,
    )
    criterion_feedback = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.Length(max=MAX_FEEDBACK)),
        load_default=dict,
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        return data


def plan_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The plan schema's input from the form (unticked boxes send nothing)."""
    return {
        "enabled": form.get("enabled") == "1",
        "completeness": form.get("completeness") == "1",
        "approval": form.get("approval") == "1",
        "due_working_days": form.get("due_working_days", "").strip() or "5",
        "remind_working_days": form.get("remind_working_days", "").strip() or "0",
        "max_attempts": form.get("max_attempts", "").strip() or None,
        "coach_id": form.get("coach_id", "").strip() or None,
    }


def stage_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The decision schema's input from a stage form: the pressed button, the stage, the
    overall feedback, and ``rating-<criterion>`` / ``feedback-<criterion>`` per criterion."""
    ratings, feedback = {}, {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if (match := _RATING_INPUT.match(key)) and value:
            ratings[match.group(1)] = value
        elif match := _FEEDBACK_INPUT.match(key):
            feedback[match.group(1)] = value.replace("\r\n", "\n")
    return {
        "stage": form.get("stage", ""),
        "decision": form.get("decision", ""),
        "feedback": form.get("feedback", "").replace("\r\n", "\n"),
        "ratings": ratings,
        "criterion_feedback": feedback,
    }


def load_plan(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a plan. :raises ValidationError: with the problems per field."""
    loaded: dict[str, Any] = PlanSchema().load(data)
    return loaded


def load_stage_decision(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a stage decision. :raises ValidationError: with the problems per field."""
    loaded: dict[str, Any] = StageDecisionSchema().load(data)
    return loaded


class ReleaseSchema(FormSchema):
    """A coach's note when releasing a referred submission."""

    note = _feedback()

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        return data


def load_release(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a release. :raises ValidationError: with the problems per field."""
    loaded: dict[str, Any] = ReleaseSchema().load(data)
    return loaded


class PoolSettingsSchema(FormSchema):
    """How an achievement's assessor pool works: assignment, the share scored by two assessors
    blind, and the agreement a peer needs on the calibration set."""

    assignment = fields.String(
        required=True,
        validate=validate.OneOf(("round_robin", "load"), error="Assign round-robin or by load."),
        error_messages={"required": "Assign round-robin or by load."},
    )
    double_share = fields.Integer(
        load_default=0,
        validate=validate.Range(0, 100, error="Give a percentage from 0 to 100."),
        error_messages={"invalid": "Give a whole percentage from 0 to 100."},
    )
    training_threshold = fields.Integer(
        load_default=80,
        validate=validate.Range(1, 100, error="Give a percentage from 1 to 100."),
        error_messages={"invalid": "Give a whole percentage from 1 to 100."},
    )


def load_pool_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an assessor pool's settings. :raises ValidationError: per field."""
    loaded: dict[str, Any] = PoolSettingsSchema().load(data)
    return loaded


class ChoiceSchema(FormSchema):
    """One thing chosen on the assessor pool pages: a staff member, a pool member, a
    calibration submission (by id), or an educator's email address to invite."""

    choice = fields.Integer(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "Choose one from the list."},
    )
    email = fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=320),
        error_messages={"invalid": "Give an email address."},
    )
    submission = fields.String(load_default="", validate=validate.Length(max=64))
    action = fields.String(load_default="", validate=validate.Length(max=16))


def load_choice(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a choice on the assessor pool pages. :raises ValidationError: per field."""
    loaded: dict[str, Any] = ChoiceSchema().load(
        {k: (v.strip() or None) if k in ("choice", "email") else v for k, v in data.items()}
    )
    return loaded
