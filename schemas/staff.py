"""Form schemas for staff accounts: sign-in, password reset, invitations and roles."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from schemas.fields import (
    MAX_EMAIL,
    FormSchema,
    email_address,
    password_field,
    required_text,
)

#: The workspace roles, most powerful first. The database model (``app.models.ROLES``) is the
#: source of truth; schemas may not import the application, so a test keeps the two equal.
STAFF_ROLES = ("owner", "editor", "awarder", "viewer")
MAX_NAME = 200


def _role() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(STAFF_ROLES, error="Choose one of the roles listed."),
        error_messages={"required": "Choose a role."},
    )


class LoginSchema(FormSchema):
    """Email and password. The email is not checked for form here: a malformed one fails
    exactly like an unknown one, so the answer never tells which accounts exist. (The ``next``
    page is checked by the view, which must refuse off-site addresses whatever the form says.)"""

    email = required_text("Enter your email address.", max_length=MAX_EMAIL)
    password = password_field("Enter your password.")


class ForgotPasswordSchema(FormSchema):
    """The email address to send a reset link to."""

    email = email_address(required=True, message="Enter the email address you sign in with.")


class NewPasswordSchema(FormSchema):
    """A new password, typed twice (its strength is checked by the staff service)."""

    password = password_field("Choose a password.")
    confirm = password_field("Type the password again.")

    @validates_schema
    def _same(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("password") != data.get("confirm"):
            raise ValidationError("The two passwords are different.", "confirm")


class InviteSchema(FormSchema):
    """Who to invite into a workspace, and with which role."""

    email = email_address(required=True, message="Enter the email address to invite.")
    name = required_text("Enter the person's name.", max_length=MAX_NAME)
    role = _role()


class RoleSchema(FormSchema):
    """A new role for a member."""

    role = _role()
