"""The award schema (the form, a JSON body and bulk rows read through it): defaults, expiry,
evidence, and errors named by their path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from app.services.awarding.issuing import award_input
from schemas.awards import load_award
from schemas.errors import flat_errors


def test_the_schema_reads_a_json_body_as_it_reads_the_form() -> None:
    fields = load_award(
        {
            "email": "ann@school.example.org",
            "name": "Ann",
            "show_name": False,
            "evidence": [
                {"url": "https://example.org/work", "name": "Work"},
                {"narrative": "Did it"},
            ],
            "expiry": "date",
            "expiry_date": "2030-06-30",
        }
    )
    award = award_input(fields)
    assert award.email == "ann@school.example.org" and award.show_name is False
    assert award.valid_until == datetime(2030, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert not award.no_expiry
    assert [(e.url, e.name, e.narrative) for e in award.evidence] == [
        ("https://example.org/work", "Work", None),
        (None, None, "Did it"),
    ]
    assert award_input(load_award({"email": "a@b.example.org", "expiry": "never"})).no_expiry
    defaults = load_award({"email": "a@b.example.org"})
    assert defaults["show_name"] is True and defaults["evidence"] == ()
    assert defaults["valid_until"] is None and defaults["no_expiry"] is False
    with pytest.raises(ValidationError) as caught:
        load_award({"email": "a@b.example.org", "evidence": [{"url": "ftp://x.example.org"}, "x"]})
    assert set(flat_errors(caught.value, separator=".")) == {"evidence.0.url", "evidence.1._schema"}
    with pytest.raises(ValidationError) as caught:
        load_award(["not", "a", "mapping"])  # type: ignore[arg-type]
    assert set(flat_errors(caught.value, separator=".")) == {"_schema"}
