"""The award email rendered once for many recipients (``emails.render_slotted``) is, message
for message, what Jinja renders for each: names and links of every kind, escaped alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape
from sqlalchemy import select

from app.services.mail import emails

PER_RECIPIENT = ("recipient_name", "manage_link", "claim_link")
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
links = st.one_of(st.none(), st.just(""), texts.map(lambda t: f"https://b.example/m/{t}"))


def _award(**values: object) -> dict[str, object]:
    return {
        "issuer_name": "Springfield <District> & Co",
        "achievement_name": 'Safety "First"',
        "valid_until": datetime(2027, 6, 1, tzinfo=UTC),
        "image_url": None,
        "days": 30,
        **values,
    }


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(st.none(), texts),
    manage=texts.map(lambda t: f"https://b.example/credentials/x/manage/{t}"),
    claim=links,
    link=texts,
    issuer_name=texts,
    valid_until=st.sampled_from([None, datetime(2027, 6, 1, tzinfo=UTC)]),
    image_url=st.sampled_from([None, "https://b.example/i.png?a=1&b=<2>"]),
    locale=st.sampled_from(["en", "fr"]),
)
def test_slotted_award_email_equals_jinja(
    name: str | None,
    manage: str,
    claim: str | None,
    link: str,
    issuer_name: str,
    valid_until: datetime | None,
    image_url: str | None,
    locale: str,
) -> None:
    context = _award(issuer_name=issuer_name, valid_until=valid_until, image_url=image_url)
    slots = {"recipient_name": name, "manage_link": manage, "claim_link": claim, "link": link}
    expected = emails.render("award", locale=locale, **context, **slots)
    assert emails.render_slotted("award", locale=locale, slots=slots, **context) == expected
    # Again, now from the plan the first call kept.
    assert emails.render_slotted("award", locale=locale, slots=slots, **context) == expected


def test_many_recipients_share_one_plan() -> None:
    emails._plans.clear()
    for i in range(20):
        slots = {
            "recipient_name": f"Ada <{i}>",
            "manage_link": f"https://b.example/credentials/{i}/manage/t{i}",
            "claim_link": f"https://b.example/me/claim/{i}/c{i}",
            "link": f"https://b.example/credentials/{i}",
        }
        got = emails.render_slotted("award", locale="en", slots=slots, **_award())
        assert got == emails.render("award", locale="en", **slots, **_award())
        assert f"Ada &lt;{i}&gt;" in got[2] and f"Ada <{i}>" in got[1]
    assert len(emails._plans) == 1


def test_a_template_that_transforms_a_slot_is_rendered_by_jinja(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plan only holds for plain ``{{ slot }}`` outputs; any other use is caught when the
    plan is made, and every such message then goes through Jinja."""
    env = Environment(
        loader=DictLoader(
            {
                "t/subject.txt": "Hi {{ name | upper }}",
                "t/body.txt": "{{ name[:3] }} {{ link }}",
                "t/body.html": "<p>{{ name }}</p>",
            }
        ),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
    )
    monkeypatch.setattr(emails, "_templates", env)
    emails._plans.clear()
    for name in ("ada", "Bob <b>"):
        slots = {"name": name, "link": "https://b.example/x"}
        got = emails.render_slotted("t", locale="en", slots=slots)
        assert got == (
            f"Hi {name.upper()}",
            f"{name[:3]} https://b.example/x",
            emails.render("t", **slots)[2],
        )
    assert list(emails._plans.values()) == [None]


def test_a_value_holding_the_sentinel_characters_is_rendered_by_jinja() -> None:
    slots = {
        "recipient_name": "\ue000link\ue001",
        "manage_link": "https://b.example/m",
        "claim_link": None,
        "link": "https://b.example/c",
    }
    got = emails.render_slotted("award", locale="en", slots=slots, **_award())
    assert got == emails.render("award", locale="en", **slots, **_award())


def test_award_batches_of_one_day_share_one_plan(
    app: object, make_issuer: Any, make_achievement: Any
) -> None:
    """The award email is planned once for every batch of a day, not once per batch: its
    context holds the expiry's day, not the moment (which differs from batch to batch)."""
    from app.extensions import db
    from app.models import EmailMessage
    from app.services.awarding import issuing
    from app.services.awarding.issuing import AwardInput
    from app.services.org.audit import Actor
    from app.wiring import service_env

    issuer = make_issuer()
    achievement = make_achievement(issuer, default_validity_days=30)
    emails._plans.clear()
    for batch in range(3):
        env = service_env()
        awards = [AwardInput(email=f"b{batch}-{n}@example.org", name="Ada") for n in range(2)]
        outcomes = issuing.issue_many(issuer, achievement, awards, actor=Actor(), env=env)
        assert all(o.credential is not None for o in outcomes)
    assert len(emails._plans) == 1
    bodies = {m.body_text.split("valid until ")[1].split(".")[0] for m in db.session.scalars(
        select(EmailMessage))}  # fmt: skip
    assert len(bodies) == 1
