"""The one error flattener: every shape the forms, CSV rows and JSON answers ask of it."""

from __future__ import annotations

from marshmallow import ValidationError

from schemas.errors import flat_errors

NESTED = {
    "email": ["Give an email address.", "Not an email address."],
    "evidence": {1: {"url": ["Must start with https://."]}, 2: {"_schema": ["Empty row."]}},
    "_schema": ["Choose an expiry or say it never expires."],
}


def test_paths_are_dashed_for_forms_and_dotted_on_request() -> None:
    error = ValidationError(NESTED)
    assert flat_errors(error) == {
        "email": ["Give an email address.", "Not an email address."],
        "evidence-1-url": ["Must start with https://."],
        "evidence-2-_schema": ["Empty row."],
        "_schema": ["Choose an expiry or say it never expires."],
    }
    assert set(flat_errors(error, separator=".")) == {
        "email",
        "evidence.1.url",
        "evidence.2._schema",
        "_schema",
    }


def test_first_keeps_one_message_per_field_and_depth_folds_nested_fields() -> None:
    error = ValidationError(NESTED)
    assert flat_errors(error, first=True)["email"] == "Give an email address."
    assert flat_errors(error, depth=1, first=True) == {
        "email": "Give an email address.",
        "evidence": "Must start with https://.",
        "_schema": "Choose an expiry or say it never expires.",
    }


def test_a_fields_own_messages_come_before_those_nested_under_it() -> None:
    messages = {"rubric": [{"name": ["Name it."]}, "At most 10 criteria."]}
    assert flat_errors(messages, depth=1) == {"rubric": ["At most 10 criteria.", "Name it."]}


def test_a_bare_message_is_about_the_whole_input() -> None:
    assert flat_errors(ValidationError("Not an object.")) == {"_schema": ["Not an object."]}
