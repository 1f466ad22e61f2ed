"""Renewal statement pages: the educator's form on ``/me/renewal`` (refused periods shown in the
card they came from, the statement listed once made), the workspace's form (an unknown address
or a bad period said on the form, nothing made; a statement made and audited), and the public
page, JSON and PDF a statement's QR code leads to."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    AuditEvent,
    IssuedCredential,
    Issuer,
    RenewalStatement,
    StaffAccount,
)
from app.services.learning import credit_rules
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.conftest import Web, sign_in_directly
from tests.app.educator.educator_helpers import make_educator, sign_in_as

RITA = "rita.renewal@school.example.org"


def kept() -> int:
    return db.session.scalar(select(func.count()).select_from(RenewalStatement)) or 0


@pytest.fixture
def setting(
    make_staff: Callable[..., StaffAccount],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> dict[str, object]:
    owner = make_staff()
    issuer = make_issuer(owner=owner)
    reading = make_achievement(issuer, "Reading Conferences", credits_available=6)
    make_award(issuer, reading, RITA, name="Rita Renewal")
    rule = credit_rules.create(issuer, load_credit_rule({
        "name": "Licence renewal", "cycle_years": 5, "cycle_start": "2025-07-01",
        "hours_required": 50,
        "categories": [{"name": "Literacy", "minimum": 10, "achievements": [reading.public_id]}],
    }), actor=Actor(label="test"), env=service_env())  # fmt: skip
    return {"owner": owner, "issuer": issuer, "rule": rule}


def test_the_educator_makes_a_statement_from_the_renewal_page(web: Web, setting: dict) -> None:
    sign_in_as(web, make_educator(RITA, "Rita Renewal"))
    rule = setting["rule"]
    shown = web.get("/me/renewal").get_data(as_text=True)
    assert "Make the renewal statement" in shown and f'value="{rule.public_id}"' in shown
    today = service_env().now.date()
    refused = web.submit("/me/renewal", action="/me/renewal/statement", data={
        "rule": rule.public_id, "from": today.isoformat(),
        "to": (today - timedelta(days=1)).isoformat()})  # fmt: skip
    assert refused.status_code == 400
    assert "The first day (from) is after the last day (to)." in refused.get_data(as_text=True)
    empty = web.submit("/me/renewal", action="/me/renewal/statement",
                       data={"rule": rule.public_id, "from": "2001-01-01", "to": "2001-12-31"})  # fmt: skip
    assert empty.status_code == 400 and "No valid credential" in empty.get_data(as_text=True)
    assert kept() == 0
    made = web.submit("/me/renewal", action="/me/renewal/statement", data={
        "rule": rule.public_id, "from": (today - timedelta(days=3)).isoformat(),
        "to": today.isoformat()})  # fmt: skip
    assert made.status_code == 303
    link = made.headers["Location"]
    listed = web.get("/me/renewal").get_data(as_text=True)
    assert "Your renewal statements" in listed and link.split("/")[-1] in listed
    # No audit for the educator's own statement.
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "renewal_statement.create")) == 0  # fmt: skip
    public = web.get(link).get_data(as_text=True)
    assert "Rita Renewal" in public and "Reading Conferences" in public and "Valid" in public
    assert "6 of 50 hours" in public and "44 still needed" in public
    document = web.get(f"{link}/statement.json")
    assert document.mimetype == "application/vc+ld+json"
    assert "ClrCredential" in json.loads(document.get_data())["type"]
    pdf = web.get(f"{link}/statement.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")


def test_staff_make_a_statement_and_bad_input_is_said_on_the_form(web: Web, setting: dict) -> None:
    issuer = setting["issuer"]
    sign_in_directly(web.client, "staff", setting["owner"].id)
    path = f"/workspace/{issuer.slug}/statements"
    blank = web.get(f"{path}?email={RITA}").get_data(as_text=True)
    assert f'value="{RITA}"' in blank and "No statements yet" in blank
    today = service_env().now.date()
    period = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}
    for data, message in (
        ({"email": "nobody@school.example.org", **period}, "knows no educator with that address"),
        ({"email": "not an address", **period}, "address"),
        ({"email": RITA, "from": "2026-13-01", "to": period["to"]}, "Enter the first day as"),
        ({"email": RITA, "from": period["to"], "to": "2000-01-01"}, "is after the last day"),
    ):
        refused = web.submit(path, data={"rule": setting["rule"].public_id, **data})
        assert refused.status_code == 400, data
        assert message in refused.get_data(as_text=True), data
    assert kept() == 0
    made = web.submit(path, data={"email": RITA, "rule": "", **period})
    assert made.status_code == 303 and kept() == 1
    statement = db.session.scalars(select(RenewalStatement)).one()
    assert statement.rule_name is None and statement.made_by == "staff"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "renewal_statement.create")) == 1  # fmt: skip
    listed = web.get(path).get_data(as_text=True)
    assert statement.public_id in listed and "Rita Renewal" in listed
