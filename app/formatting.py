"""One way to show dates, times and numbers on pages: Babel, in the request's locale
(Accept-Language), through :mod:`app.services._core.formatting` (the one implementation, which
emails and the certificate call with their locale).

Templates use the filters ``day`` (a date), ``moment`` (a date and time, in UTC, said so),
``number`` (a whole number), ``decimal``, ``hours`` (credit hours: "1 hour", "1.5 hours") and
``credit`` (credit in its unit: "1.5 CEUs", "10 PD points");
nothing formats a date with ``strftime`` any more, so a second language is a translation
catalogue away. Flask-Babel picks the locale and installs ``gettext``/``_`` in the templates
(the layout and navigation are marked for translation).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

import credentials
from app.services._core import formatting
from app.services._core.formatting import DEFAULT_LOCALE

__all__ = [
    "DEFAULT_LOCALE",
    "check_message",
    "choose_locale",
    "format_count",
    "format_credit",
    "format_day",
    "format_decimal",
    "format_hours",
    "format_moment",
    "init_app",
    "locale_for",
    "page_locale",
]


def choose_locale() -> str:
    """The first locale of the request's Accept-Language that Babel knows; ``en`` otherwise."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return locale_for(request.headers.get("Accept-Language", ""))


@functools.lru_cache(maxsize=256)
def locale_for(accept_language: str) -> str:
    """:func:`choose_locale` for one ``Accept-Language`` header (also outside a request, for
    the credential page's lane: app/public/pages.py). Browsers send few distinct headers, so
    each is parsed once per process."""
    for tag, _quality in parse_accept_header(accept_language, LanguageAccept):
        try:
            return str(Locale.parse(tag, sep="-"))
        except (ValueError, UnknownLocaleError):
            continue
    return DEFAULT_LOCALE


def page_locale() -> Locale:
    """The locale of the page being made (the request's), ``en`` outside a request."""
    found = get_locale() if has_request_context() else None
    return found or Locale.parse(DEFAULT_LOCALE)


def format_day(
    value: date | datetime | str | None,
    locale: Locale | str | None = None,
    *,
    width: str = "medium",
) -> str:
    """A day in words: "Dec 5, 2026" (en), "5 Dec 2026" (en_GB); "" for nothing."""
    return formatting.format_day(value, locale or page_locale(), width=width)


def format_moment(
    value: datetime | None, locale: Locale | str | None = None, *, seconds: bool = False
) -> str:
    """A date and time in UTC: "Dec 5, 2026, 2:05 PM UTC" (en), "5 Dec 2026, 14:05 UTC" (en_GB)."""
    return formatting.format_moment(value, locale or page_locale(), seconds=seconds)


def format_count(value: int | None, locale: Locale | str | None = None) -> str:
    """A whole number with the locale's grouping: "12,345" (en), "12.345" (de)."""
    return formatting.format_count(value, locale or page_locale())


def format_decimal(value: float | Decimal | None, locale: Locale | str | None = None) -> str:
    """A number with up to three decimals in the locale's way: "12.5" (en), "12,5" (de)."""
    return formatting.format_decimal(value, locale or page_locale())


def format_hours(value: float | Decimal | None, locale: Locale | str | None = None) -> str:
    """Credit hours in words: "1 hour", "1.5 hours", "6 hours" (en), "1,5 Stunden" (de)."""
    return formatting.format_hours(value, locale or page_locale())


def format_credit(
    value: float | Decimal | None, unit: str | None = None, locale: Locale | str | None = None
) -> str:
    """Credit in its unit: "6 hours", "1.5 CEUs", "10 PD points"."""
    return formatting.format_credit(value, unit, locale or page_locale())


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
    app.jinja_env.filters["hours"] = format_hours
    app.jinja_env.filters["credit"] = format_credit
    app.jinja_env.globals["credit_units"] = credentials.CREDIT_UNITS
