"""Form (and JSON body) schemas for the educator side: sign-in requests, addresses, the account
and profile, per-credential visibility, and imports."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.fields import FormSchema, email_address, optional_text, required_text

MAX_NAME = 200
MAX_BIO = 2000
#: Pasted credentials: the verifier's own input limit (a JWT or JSON of a few kilobytes is usual).
MAX_PASTED = 10 * 1024 * 1024
VISIBILITIES = ("public", "private")


def _switch() -> fields.Boolean:
    """A checkbox: ticked is true, absent (browsers send nothing for an unticked box) false."""
    return fields.Boolean(
        load_default=False, error_messages={"invalid": "Tick the box, or leave it empty."}
    )


class SignInRequestSchema(FormSchema):
    """The address to email a sign-in link to. (The ``next`` page is checked by the view, which
    must refuse off-site addresses whatever the form says.)"""

    email = email_address(required=True, message="Enter your email address.")


class AddEmailSchema(FormSchema):
    """Another address for the account (confirmed by an emailed link)."""

    email = email_address(required=True, message="Enter the email address to add.")


class AccountSchema(FormSchema):
    """The educator's name, a short bio for the profile page, and whether that page exists."""

    name = required_text("Enter your name.", max_length=MAX_NAME)
    bio = optional_text(max_length=MAX_BIO)
    profile_public = _switch()


class NameSchema(FormSchema):
    """What Cairn calls the educator, and the name signed into their credentials (asked at first
    sign-in: a signed name cannot be corrected)."""

    name = required_text("Enter your name.", max_length=MAX_NAME)
    credential_name = required_text("Enter the name for your credentials.", max_length=MAX_NAME)


class ClaimSchema(FormSchema):
    """Accepting a credential into the backpack: who sees its page (none: as it is now), and
    whether a credential issued without a name gets the recipient's confirmed name signed in."""

    visibility = fields.String(
        load_default=None,
        validate=validate.OneOf(VISIBILITIES, error="Choose public or private."),
    )
    name_on_it = fields.String(
        load_default="add",
        validate=validate.OneOf(("add", "without"), error="Choose whether your name goes on it."),
    )


class CredentialSettingsSchema(FormSchema):
    """Who sees a credential's page, and whether the profile page lists it."""

    visibility = fields.String(
        required=True,
        validate=validate.OneOf(VISIBILITIES, error="Choose public or private."),
        error_messages={"required": "Choose whether its page is public or private."},
    )
    show_on_profile = _switch()


class ImportSettingsSchema(FormSchema):
    """Whether the profile page lists an imported credential."""

    show_on_profile = _switch()


class ImportTextSchema(FormSchema):
    """A pasted credential (JSON or a VC-JWT); an uploaded file is read by the view."""

    text = optional_text(max_length=MAX_PASTED)
