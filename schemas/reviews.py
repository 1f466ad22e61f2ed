"""Submissions for a portfolio badge and reviewers' decisions: one schema each for the form and
a JSON body of the same operation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from schemas.fields import FormSchema

MAX_STATEMENT = 10_000
MAX_FEEDBACK = 10_000
MAX_ITEMS = 50
DECISIONS = ("approve", "request_changes", "decline")
_LEVEL_INPUT = re.compile(r"^level-([a-z0-9][a-z0-9-]{0,39})$")


def _no_nul(data: Any) -> None:
    if not isinstance(data, Mapping):
        return
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValidationError("Remove the NUL character.", str(key))


def _ids(message: str) -> fields.List[Any]:
    return fields.List(
        fields.String(validate=validate.Length(max=36)),
        load_default=list,
        validate=validate.Length(max=MAX_ITEMS, error=f"Choose at most {MAX_ITEMS} items."),
        error_messages={"invalid": message},
    )


class SubmissionSchema(FormSchema):
    """What an educator sends for review: the items (public ids), a statement, and the items
    they agree to publish as evidence (a subset of the items)."""

    items = _ids("Choose the items to submit.")
    statement = fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_STATEMENT, error=f"Keep the statement under {MAX_STATEMENT:,} characters."
        ),
    )
    publish = _ids("Choose the items to publish.")

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        if isinstance(data, Mapping) and isinstance(data.get("statement"), str):
            data = {**data, "statement": data["statement"].replace("\r\n", "\n")}
        return data

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        items = list(dict.fromkeys(i for i in data["items"] if i))
        if not items:
            raise ValidationError("Choose at least one portfolio item to submit.", "items")
        # Consent to publish only means something for an item that is being submitted.
        publish = [i for i in dict.fromkeys(data["publish"]) if i in items]
        return {"items": items, "statement": data["statement"], "publish": publish}


class DecisionSchema(FormSchema):
    """A reviewer's decision: approve, request changes or decline; written feedback; and the
    level chosen for each rubric criterion (``{criterion id: level id}``)."""

    decision = fields.String(
        required=True,
        validate=validate.OneOf(DECISIONS, error="Approve, ask for changes, or decline."),
        error_messages={"required": "Choose a decision."},
    )
    feedback = fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_FEEDBACK, error=f"Keep the feedback under {MAX_FEEDBACK:,} characters."
        ),
    )
    levels = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.Length(max=40)),
        load_default=dict,
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        if isinstance(data, Mapping) and isinstance(data.get("feedback"), str):
            data = {**data, "feedback": data["feedback"].replace("\r\n", "\n")}
        return data


def submission_form_data(form: Any) -> dict[str, Any]:
    """The schema's input from the submission form (a werkzeug ``MultiDict``: one checkbox per
    item and per consent to publish)."""
    return {
        "items": form.getlist("items"),
        "statement": form.get("statement", ""),
        "publish": form.getlist("publish"),
    }


def decision_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The schema's input from the review form: the pressed decision button, the feedback and
    one ``level-<criterion id>`` radio group per rubric criterion."""
    levels = {}
    for key, value in form.items():
        if (match := _LEVEL_INPUT.match(key)) and isinstance(value, str) and value:
            levels[match.group(1)] = value
    return {
        "decision": form.get("decision", ""),
        "feedback": form.get("feedback", ""),
        "levels": levels,
    }


def load_submission(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a submission (form data or JSON body).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = SubmissionSchema().load(data)
    return loaded


def load_decision(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a reviewer's decision (form data or JSON body).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = DecisionSchema().load(data)
    return loaded
