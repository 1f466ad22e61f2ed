"""app/formatting.py: dates, times, numbers and hours in the request's locale, English by default,
through the one implementation services call with their own locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from flask import Flask, render_template_string

from app.formatting import (
    check_message,
    choose_locale,
    format_count,
    format_day,
    format_decimal,
    format_hours,
    format_moment,
)
from app.services._core import formatting as shared
from credentials import Check, format_datetime

# Naive, as Cairn stores its times (in UTC).
MOMENT = datetime(2026, 12, 5, 14, 5, 3)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("locale", "day", "moment"),
    [
        # CLDR puts a narrow no-break space before AM/PM, so the time never breaks from it.
        ("en", "Dec 5, 2026", "Dec 5, 2026, 2:05\u202fPM UTC"),
        ("en_GB", "5 Dec 2026", "5 Dec 2026, 14:05 UTC"),
        ("de", "05.12.2026", "05.12.2026, 14:05 UTC"),
        ("fr", "5 déc. 2026", "5 déc. 2026, 14:05 UTC"),
    ],
)
def test_days_and_moments_follow_the_locale(locale: str, day: str, moment: str) -> None:
    assert format_day(MOMENT, locale) == day
    assert format_day(MOMENT.date(), locale) == day
    assert format_moment(MOMENT, locale) == moment


def test_times_are_shown_in_utc_whatever_their_zone() -> None:
    # Naive datetimes are UTC (how Cairn stores them); an aware one is converted.
    new_york = MOMENT.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    assert format_moment(new_york, "en_GB") == "5 Dec 2026, 14:05 UTC"
    assert format_moment(MOMENT, "en_GB", seconds=True) == "5 Dec 2026, 14:05:03 UTC"
    # The day is UTC's day too: 23:30 in New York is the next day in UTC.
    late = datetime(2026, 12, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert format_day(late, "en") == "Dec 6, 2026"


def test_iso_strings_and_nothing() -> None:
    assert format_day("2026-12-05T14:05:03Z", "en") == "Dec 5, 2026"
    assert format_day("2026-12-05", "en") == "Dec 5, 2026"
    assert format_day(None) == format_day("") == format_moment(None) == ""
    assert format_count(None) == format_decimal(None) == ""


def test_numbers_follow_the_locale() -> None:
    assert format_count(12345, "en") == "12,345"
    assert format_count(12345, "de") == "12.345"
    assert format_decimal(12.5, "en") == "12.5"
    assert format_decimal(12.5, "fr") == "12,5"


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "en"),
        ("en-GB,en;q=0.8", "en_GB"),
        ("de-DE,de;q=0.9", "de_DE"),
        ("xx-YY, fr;q=0.5", "fr"),
        ("*", "en"),
        ("not a language!!", "en"),
    ],
)
def test_the_locale_comes_from_accept_language(app: Flask, header: str | None, chosen: str) -> None:
    headers = {"Accept-Language": header} if header else {}
    with app.test_request_context("/", headers=headers):
        assert choose_locale() == chosen
    with app.app_context():
        assert choose_locale() == "en"


def test_templates_have_the_filters_and_gettext(app: Flask) -> None:
    template = "{{ _('Menu') }} {{ when|day }} · {{ when|moment }} · {{ 1234|number }}"
    with app.test_request_context("/", headers={"Accept-Language": "en-GB"}):
        shown = render_template_string(template, when=MOMENT)
    assert shown == "Menu 5 Dec 2026 · 5 Dec 2026, 14:05 UTC · 1,234"
    with app.test_request_context("/"):
        assert render_template_string("{{ when|day }}", when=date(2026, 1, 2)) == "Jan 2, 2026"


def test_a_date_checks_moment_is_shown_in_the_readers_format(app: Flask) -> None:
    moment = datetime(2026, 12, 5, 14, 6, 31, tzinfo=UTC)
    check = Check("valid_from", "pass", f"Valid from {format_datetime(moment)}.", at=moment)
    with app.test_request_context(headers={"Accept-Language": "en-GB"}):
        assert check_message(check) == "Valid from 5 Dec 2026, 14:06 UTC."
    # Other checks, and reports read back as plain data, keep their message as it is.
    plain = Check("proof", "pass", "The eddsa-rdfc-2022 signature is valid.")
    with app.test_request_context():
        assert check_message(plain) == "The eddsa-rdfc-2022 signature is valid."
        assert check_message({"message": "It does not expire."}) == "It does not expire."


@pytest.mark.parametrize(
    ("value", "locale", "said"),
    [
        (6.0, "en", "6 hours"),
        (1.0, "en", "1 hour"),
        (1.5, "en", "1.5 hours"),
        (1.5, "de", "1,5 Stunden"),
        (1234.5, "en", "1,234.5 hours"),
        (None, "en", ""),
    ],
)
def test_credit_hours_in_words(app: Flask, value: float | None, locale: str, said: str) -> None:
    assert format_hours(value, locale) == said
    language = locale.replace("_", "-")
    with app.test_request_context("/", headers={"Accept-Language": language}):
        assert render_template_string("{{ value|hours }}", value=value) == said


def test_pages_and_services_share_one_implementation(app: Flask) -> None:
    # app.formatting is the request's locale put in front of the services' functions, so a page,
    # an email and a certificate write a date the same way.
    with app.test_request_context("/", headers={"Accept-Language": "en-GB"}):
        assert format_day(MOMENT) == shared.format_day(MOMENT, "en_GB")
        assert format_day(MOMENT, width="long") == shared.format_day(MOMENT, "en_GB", width="long")
        assert format_moment(MOMENT) == shared.format_moment(MOMENT, "en_GB")
        assert format_hours(2.5) == shared.format_hours(2.5, "en_GB") == "2.5 hours"
    assert shared.format_day(MOMENT, "en", width="long") == "December 5, 2026"
    assert shared.format_day(MOMENT, "en_GB", width="long") == "5 December 2026"
