"""Making an API token: its name, scopes and expiry, from the workspace form (or a JSON body)."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.fields import FormSchema, required_text

#: The scopes a token may hold (``app.models.API_SCOPES``; schemas may not import the app).
SCOPES = (
    "achievements:read",
    "achievements:write",
    "awards:write",
    "credentials:read",
    "credentials:revoke",
    "staff:write",
    "audit:read",
)


class TokenSchema(FormSchema):
    """A new token: a name saying what uses it, at least one scope, and an optional expiry
    date (valid through that day, UTC)."""

    name = required_text("Name the token, e.g. after the system that will use it.", max_length=100)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES, error="Choose scopes from the list.")),
        required=True,
        validate=validate.Length(min=1, error="Choose at least one scope."),
        error_messages={"required": "Choose at least one scope."},
    )
    expires = fields.Date(
        load_default=None, error_messages={"invalid": "Enter a date like 2027-06-30."}
    )
