"""A renewal statement verifies in vc.js: the statement's own proof (the organisation's), and
each credential inside with its own proof, resolving every DID from what Cairn serves; a line
changed after signing fails alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask

from app.models import Achievement, Issuer
from app.services.learning import credit_rules, statements
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.interop.conftest import VcJs
from tests.interop.test_clr_vcjs import _did_documents

RITA = "rita.renewal@school.example.org"


def test_vcjs_verifies_a_renewal_statement_and_each_line_in_it(
    app: Flask,
    vcjs: VcJs,
    local_fetch: Callable[[str], bytes],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., Any],
) -> None:
    district = make_issuer("District 7 Professional Learning", slug="district-7")
    reading = make_achievement(district, "Reading Conferences", credits_available=20,
                               credit_unit="clock_hours")  # fmt: skip
    inclusive = make_achievement(district, "Inclusive Classrooms", credits_available=1.5,
                                 credit_unit="ceu")  # fmt: skip
    data = make_achievement(district, "Data Teams", achievement_type="MicroCredential")
    for achievement in (reading, inclusive, data):
        make_award(district, achievement, RITA, name="Rita Renewal")
    rule = credit_rules.create(district, load_credit_rule({
        "name": "Licence renewal", "cycle_years": 5, "cycle_start": "2025-07-01",
        "hours_required": 50, "micro_credential": 10,
        "categories": [{"name": "Literacy", "minimum": 10, "achievements": [reading.public_id]}],
    }), actor=Actor(label="test"), env=service_env())  # fmt: skip
    env = service_env()
    made = statements.create(district, RITA, env.now.date() - timedelta(days=7), env.now.date(),
                             rule=rule, made_by="staff", actor=Actor(label="test"), env=env)  # fmt: skip
    statement = json.loads(made.document)
    documents = _did_documents(statement, local_fetch)
    assert statement["issuer"]["id"].endswith(":district-7")
    verified, error = vcjs.verify(statement, documents)
    assert verified, error
    inside = statement["credentialSubject"]["verifiableCredential"]
    assert [ok for ok, _ in vcjs.verify_many(inside, documents)] == [True, True, True]
    # The hours and totals are signed: changing them breaks the statement's proof.
    tampered = json.loads(made.document)
    tampered["evidence"][-1]["description"] = "500 hours."
    assert vcjs.verify(tampered, documents)[0] is False
    # A line changed after signing fails on its own; the others still verify.
    tampered = json.loads(made.document)
    tampered["credentialSubject"]["verifiableCredential"][1]["name"] = "Something else"
    lines = tampered["credentialSubject"]["verifiableCredential"]
    assert [ok for ok, _ in vcjs.verify_many(lines, documents)] == [True, False, True]
