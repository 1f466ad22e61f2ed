"""Exporting a learning record (CLR 2.0): which credentials go in and in which file, for the
backpack's form and the workspace's (which also names the educator by address)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

#: The files a record downloads as: the signed JSON, or a PNG with it baked in.
RECORD_FORMATS = ("json", "png")


class RecordExportSchema(Schema):
    """``scope`` ``all`` takes every credential that can go in; ``chosen`` takes ``credential``
    (the ids ticked, sent as a list: read a form with ``getlist``)."""

    class Meta:
        unknown = EXCLUDE

    scope = fields.String(load_default="all", validate=validate.OneOf(("all", "chosen")))
    credential = fields.List(
        fields.String(validate=validate.Length(min=1, max=60)),
        load_default=list,
        validate=validate.Length(max=500),
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(RECORD_FORMATS, error="Choose JSON or PNG."),
    )

    @validates_schema
    def _chosen_needs_credentials(self, data: dict[str, Any], **_: Any) -> None:
        if data["scope"] == "chosen" and not data["credential"]:
            raise ValidationError("Tick at least one credential.", "credential")


class StaffRecordExportSchema(RecordExportSchema):
    """The workspace's export also names the educator by one of their addresses."""

    email = fields.String(
        required=True,
        validate=validate.Length(min=3, max=320),
        error_messages={"required": "Give the educator's email address."},
    )


def form_data(form: Any) -> dict[str, Any]:
    """A submitted form as the schema reads it: ``credential`` is every ticked box."""
    data = {key: form.get(key) for key in ("scope", "format", "email") if form.get(key)}
    data["credential"] = form.getlist("credential")
    return data
