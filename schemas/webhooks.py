"""Form and JSON schema for a webhook endpoint: where deliveries go, which events, whether on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import fields, validate

from schemas.fields import FormSchema, optional_text

#: The events an endpoint may subscribe to. ``app.models.WEBHOOK_EVENT_TYPES`` is the source of
#: truth; schemas may not import the application, so a test keeps the two equal.
EVENT_TYPES = (
    "credential.issued",
    "credential.claimed",
    "credential.revoked",
    "credential.suspended",
    "credential.unsuspended",
    "job.finished",
)
MAX_URL = 2000
MAX_DESCRIPTION = 200


class WebhookEndpointSchema(FormSchema):
    """An endpoint: an absolute URL (whether it may be used is checked by the webhook service,
    which resolves it), a description for the owner, at least one event, and ``enabled``."""

    url = fields.URL(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=MAX_URL, error=f"Use at most {MAX_URL} characters."),
        error_messages={
            "required": "Enter the URL that receives the events.",
            "invalid": "Enter a web address starting with https://.",
        },
    )
    description = optional_text(max_length=MAX_DESCRIPTION)
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES, error="Choose events from the list.")),
        required=True,
        validate=validate.Length(min=1, error="Choose at least one event."),
        error_messages={"required": "Choose at least one event."},
    )
    enabled = fields.Boolean(load_default=False)


def endpoint_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's input from the endpoint form (a werkzeug ``MultiDict``): every ticked
    event, and the ``enabled`` box (absent when not ticked)."""
    getlist = getattr(form, "getlist", None)
    events = getlist("events") if getlist else form.get("events", [])
    data: dict[str, Any] = {
        "url": form.get("url", ""),
        "description": form.get("description", ""),
        "enabled": form.get("enabled") == "1",
    }
    chosen = [event for event in events if event]
    if chosen:
        data["events"] = chosen
    return data
