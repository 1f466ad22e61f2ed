"""A learning record (CLR 2.0) exported by Cairn verifies in vc.js: the record's own proof, and
each credential inside with its issuer's proof, resolving every DID from what Cairn serves."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask

from app.extensions import db
from app.models import Achievement, Issuer
from app.services.learning import educators, records
from app.wiring import service_env
from credentials import did_web_document_url
from tests.interop.conftest import VcJs

ANN = "ann.lee@school.example.org"


def _did_documents(record: dict[str, Any], fetch: Callable[[str], bytes]) -> dict[str, Any]:
    """Every DID document the record and its credentials name, as the app serves them."""
    dids = {record["issuer"]["id"]}
    dids |= {c["issuer"]["id"] for c in record["credentialSubject"]["verifiableCredential"]}
    return {did: json.loads(fetch(did_web_document_url(did))) for did in dids}


def test_vcjs_verifies_a_multi_issuer_record_and_each_credential_in_it(
    app: Flask,
    vcjs: VcJs,
    local_fetch: Callable[[str], bytes],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., Any],
) -> None:
    district = make_issuer("District 7 Professional Learning", slug="district-7")
    riverside = make_issuer("Riverside Teaching Centre", slug="riverside")
    make_award(district, make_achievement(district, "Coaching module 1"), ANN)
    make_award(riverside, make_achievement(riverside, "Literacy coaching"), ANN)
    educator = educators.create(ANN, "Ann Lee", service_env(), verified=True, name_confirmed=True)
    record = records.educator_record(educator, None, service_env())
    db.session.commit()  # the instance key, made on first use, is in the key store
    documents = _did_documents(record, local_fetch)
    assert record["issuer"]["id"].endswith(":instance")
    verified, error = vcjs.verify(record, documents)
    assert verified, error
    inside = record["credentialSubject"]["verifiableCredential"]
    assert [ok for ok, _ in vcjs.verify_many(inside, documents)] == [True, True]
    tampered = json.loads(json.dumps(record))
    tampered["credentialSubject"]["verifiableCredential"][0]["name"] = "Something else"
    assert vcjs.verify(tampered, documents)[0] is False
    assert (
        vcjs.verify_many(tampered["credentialSubject"]["verifiableCredential"], documents)[0][0]
        is False
    )
