"""Shared pieces of the form schemas: a base that tidies HTML form input, and common fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

#: The longest email address RFC 5321 allows (and the database stores).
MAX_EMAIL = 320
#: Longer passwords are refused before hashing, so a huge one cannot tie up the server.
MAX_PASSWORD = 1024


class Password(fields.String):
    """A password: never trimmed (spaces at either end are part of it)."""


class FormSchema(Schema):
    """Base of the schemas that read HTML forms.

    Browsers send every field as text, blank ones included, plus the CSRF token and the button
    pressed. So: fields the schema does not name are ignored, text is trimmed (passwords
    excepted), and a blank field counts as absent: an optional one takes its default and a
    required one reports its ``required`` message.
    """

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _tidy(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # marshmallow reports the wrong input type itself
        tidy: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                if not isinstance(self.fields.get(key), Password):
                    value = value.strip()
                if value == "":
                    continue
            tidy[key] = value
        return tidy


def required_text(message: str, *, max_length: int) -> fields.String:
    """A required text field; ``message`` is shown when it is left blank."""
    return fields.String(
        required=True,
        validate=validate.Length(max=max_length, error=f"Use at most {max_length} characters."),
        error_messages={"required": message},
    )


def optional_text(*, max_length: int) -> fields.String:
    """An optional text field (blank means ``None``)."""
    return fields.String(
        load_default=None,
        validate=validate.Length(max=max_length, error=f"Use at most {max_length} characters."),
    )


def email_address(*, required: bool, message: str = "Enter an email address.") -> fields.Email:
    """An email address field; ``message`` is shown when a required one is left blank."""
    extra: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.Email(
        validate=validate.Length(max=MAX_EMAIL, error="That email address is too long."),
        error_messages={
            "required": message,
            "invalid": "Enter an email address like name@example.org.",
        },
        **extra,
    )


def password_field(message: str = "Enter a password.") -> Password:
    """A required password field (not trimmed; length-capped before anything hashes it)."""
    return Password(
        required=True,
        validate=validate.Length(max=MAX_PASSWORD, error="That password is too long."),
        error_messages={"required": message},
    )


def web_address(*, max_length: int = 500) -> fields.URL:
    """An optional absolute ``http``/``https`` URL (no ``javascript:``, ``data:`` or the like)."""
    return fields.URL(
        schemes={"http", "https"},
        load_default=None,
        validate=validate.Length(max=max_length, error=f"Use at most {max_length} characters."),
        error_messages={"invalid": "Enter a web address starting with https:// or http://."},
    )
