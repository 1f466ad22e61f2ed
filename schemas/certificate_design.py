"""The issuer's certificate design form: template, colour, paper and signature block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

#: The same values as ``app.models.issuer``'s (schemas may not import the app).
TEMPLATES = ("classic", "modern", "minimal")
COLOURS = ("teal", "navy", "burgundy", "forest", "plum", "charcoal")
PAPERS = ("auto", "a4", "letter")


class CertificateDesignSchema(Schema):
    """Loads to ``CertificateDesignInput``'s keys plus ``remove_signature``."""

    class Meta:
        unknown = EXCLUDE

    template = fields.String(
        load_default="classic",
        validate=validate.OneOf(TEMPLATES, error="Choose the classic, modern or minimal template."),
    )
    colour = fields.String(
        load_default="teal",
        validate=validate.OneOf(COLOURS, error="Choose one of the listed colours."),
    )
    paper = fields.String(
        load_default="auto",
        validate=validate.OneOf(PAPERS, error="Choose automatic, A4 or US Letter."),
    )
    signatory_name = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=200, error="At most 200 characters."),
    )
    signatory_title = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=200, error="At most 200 characters."),
    )
    remove_signature = fields.Boolean(load_default=False)

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned = {
            key: " ".join(value.split()) if isinstance(value, str) else value
            for key, value in data.items()
        }
        for key in ("signatory_name", "signatory_title"):
            if cleaned.get(key) == "":
                cleaned[key] = None
        for key in ("template", "colour", "paper"):
            if cleaned.get(key) in ("", None):
                cleaned.pop(key, None)
        return cleaned


def design_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The schema's input from a flat HTML form (a checkbox is present only if ticked)."""
    data: dict[str, Any] = {
        name: form[name]
        for name in ("template", "colour", "paper", "signatory_name", "signatory_title")
        if name in form
    }
    data["remove_signature"] = bool(form.get("remove_signature"))
    return data
