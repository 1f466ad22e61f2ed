"""Form schemas for issuers (organisations)."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.fields import FormSchema, email_address, optional_text, required_text, web_address

#: The same rule as the issuer service: the slug is part of the issuer's did:web identifier.
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
PROOF_FORMATS = ("di", "jwt")


class NewOrganisationSchema(FormSchema):
    """A new organisation: its profile, and the short name its DID and URLs use (derived from
    the name when left blank)."""

    name = required_text("Give the organisation a name.", max_length=200)
    slug = fields.String(
        load_default=None,
        validate=validate.Regexp(
            SLUG_PATTERN,
            error="Use 1 to 64 lower-case letters, digits and dashes, "
            "starting and ending with a letter or digit.",
        ),
    )
    url = web_address()
    email = email_address(required=False)
    description = optional_text(max_length=5000)
    proof_format = fields.String(
        load_default="di",
        validate=validate.OneOf(PROOF_FORMATS, error="Choose Data Integrity or VC-JWT."),
    )
