"""Issuer profile edits and key rotation requests: one schema each, for the form or a JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

#: Proof formats for new credentials: Data Integrity ``eddsa-rdfc-2022`` or VC-JWT ES256 (the
#: same values as ``app.models.issuer.PROOF_FORMATS``; schemas may not import the app).
PROOF_FORMATS = ("di", "jwt")
#: Key types an issuer holds (``app.services.issuers.KEY_TYPES``).
KEY_TYPES = ("ed25519", "p256")
_OPTIONAL = ("url", "email", "description")


class ProfileSchema(Schema):
    """The editable parts of an issuer's public profile, plus whether to remove the logo.

    Loads to a dict with ``IssuerProfileInput``'s keys and ``remove_logo``.
    """

    class Meta:
        unknown = EXCLUDE

    name = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error="The organisation needs a name."),
            validate.Length(max=200, error="At most 200 characters."),
        ],
        error_messages={
            "required": "The organisation needs a name.",
            "null": "The organisation needs a name.",
        },
    )
    url = fields.Url(
        schemes={"http", "https"},
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=500, error="At most 500 characters."),
        error_messages={"invalid": "Enter the website as a full http:// or https:// address."},
    )
    email = fields.Email(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=320, error="At most 320 characters."),
        error_messages={"invalid": "Enter an email address, like pd@district.example.org."},
    )
    description = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=5000, error="At most 5,000 characters."),
    )
    proof_format = fields.String(
        load_default="di",
        validate=validate.OneOf(
            PROOF_FORMATS, error="Choose Data Integrity or VC-JWT for new credentials."
        ),
    )
    remove_logo = fields.Boolean(load_default=False)

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned = {
            key: value.replace("\r\n", "\n").strip() if isinstance(value, str) else value
            for key, value in data.items()
        }
        for key in _OPTIONAL:
            if cleaned.get(key) == "":
                cleaned[key] = None
        if cleaned.get("proof_format") in ("", None):
            cleaned.pop("proof_format", None)
        return cleaned


class RotateKeySchema(Schema):
    """Which of the issuer's key types to rotate."""

    class Meta:
        unknown = EXCLUDE

    key_type = fields.String(
        required=True,
        validate=validate.OneOf(KEY_TYPES, error="Choose the Ed25519 or the P-256 key."),
        error_messages={"required": "Say which key to rotate."},
    )


def profile_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The profile schema's input from a flat HTML form (a checkbox is present only if ticked)."""
    data: dict[str, Any] = {
        name: form[name]
        for name in ("name", "url", "email", "description", "proof_format")
        if name in form
    }
    data["remove_logo"] = bool(form.get("remove_logo"))
    return data
