"""Dates, times, numbers and hours in words for a locale passed in: the one Babel implementation.

Services (emails, the certificate PDF, messages) call it with the locale they were given (the
request's, or ``ServiceSettings.locale`` for mail); :mod:`app.formatting` delegates to it with the
request's locale, so a page, an email and a certificate say a date the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel import Locale, dates, numbers, units

# English is the source language; a second one is a translation catalogue and a setting away.
DEFAULT_LOCALE = "en"

LocaleLike = Locale | str


def _chosen(locale: LocaleLike) -> Locale:
    return locale if isinstance(locale, Locale) else Locale.parse(locale)


def utc(value: datetime) -> datetime:
    """A datetime in UTC: Cairn keeps naive datetimes in UTC; an aware one is converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_day(
    value: date | datetime | str | None, locale: LocaleLike, *, width: str = "medium"
) -> str:
    """A day in words: "Dec 5, 2026" (en), "5 Dec 2026" (en_GB); ``width="long"`` spells the
    month ("December 5, 2026"); "" for nothing. An ISO 8601 string (a credential's
    ``validFrom``) is read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        value = utc(value).date()
    return dates.format_date(value, width, locale=_chosen(locale))


def format_moment(value: datetime | None, locale: LocaleLike, *, seconds: bool = False) -> str:
    """A date and time in UTC: "Dec 5, 2026, 2:05 PM UTC" (en), "5 Dec 2026, 14:05 UTC" (en_GB)."""
    if value is None:
        return ""
    chosen = _chosen(locale)
    moment = utc(value)
    time = dates.format_time(moment, "medium" if seconds else "short", tzinfo=UTC, locale=chosen)
    day = dates.format_date(moment.date(), "medium", locale=chosen)
    pattern = str(chosen.datetime_formats["medium"])
    return pattern.replace("{1}", day).replace("{0}", time) + " UTC"


def format_count(value: int | None, locale: LocaleLike) -> str:
    """A whole number with the locale's grouping: "12,345" (en), "12.345" (de)."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=_chosen(locale))


def format_decimal(value: float | Decimal | None, locale: LocaleLike) -> str:
    """A number with up to three decimals in the locale's way: "12.5" (en), "12,5" (de)."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=_chosen(locale))


def format_hours(value: float | Decimal | None, locale: LocaleLike) -> str:
    """A number of hours (an achievement's ``creditsAvailable``): "1 hour", "1.5 hours",
    "6 hours" (en; 6.0 has no decimals), "1,5 Stunden" (de); "" for nothing."""
    if value is None:
        return ""
    return units.format_unit(value, "duration-hour", length="long", locale=_chosen(locale))


#: Singular and plural of the credit units that are not hours (see ``credentials.CREDIT_UNITS``);
#: Babel has no unit for CEUs or points, so these are English until a catalogue says otherwise.
_CREDIT_WORDS = {"ceu": ("CEU", "CEUs"), "points": ("PD point", "PD points")}


def format_credit(value: float | Decimal | None, unit: str | None, locale: LocaleLike) -> str:
    """An amount of credit in its unit: "6 hours" (clock hours, or no unit stated),
    "1.5 CEUs", "1 PD point"; "" for nothing."""
    if value is None:
        return ""
    words = _CREDIT_WORDS.get(unit or "")
    if words is None:
        return format_hours(value, locale)
    singular, plural = words
    return f"{format_decimal(value, locale)} {singular if value == 1 else plural}"
