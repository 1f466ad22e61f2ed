"""Achievement create/edit input: one schema for the workspace form and for a JSON body."""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from typing import Any

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

from credentials import ACHIEVEMENT_TYPES, ALIGNMENT_TARGET_TYPES, CREDIT_UNITS

#: At most this many alignments (and so alignment rows read from a form).
MAX_ALIGNMENTS = 50
#: A suggested framework for alignments; staff in K-12 professional learning align to it most.
SUGGESTED_FRAMEWORKS = ("ISTE Standards for Educators",)
#: The names of an alignment row's inputs in the form, ``alignments-<n>-<field>``.
ALIGNMENT_FIELDS = (
    "target_name",
    "target_url",
    "target_framework",
    "target_code",
    "target_description",
    "target_type",
)
_ALIGNMENT_INPUT = re.compile(r"^alignments-(\d{1,3})-(" + "|".join(ALIGNMENT_FIELDS) + r")$")
_SINGLE_FIELDS = (
    "name",
    "description",
    "criteria_markdown",
    "criteria_url",
    "learning_outcomes",
    "achievement_type",
    "tags",
    "credits_available",
    "credit_unit",
    "default_validity_days",
)


def _normalise_text(value: Any) -> Any:
    # Browsers send textarea line breaks as CRLF; storing them as sent would make an unchanged
    # form differ from the version it was filled from, and add a version for nothing.
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def _blank_to_none(data: Any, names: tuple[str, ...]) -> Any:
    if not isinstance(data, Mapping):
        return data  # the schema reports the wrong type itself
    cleaned = {key: _normalise_text(value) for key, value in data.items()}
    for name in names:
        if cleaned.get(name) == "":
            cleaned[name] = None
    return cleaned


_EXTENSION_TYPE = re.compile(r"ext:[A-Za-z][A-Za-z0-9_-]{0,59}")


def _achievement_type(value: str) -> None:
    # OB 3.0 allows its own list or an extension term prefixed "ext:".
    if value not in ACHIEVEMENT_TYPES and not _EXTENSION_TYPE.fullmatch(value):
        raise ValidationError("Choose an achievement type from the list.")


class TextList(fields.Field[list[str]]):
    """A list of short texts, given as a list of strings (JSON) or as one string split on a
    separator (a form's textarea or comma-separated input). Blank items are dropped."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": "Not a valid list of texts.",
        "too_many": "At most {max_items} entries.",
        "too_long": "Each entry may be at most {max_length} characters.",
    }

    def __init__(self, separator: str, *, max_items: int, max_length: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.separator = re.compile(separator)
        self.max_items = max_items
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            items: list[Any] = self.separator.split(value)
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise self.make_error("invalid")
        if not all(isinstance(item, str) for item in items):
            raise self.make_error("invalid")
        cleaned = [item.strip() for item in items if item.strip()]
        if len(cleaned) > self.max_items:
            raise self.make_error("too_many", max_items=self.max_items)
        if any(len(item) > self.max_length for item in cleaned):
            raise self.make_error("too_long", max_length=self.max_length)
        return cleaned


def _http_url(label: str, *, required: bool = False) -> fields.Url:
    messages: dict[str, str | list[Any] | dict[Any, Any]] = {
        "invalid": f"Enter the {label} as a full http:// or https:// address."
    }
    length = validate.Length(max=500, error=f"The {label} may be at most 500 characters.")
    if required:
        messages.update(required=f"Give the {label}.", null=f"Give the {label}.")
        return fields.Url(
            schemes={"http", "https"}, required=True, validate=length, error_messages=messages
        )
    return fields.Url(
        schemes={"http", "https"},
        allow_none=True,
        load_default=None,
        validate=length,
        error_messages=messages,
    )


def _length(maximum: int, missing: str) -> list[validate.Validator]:
    return [
        validate.Length(min=1, error=missing),
        validate.Length(max=maximum, error=f"At most {maximum:,} characters."),
    ]


def _optional_text(max_length: int) -> fields.String:
    return fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=max_length, error=f"At most {max_length} characters."),
    )


class AlignmentSchema(Schema):
    """One alignment to a framework item (e.g. an ISTE Standard for Educators)."""

    class Meta:
        unknown = EXCLUDE

    target_name = fields.String(
        required=True,
        validate=_length(200, "Name the standard this aligns to."),
        error_messages={
            "required": "Name the standard this aligns to.",
            "null": "Name the standard this aligns to.",
        },
    )
    target_url = _http_url("standard's URL", required=True)
    target_framework = _optional_text(200)
    target_code = _optional_text(100)
    target_description = _optional_text(1000)
    target_type = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(ALIGNMENT_TARGET_TYPES, error="Choose a type from the list."),
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        return _blank_to_none(data, ALIGNMENT_FIELDS)

    @post_load
    def _compact(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # Only the properties given: an alignment stored with empty keys would differ from
        # the same alignment read back from the form.
        return {key: value for key, value in data.items() if value is not None}


class AchievementSchema(Schema):
    """An achievement version's content, as a form or a JSON body sends it.

    Loads to a dict whose keys are :class:`app.services.achievements.AchievementInput`'s
    (lists as lists) plus ``generate_image``. Images themselves are files, handled by the caller.
    """

    class Meta:
        unknown = EXCLUDE

    name = fields.String(
        required=True,
        validate=_length(200, "Give it a name."),
        error_messages={"required": "Give it a name.", "null": "Give it a name."},
    )
    description = fields.String(
        required=True,
        validate=_length(5000, "Describe the achievement."),
        error_messages={
            "required": "Describe the achievement.",
            "null": "Describe the achievement.",
        },
    )
    criteria_markdown = fields.String(
        load_default="",
        validate=validate.Length(max=20_000, error="At most 20,000 characters."),
    )
    criteria_url = _http_url("criteria URL")
    learning_outcomes = TextList(r"\n", max_items=50, max_length=500, load_default=list)
    alignments = fields.List(
        fields.Nested(AlignmentSchema),
        load_default=list,
        validate=validate.Length(max=MAX_ALIGNMENTS, error=f"At most {MAX_ALIGNMENTS} alignments."),
    )
    achievement_type = fields.String(
        allow_none=True, load_default="Badge", validate=_achievement_type
    )
    tags = TextList(r",", max_items=30, max_length=60, load_default=list)
    credits_available = fields.Decimal(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=10_000, error="Enter between 0 and 10,000."),
        error_messages={
            "invalid": "Enter a number, like 2 or 1.5.",
            "special": "Enter a number, like 2 or 1.5.",
        },
    )
    credit_unit = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(
            tuple(CREDIT_UNITS), error="Choose clock hours, CEUs or PD points."
        ),
        metadata={"description": "The unit of credits_available: " + ", ".join(CREDIT_UNITS)},
    )
    default_validity_days = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(
            min=1, max=36_500, error="Enter between 1 and 36,500 days, or leave it blank."
        ),
        error_messages={"invalid": "Enter a whole number of days, or leave it blank."},
    )
    generate_image = fields.Boolean(load_default=False)

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        return _blank_to_none(
            data,
            (
                "criteria_url",
                "credits_available",
                "credit_unit",
                "default_validity_days",
                "achievement_type",
            ),
        )

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _criteria(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # Judged on what was sent: a criteria URL that is there but malformed has its own
        # message, and is not also reported as missing.
        if not isinstance(original, Mapping):
            return
        url = original.get("criteria_url")
        if not data.get("criteria_markdown") and not (isinstance(url, str) and url.strip()):
            raise ValidationError(
                "Say what earns it: criteria text, a criteria URL, or both.", "criteria_markdown"
            )

    @validates_schema
    def _credit_places(self, data: dict[str, Any], **kwargs: Any) -> None:
        credits = data.get("credits_available")
        # Two decimal places cover quarter hours; finer fractions gain nothing and very small
        # ones are written differently by JavaScript JSON-LD processors, breaking signatures.
        if isinstance(credits, decimal.Decimal) and credits != credits.quantize(
            decimal.Decimal("0.01")
        ):
            raise ValidationError("Use at most two decimal places.", "credits_available")

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("achievement_type") is None:
            data["achievement_type"] = "Badge"
        credits = data.get("credits_available")
        data["credits_available"] = float(credits) if credits is not None else None
        return data


def achievement_form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The schema's input from a flat HTML form (one value per name).

    Alignment rows arrive as ``alignments-<n>-<field>`` inputs; rows left entirely blank (the
    spare rows every form offers) are dropped, and the rest keep their order. An error the
    schema reports for ``alignments[i]`` therefore belongs to the i-th non-blank row.
    """
    data: dict[str, Any] = {name: form[name] for name in _SINGLE_FIELDS if name in form}
    data["generate_image"] = bool(form.get("generate_image"))
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _ALIGNMENT_INPUT.match(key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    data["alignments"] = [
        row for _, row in sorted(rows.items()) if any(value.strip() for value in row.values())
    ]
    return data
