"""Self-directed learning: an educator's request for credit, a reviewer's decision on it, the
organisation's setting, and the staff hours report's choices; one schema per operation, for a
form and a JSON body alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from schemas.fields import FormSchema

KINDS = ("conference", "book_study", "webinar", "community_of_practice", "chat_series", "other")
KIND_LABELS = {
    "conference": "Conference",
    "book_study": "Book study",
    "webinar": "Webinar",
    "community_of_practice": "Community of practice",
    "chat_series": "Chat series (e.g. a Twitter/X or Mastodon chat)",
    "other": "Other",
}
MAX_TITLE = 200
MAX_PROVIDER = 200
MAX_DESCRIPTION = 10_000
MAX_NOTE = 10_000
MAX_LINKS = 10
MAX_URL = 2000
MAX_HOURS = 1000
DECISIONS = ("approve", "decline")
PERIODS = ("month", "quarter", "year")
GROUPINGS = ("school", "category")

_NUMBER: dict[str, str | list[Any] | dict[Any, Any]] = {
    "invalid": "Enter a number of hours, like 6 or 1.5.",
    "special": "Enter a number of hours, like 6 or 1.5.",
}
_DATE: dict[str, str | list[Any] | dict[Any, Any]] = {"invalid": "Enter a date as YYYY-MM-DD."}


def _no_nul(data: Any) -> None:
    if not isinstance(data, Mapping):
        return
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValidationError("Remove the NUL character.", str(key))


def _hours_field(*, required: bool) -> fields.Float:
    extra: dict[str, Any] = (
        {"required": True, "error_messages": {**_NUMBER, "required": "Enter the hours."}}
        if required
        else {"load_default": None, "allow_none": True, "error_messages": _NUMBER}
    )
    return fields.Float(
        allow_nan=False,
        validate=validate.Range(
            min=0.25, max=MAX_HOURS, error=f"Enter between 0.25 and {MAX_HOURS:,} hours."
        ),
        **extra,
    )


def parse_links(text: str) -> list[dict[str, str]]:
    """Links from the form's box: one per line, ``https://…`` or ``Name | https://…``.

    :raises ValidationError: naming the first line that is not a web address.
    """
    links = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        name, _, url = line.rpartition("|") if "|" in line else ("", "", line)
        name, url = name.strip(), url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
            raise ValidationError(
                f"{url[:80]!r} is not a web address (start it with https://).", "links"
            )
        if len(url) > MAX_URL or len(name) > MAX_TITLE:
            raise ValidationError("That link is too long.", "links")
        links.append({"url": url, "name": name})
    if len(links) > MAX_LINKS:
        raise ValidationError(f"Give at most {MAX_LINKS} links.", "links")
    return links


class LearningRequestSchema(FormSchema):
    """An educator's record of learning done elsewhere (a draft may be saved, then submitted)."""

    organisation = fields.String(
        required=True,
        validate=validate.Length(max=64),
        error_messages={"required": "Choose the organisation to ask for credit."},
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS, error="Choose what kind of learning it was."),
        error_messages={"required": "Choose what kind of learning it was."},
    )
    title = fields.String(
        required=True,
        validate=validate.Length(max=MAX_TITLE, error=f"Use at most {MAX_TITLE} characters."),
        error_messages={"required": "Give the learning a title."},
    )
    provider = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_PROVIDER, error=f"Use at most {MAX_PROVIDER} characters."),
    )
    started_on = fields.Date(
        required=True, error_messages={**_DATE, "required": "Enter the day it started."}
    )
    ended_on = fields.Date(load_default=None, error_messages=_DATE)
    hours = _hours_field(required=True)
    description = fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_DESCRIPTION, error=f"Keep it under {MAX_DESCRIPTION:,} characters."
        ),
    )
    category = fields.String(load_default=None, validate=validate.Length(max=200))
    links = fields.String(load_default="", validate=validate.Length(max=MAX_LINKS * 2300))

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        if isinstance(data, Mapping) and isinstance(data.get("links"), list):
            data = {**data, "links": "\n".join(str(v) for v in data["links"])}
        return data

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        ended = data.get("ended_on")
        if ended is not None and ended < data["started_on"]:
            raise ValidationError("It cannot end before it started.", "ended_on")

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["ended_on"] = data.get("ended_on") or data["started_on"]
        data["links"] = parse_links(data.get("links") or "")
        data["description"] = (data.get("description") or "").replace("\r\n", "\n")
        return data


class LearningDecisionSchema(FormSchema):
    """A reviewer's decision: approve (optionally with other hours, and a note) or decline
    with a reason."""

    decision = fields.String(
        required=True,
        validate=validate.OneOf(DECISIONS, error="Approve or decline."),
        error_messages={"required": "Approve or decline."},
    )
    hours = _hours_field(required=False)
    note = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_NOTE, error=f"Keep it under {MAX_NOTE:,} characters."),
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        _no_nul(data)
        return data

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["note"] = (data.get("note") or "").replace("\r\n", "\n")
        if data["decision"] == "decline" and not data["note"].strip():
            raise ValidationError("Say why it is declined (the educator sees it).", "note")
        return data


class SettingSchema(FormSchema):
    """The achievement an organisation awards self-directed learning as (none: not set)."""

    achievement = fields.String(load_default=None, validate=validate.Length(max=36))


class HoursReportSchema(FormSchema):
    """The hours report's choices: the range, the period, the credit rules and the chart's
    grouping."""

    start = fields.Date(load_default=None, data_key="from", error_messages=_DATE)
    end = fields.Date(load_default=None, data_key="to", error_messages=_DATE)
    period = fields.String(
        load_default="month",
        validate=validate.OneOf(PERIODS, error="Choose month, quarter or year."),
    )
    rule = fields.String(load_default=None, validate=validate.Length(max=36))
    by = fields.String(
        load_default="school",
        validate=validate.OneOf(GROUPINGS, error="Group by school or by category."),
    )

    @validates_schema
    def _range(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            if end < start:
                raise ValidationError("The range cannot end before it starts.", "to")
            if (end - start).days > 366 * 10:
                raise ValidationError("Choose a range of at most ten years.", "to")


def load_learning_request(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a request for credit (form or JSON).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = LearningRequestSchema().load(data)
    return loaded


def load_learning_decision(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a reviewer's decision on a request (form or JSON).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = LearningDecisionSchema().load(data)
    return loaded


def load_setting(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the organisation's self-directed learning setting.

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = SettingSchema().load(data)
    return loaded


def load_hours_report(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the hours report's choices (query string).

    :raises ValidationError: with the problems per field.
    """
    loaded: dict[str, Any] = HoursReportSchema().load(data)
    return loaded


def default_range(today: date) -> tuple[date, date]:
    """The report's range when none is chosen: this calendar year to today."""
    return date(today.year, 1, 1), today
