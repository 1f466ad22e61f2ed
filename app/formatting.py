"""One way to show dates, times and numbers: Babel, in the request's locale (Accept-Language).

Templates use the filters ``day`` (a date), ``moment`` (a date and time, in UTC, said so),
``number`` (a whole number) and ``decimal``; nothing formats a date with ``strftime`` any more, so
a second language is a translation catalogue away. Flask-Babel picks the locale and installs
``gettext``/``_`` in the templates (the layout and navigation are marked for translation).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError, dates, numbers
from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale

import credentials

# English is the source language. Dates and numbers follow any locale the browser asks for
# (en_GB, de, fr); words fall back to English until a translation catalogue exists.
DEFAULT_LOCALE = "en"


def choose_locale() -> str:
    """The first locale of the request's Accept-Language that Babel knows; ``en`` otherwise."""
    if not has_request_context():
        return DEFAULT_LOCALE
    for tag, _quality in request.accept_languages:
        try:
            return str(Locale.parse(tag, sep="-"))
        except (ValueError, UnknownLocaleError):
            continue
    return DEFAULT_LOCALE


def _locale() -> Locale:
    found = get_locale() if has_request_context() else None
    return found or Locale.parse(DEFAULT_LOCALE)


def _utc(value: datetime) -> datetime:
    # Cairn keeps naive datetimes in UTC; an aware one is converted, so every time shown is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_day(value: date | datetime | str | None, locale: Locale | str | None = None) -> str:
    """A day in words: "Dec 5, 2026" (en), "5 Dec 2026" (en_GB); "" for nothing.

    An ISO 8601 string (as in a credential's ``validFrom``) is read first.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        value = _utc(value).date()
    return dates.format_date(value, "medium", locale=locale or _locale())


def format_moment(
    value: datetime | None, locale: Locale | str | None = None, *, seconds: bool = False
) -> str:
    """A date and time in UTC: "Dec 5, 2026, 2:05 PM UTC" (en), "5 Dec 2026, 14:05 UTC" (en_GB)."""
    if value is None:
        return ""
    chosen = Locale.parse(locale) if isinstance(locale, str) else locale or _locale()
    moment = _utc(value)
    time = dates.format_time(moment, "medium" if seconds else "short", tzinfo=UTC, locale=chosen)
    day = dates.format_date(moment.date(), "medium", locale=chosen)
    pattern = str(chosen.datetime_formats["medium"])
    return pattern.replace("{1}", day).replace("{0}", time) + " UTC"


def format_count(value: int | None, locale: Locale | str | None = None) -> str:
    """A whole number with the locale's grouping: "12,345" (en), "12.345" (de)."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=locale or _locale())


def format_decimal(value: float | Decimal | None, locale: Locale | str | None = None) -> str:
    """A number with up to three decimals in the locale's way: "12.5" (en), "12,5" (de)."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=locale or _locale())


def check_message(check: Any) -> str:
    """A verification check's message, with the moment a date check names (ISO 8601 in the
    report, for machines) in the reader's format instead."""
    # Reports read back from storage are plain mappings; fresh ones are ``Check`` objects.
    fields: Mapping[str, Any] = check if isinstance(check, Mapping) else vars(check)
    message, at = str(fields.get("message") or ""), fields.get("at")
    if isinstance(at, datetime):
        return message.replace(credentials.format_datetime(at), format_moment(at))
    return message


def init_app(app: Flask) -> None:
    """Flask-Babel (locale from Accept-Language, ``gettext`` in templates) and the filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    Babel(app, locale_selector=choose_locale)
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["number"] = format_count
    app.jinja_env.filters["decimal"] = format_decimal
    app.jinja_env.filters["check_message"] = check_message
