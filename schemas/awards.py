"""The schema for awarding one credential: the workspace's award and replace forms, and an API."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any, NotRequired, TypedDict

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

#: How the expiry is chosen: the achievement's default validity, a given date, or none at all.
EXPIRY_CHOICES = ("default", "date", "never")
MAX_EVIDENCE = 10
MAX_EMAIL = 320
#: The longest name the database keeps for a recipient.
MAX_NAME = 200
MAX_TEXT = 5000
MAX_URL = 2000


class EvidenceFields(TypedDict):
    """One piece of evidence, as :class:`app.services.issuing.EvidenceInput` takes it."""

    url: str | None
    name: str | None
    narrative: str | None


class AwardFields(TypedDict):
    """A valid award: exactly the keyword arguments of :class:`app.services.issuing.AwardInput`
    (the schema layer may not import the application, so the caller builds that from this)."""

    email: str
    name: str | None
    show_name: bool
    narrative: str | None
    evidence: tuple[EvidenceFields, ...]
    valid_until: datetime | None
    no_expiry: bool
    credits_earned: NotRequired[float | None]


def too_long(maximum: int) -> str:
    """The message for text longer than ``maximum`` characters."""
    return f"Use at most {maximum:,} characters."


def _length(maximum: int) -> validate.Length:
    return validate.Length(max=maximum, error=too_long(maximum))


def _optional_text(maximum: int) -> fields.String:
    return fields.String(load_default=None, validate=_length(maximum))


class _TidySchema(Schema):
    """Trims text and treats a blank value as absent: a browser sends every field of a form,
    blank ones included, and an API client may do the same. Text with a NUL byte is refused."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _tidy(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # marshmallow reports the wrong input type itself
        tidy: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                if "\x00" in value:  # no one types it, and databases refuse to store it
                    raise ValidationError("Remove the NUL character.", str(key))
                value = value.strip()
                if not value:
                    continue
            tidy[key] = value
        return tidy


def _credit(value: decimal.Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _two_places(value: decimal.Decimal) -> None:
    # As creditsAvailable: finer fractions gain nothing and sign differently in JavaScript.
    if value != value.quantize(decimal.Decimal("0.01")):
        raise ValidationError("Use at most two decimal places.")


#: What an award earned when it differs from the achievement's credit, in the achievement's
#: unit; at most two decimal places, as ``creditsAvailable`` (see ``schemas.achievements``).
CREDITS_EARNED = fields.Decimal(
    allow_none=True,
    load_default=None,
    places=None,
    validate=[
        validate.Range(min=0, max=10_000, error="Enter between 0 and 10,000."),
        _two_places,
    ],
    error_messages={
        "invalid": "Enter a number, like 2 or 1.5.",
        "special": "Enter a number, like 2 or 1.5.",
    },
    metadata={"description": "creditsEarned, when it differs from the achievement's credit"},
)


class EvidenceSchema(_TidySchema):
    """A piece of evidence: a web address, a narrative, or both; the title is optional."""

    url = fields.URL(
        schemes={"http", "https"},
        load_default=None,
        validate=_length(MAX_URL),
        error_messages={"invalid": "Enter a web address starting with https:// or http://."},
    )
    name = _optional_text(MAX_NAME)
    narrative = _optional_text(MAX_TEXT)

    @validates_schema
    def _url_or_narrative(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("url") and not data.get("narrative"):
            raise ValidationError("Give the evidence a web address or a narrative.", "url")


class AwardSchema(_TidySchema):
    """One award.

    ``expiry`` is ``default`` (the achievement's default validity), ``date`` (then
    ``expiry_date``, ``YYYY-MM-DD``, is required; the credential is valid to the end of that day,
    UTC) or ``never``. Whether a date is in the future is checked by the issuing service, which
    knows the time.
    """

    email = fields.Email(
        required=True,
        validate=validate.Length(max=MAX_EMAIL, error="That email address is too long."),
        error_messages={
            "required": "Enter the recipient's email address.",
            "invalid": "Enter an email address like name@example.org.",
        },
    )
    name = _optional_text(MAX_NAME)
    show_name = fields.Boolean(load_default=True)
    narrative = _optional_text(MAX_TEXT)
    evidence = fields.List(
        fields.Nested(EvidenceSchema),
        load_default=list,
        validate=validate.Length(
            max=MAX_EVIDENCE, error=f"Give at most {MAX_EVIDENCE} pieces of evidence."
        ),
    )
    expiry = fields.String(
        load_default="default",
        validate=validate.OneOf(EXPIRY_CHOICES, error="Choose when the credential expires."),
    )
    expiry_date = fields.Date(
        load_default=None, error_messages={"invalid": "Enter a date like 2027-06-30."}
    )
    credits_earned = CREDITS_EARNED

    # Checked even when other fields are wrong, so every problem is shown at once.
    @validates_schema(skip_on_field_errors=False)
    def _date_when_asked(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("expiry") == "date" and data.get("expiry_date") is None:
            raise ValidationError("Choose the expiry date.", "expiry_date")

    @post_load
    def _award_fields(self, data: dict[str, Any], **kwargs: Any) -> AwardFields:
        expiry_date: date | None = data.get("expiry_date")
        chosen = data["expiry"] == "date" and expiry_date is not None
        return AwardFields(
            email=data["email"],
            name=data["name"],
            show_name=data["show_name"],
            narrative=data["narrative"],
            evidence=tuple(
                EvidenceFields(url=e["url"], name=e["name"], narrative=e["narrative"])
                for e in data["evidence"]
            ),
            # The same rule as a bulk row's expiry: valid through the whole of the chosen day.
            valid_until=(
                datetime.combine(expiry_date, time(23, 59, 59), UTC)
                if chosen and expiry_date
                else None
            ),
            no_expiry=data["expiry"] == "never",
            credits_earned=_credit(data.get("credits_earned")),
        )


def load_award(data: Mapping[str, Any]) -> AwardFields:
    """Validate an award given as a mapping of strings and lists (a form or a JSON body).

    :raises ValidationError: with the problems per field (see :func:`schemas.errors.flat_errors`).
    """
    loaded: AwardFields = AwardSchema().load(data)
    return loaded


class ExpiryField(fields.Field[datetime]):
    """An expiry as a date (``2027-06-30``: valid through that whole day, UTC, as in the form
    and a bulk row) or an ISO 8601 time with its offset."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": "Give a date like 2027-06-30 or a time like 2027-06-30T12:00:00Z."
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time(23, 59, 59), UTC)
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            raise self.make_error("invalid")
        return moment.astimezone(UTC)


class RecipientSchema(_TidySchema):
    """Who receives a credential: an email address, and the name to show (optional)."""

    email = AwardSchema._declared_fields["email"]
    name = _optional_text(MAX_NAME)
    show_name = fields.Boolean(load_default=True)


class ApiAwardSchema(_TidySchema):
    """One award as the API takes it: the achievement's id, the recipient, evidence, a
    narrative and an expiry (``valid_until``; ``null`` for none, absent for the achievement's
    default). Loads to ``{"achievement": id, "award": AwardFields}``, so the API and the form
    make the same award."""

    achievement = fields.String(
        required=True,
        validate=_length(64),
        error_messages={"required": "Name the achievement (its id)."},
        metadata={"description": "The achievement's id"},
    )
    recipient = fields.Nested(
        RecipientSchema,
        required=True,
        error_messages={"required": "Name the recipient."},
        metadata={"description": "email (required), name, show_name (default true)"},
    )
    narrative = _optional_text(MAX_TEXT)
    evidence = AwardSchema._declared_fields["evidence"]
    credits_earned = CREDITS_EARNED
    valid_until = ExpiryField(
        allow_none=True,
        load_default="default",
        metadata={
            "description": "A date (valid through that day, UTC) or a time; null: no expiry; "
            "absent: the achievement's default validity"
        },
    )

    @post_load
    def _award(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        recipient = data["recipient"]
        until = data["valid_until"]
        return {
            "achievement": data.get("achievement"),
            "reason": data.get("reason"),
            "award": AwardFields(
                email=recipient["email"],
                name=recipient["name"],
                show_name=recipient["show_name"],
                narrative=data["narrative"],
                evidence=tuple(
                    EvidenceFields(url=e["url"], name=e["name"], narrative=e["narrative"])
                    for e in data["evidence"]
                ),
                valid_until=until if isinstance(until, datetime) else None,
                no_expiry=until is None,
                credits_earned=_credit(data.get("credits_earned")),
            ),
        }


class ApiReplaceSchema(ApiAwardSchema):
    """A correction of a credential as the API takes it: the award's members without the
    achievement (the credential's own, at its current version), and the reason (the internal
    note). Loads to ``{"reason": …, "award": AwardFields}``."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("achievement",)

    reason = fields.String(
        required=True,
        validate=_length(2000),
        error_messages={"required": "Give a reason; it is kept in the audit log."},
        metadata={"description": "The internal note (staff and the audit log)"},
    )


#: The most rows one bulk request may carry as JSON (a CSV upload has the instance's limit).
MAX_BULK_ROWS = 5000


class BulkRowSchema(Schema):
    """A bulk row given as JSON: the columns of a bulk CSV file (checked, as a file's rows
    are, when the job is made)."""

    class Meta:
        unknown = EXCLUDE

    email = fields.String(required=True, validate=_length(MAX_EMAIL))
    name = fields.String(load_default=None, allow_none=True, validate=_length(MAX_NAME))
    narrative = fields.String(load_default=None, allow_none=True, validate=_length(MAX_TEXT))
    evidence_url = fields.String(load_default=None, allow_none=True, validate=_length(MAX_URL))
    evidence_narrative = fields.String(
        load_default=None, allow_none=True, validate=_length(MAX_TEXT)
    )
    expiry = fields.String(
        load_default=None,
        allow_none=True,
        validate=_length(40),
        metadata={"description": "YYYY-MM-DD, or never; absent for the achievement's default"},
    )


class BulkAwardSchema(Schema):
    """A bulk award as JSON: the achievement's id and its rows."""

    class Meta:
        unknown = EXCLUDE

    achievement = fields.String(required=True, validate=_length(64))
    rows = fields.List(
        fields.Nested(BulkRowSchema),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_BULK_ROWS, error=f"Give 1 to {MAX_BULK_ROWS:,} rows."
        ),
    )
