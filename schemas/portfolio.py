"""A portfolio item's text (title, narrative, link): one schema for the educator's item form
and a JSON body. The file, when there is one, is checked by the portfolio service itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from schemas.fields import FormSchema

MAX_TITLE = 200
MAX_BODY = 50_000
MAX_URL = 2000


class ItemSchema(FormSchema):
    """A portfolio item: a title, an optional narrative (markdown) and an optional link."""

    title = fields.String(
        required=True,
        validate=validate.Length(max=MAX_TITLE, error=f"Use at most {MAX_TITLE} characters."),
        error_messages={"required": "Give the item a title."},
    )
    body = fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_BODY, error=f"Keep the text under {MAX_BODY:,} characters."
        ),
    )
    url = fields.URL(
        schemes={"http", "https"},
        load_default=None,
        validate=validate.Length(max=MAX_URL, error=f"Use at most {MAX_URL:,} characters."),
        error_messages={"invalid": "Enter a web address starting with https:// or http://."},
    )

    @pre_load
    def _no_nul(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            for key, value in data.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValidationError("Remove the NUL character.", str(key))
                if key == "body" and isinstance(value, str):
                    # Browsers send textarea line breaks as CRLF.
                    data = {**data, "body": value.replace("\r\n", "\n")}
        return data

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"title": data["title"], "body": data["body"], "url": data["url"]}


def load_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an item's text (a form's data or a JSON body).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = ItemSchema().load(data)
    return loaded
