"""A renewal statement's input: the period (``from``, ``to``, days included) and the credit rules
to count by, for the educator's form, the workspace's (which also names the educator by address)
and ``cairn statement``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

#: The longest period a statement covers: two of the longest renewal cycles the rules allow.
MAX_PERIOD_DAYS = 20 * 366


class StatementSchema(Schema):
    """``from`` and ``to`` are days (YYYY-MM-DD), both included; ``rule`` is a credit rule's
    public id (none: the hours as the credentials carry them)."""

    class Meta:
        unknown = EXCLUDE

    start = fields.Date(
        required=True,
        data_key="from",
        error_messages={
            "invalid": "Enter the first day as YYYY-MM-DD, like 2026-01-01.",
            "required": "Enter the period's first day.",
        },
    )
    end = fields.Date(
        required=True,
        data_key="to",
        error_messages={
            "invalid": "Enter the last day as YYYY-MM-DD, like 2026-12-31.",
            "required": "Enter the period's last day.",
        },
    )
    rule = fields.String(load_default=None, validate=validate.Length(max=36))

    @pre_load
    def _blanks(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()
                if not (v is None and k == "rule")}  # fmt: skip

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if start > end:
            raise ValidationError("The first day (from) is after the last day (to).", "to")
        if (end - start).days > MAX_PERIOD_DAYS:
            raise ValidationError("A statement covers at most 20 years.", "to")


class StaffStatementSchema(StatementSchema):
    """The workspace's statement also names the educator by one of their addresses."""

    email = fields.String(
        required=True,
        validate=validate.Length(min=3, max=320, error="Give the educator's email address."),
        error_messages={"required": "Give the educator's email address."},
    )


def statement_form_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted form (or the CLI's options) as the schema reads it."""
    return {key: form.get(key) for key in ("from", "to", "rule", "email") if form.get(key)}
