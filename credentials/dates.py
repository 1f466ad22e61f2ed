"""Date-times as OB 3.0 wants them: ISO 8601 with an explicit offset (``DateTimeZ``).

https://www.imsglobal.org/spec/ob/v3p0/#datetimez
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from credentials.errors import MalformedCredential

# XML Schema dateTime with a mandatory offset: what both JSON Schema "date-time" and xsd accept.
_DATETIME_Z = re.compile(
    r"^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def format_datetime(moment: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDThh:mm:ssZ`` in UTC (whole seconds).

    :raises ValueError: for a naive datetime: without an offset the instant is unknown.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes in credentials must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object, field: str = "date") -> datetime:
    """Parse a ``DateTimeZ`` string into an aware datetime.

    :raises MalformedCredential: when the value is not a string, has no offset, or is invalid.
    """
    if not isinstance(value, str) or not _DATETIME_Z.match(value):
        raise MalformedCredential(
            f"{field} must be an ISO 8601 date-time with a timezone offset, got {value!r}"
        )
    text = value.replace("Z", "+00:00")
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", text)
    if match and match.group(2):
        # Python accepts at most 6 fractional digits; XML Schema allows any number.
        text = match.group(1) + match.group(2)[:7].ljust(7, "0") + match.group(3)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise MalformedCredential(f"{field} is not a valid date-time: {value!r}") from None
