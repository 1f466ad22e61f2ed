"""Learning records (CLR 2.0): the educator's export from the backpack and the staff's PD
transcript: who signs, what goes in (valid credentials only, as signed), pathway associations,
the CLR schema, verification of the record and each credential, JSON and baked PNG downloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, AuditEvent, IssuedCredential, Issuer
from app.services._core.errors import Invalid, NotFound
from app.services.awarding import revocation
from app.services.learning import records
from app.services.org import achievements, instance, issuers
from app.services.org.achievements import AwardRulesInput
from app.services.verification import verifier
from app.wiring import service_env
from credentials import clr_schema_errors, unbake_clr_png
from tests.app.conftest import BASE_URL, Web
from tests.app.educator.educator_helpers import make_educator, sign_in_as, token_from_mail
from tests.app.portfolio_helpers import ACTOR

ANN = "ann.lee@school.example.org"
ANN_HOME = "ann@home.example.net"


@pytest.fixture
def district(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer("District 7 Professional Learning", slug="district-7")


@pytest.fixture
def held(
    app: Flask,
    district: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> dict[str, Any]:
    """Ann holds two coaching modules and the pathway they complete (awarded automatically)."""
    modules = [make_achievement(district, f"Coaching module {n}") for n in (1, 2)]
    pathway = make_achievement(district, "Instructional Coach")
    achievements.update_award_rules(
        pathway,
        AwardRulesInput(pathway_required=2, pathway_members=tuple(m.public_id for m in modules)),
        actor=ACTOR,
        env=service_env(),
    )
    educator = make_educator(ANN)
    for module in modules:
        make_award(district, module, ANN)
    found = db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.achievement_id == pathway.id)
    ).all()
    assert len(found) == 1, "the pathway was awarded"
    return {"educator": educator, "modules": modules, "pathway": pathway}


def _signed_ids(record: dict[str, Any]) -> dict[str, str]:
    """Achievement name -> the id it is signed with in the record."""
    return {a["name"]: a["id"] for a in record["credentialSubject"]["achievement"]}


def _verify(record: Any) -> Any:
    env = service_env()
    return verifier.verify_record(record, env=env, fallback=None)


def test_a_one_issuer_record_is_signed_by_that_issuer_with_its_pathways(
    held: dict[str, Any], district: Issuer
) -> None:
    record = records.educator_record(held["educator"], None, service_env())
    assert clr_schema_errors(record) == []
    assert record["issuer"]["id"] == issuers.issuer_did(district, service_env())
    assert "partial" not in record
    inside = record["credentialSubject"]["verifiableCredential"]
    stored = {c.id: json.loads(c.document) for c in db.session.scalars(select(IssuedCredential))}
    assert sorted(inside, key=lambda c: c["id"]) == sorted(stored.values(), key=lambda c: c["id"])
    ids = _signed_ids(record)
    pathway, first, second = (
        ids["Instructional Coach"],
        ids["Coaching module 1"],
        ids["Coaching module 2"],
    )
    edges = {
        (a["associationType"], a["sourceId"], a["targetId"])
        for a in record["credentialSubject"]["association"]
    }
    assert edges == {
        ("isParentOf", pathway, first),
        ("isParentOf", pathway, second),
        ("isChildOf", first, pathway),
        ("isChildOf", second, pathway),
    }
    report = _verify(record)
    assert report.record.valid, report.record.as_json()
    assert len(report.embedded) == 3 and all(r.valid for r in report.embedded)
    assert report.valid


def test_a_record_of_two_issuers_is_signed_by_the_instance(
    held: dict[str, Any],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    other = make_issuer("Riverside Teaching Centre", slug="riverside")
    make_award(other, make_achievement(other, "Literacy coaching"), ANN)
    record = records.educator_record(held["educator"], None, service_env())
    assert (
        record["issuer"]["id"]
        == instance.did(service_env())
        == "did:web:badges.example.org:instance"
    )
    assert record["proof"][0]["verificationMethod"].startswith(instance.did(service_env()) + "#")
    assert clr_schema_errors(record) == []
    document = instance.did_document(service_env())
    assert document["assertionMethod"] == [record["proof"][0]["verificationMethod"]]
    report = _verify(record)
    assert report.valid, report.as_json()
    assert len(report.embedded) == 4
    # The same key signs the next record: one instance key, kept in the key store.
    again = records.educator_record(held["educator"], None, service_env())
    assert again["proof"][0]["verificationMethod"] == record["proof"][0]["verificationMethod"]


def test_chosen_credentials_make_a_partial_record_without_the_pathway_edges(
    held: dict[str, Any],
) -> None:
    choices = records.educator_choices(held["educator"], service_env())
    module = next(c for c in choices if c.achievement_name == "Coaching module 1")
    record = records.educator_record(held["educator"], [module.key], service_env())
    assert record["partial"] is True
    assert len(record["credentialSubject"]["verifiableCredential"]) == 1
    assert "association" not in record["credentialSubject"]
    assert clr_schema_errors(record) == []


def test_revoked_credentials_and_other_peoples_are_never_in_a_record(
    held: dict[str, Any],
    district: Issuer,
    make_award: Callable[..., IssuedCredential],
) -> None:
    choices = records.educator_choices(held["educator"], service_env())
    revoked = choices[0].issued
    revocation.revoke(revoked, "Awarded in error", actor=ACTOR, env=service_env())
    someone_else = make_award(district, held["modules"][0], "bob@school.example.org")
    assert revoked.id not in [
        c.key for c in records.educator_choices(held["educator"], service_env())
    ]
    record = records.educator_record(held["educator"], None, service_env())
    inside = [c["id"] for c in record["credentialSubject"]["verifiableCredential"]]
    assert len(inside) == 2 and not any(revoked.id in i for i in inside)
    for refused in ([revoked.id], [someone_else.id], []):
        with pytest.raises(Invalid):
            records.educator_record(held["educator"], refused, service_env())


def test_a_tampered_credential_in_a_downloaded_record_fails_verification(
    held: dict[str, Any],
) -> None:
    record = records.educator_record(held["educator"], None, service_env())
    record["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["achievement"][
        "name"
    ] = "Superintendent"
    report = _verify(record)
    assert not report.record.valid  # the record's own proof covers what it holds
    assert not report.embedded[0].valid and report.embedded[1].valid
    assert report.outcome == "not_valid"


def test_staff_transcript_holds_only_the_organisations_credentials_and_is_audited(
    held: dict[str, Any],
    district: Issuer,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    other = make_issuer("Riverside Teaching Centre", slug="riverside")
    make_award(other, make_achievement(other, "Literacy coaching"), ANN)
    record = records.staff_record(district, ANN, None, actor=ACTOR, env=service_env())
    assert record["issuer"]["id"] == issuers.issuer_did(district, service_env())
    assert len(record["credentialSubject"]["verifiableCredential"]) == 3
    assert _verify(record).valid
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record.exported"))
    assert event is not None and event.issuer_id == district.id
    assert event.subject_id == record["id"]
    with pytest.raises(NotFound):
        records.staff_record(
            other, "nobody@school.example.org", None, actor=ACTOR, env=service_env()
        )
    with pytest.raises(Invalid):
        records.staff_record(district, "not an address", None, actor=ACTOR, env=service_env())


def test_credentials_at_another_confirmed_address_count_for_the_staff_export(
    held: dict[str, Any], district: Issuer, make_award: Callable[..., IssuedCredential]
) -> None:
    from app.services.learning import educators

    educators.add_email(held["educator"], ANN_HOME, service_env())
    token = token_from_mail(ANN_HOME, "verify_email")
    educators.verify_email(token, service_env(), educator=held["educator"])
    db.session.commit()
    make_award(district, held["modules"][0], ANN_HOME)
    assert len(records.staff_choices(district, ANN_HOME, service_env())) == 4


# --- The pages ------------------------------------------------------------------------------


def test_backpack_links_to_the_export_and_the_form_downloads_json(
    web: Web, held: dict[str, Any]
) -> None:
    sign_in_as(web, held["educator"])
    assert "/me/record" in web.get("/me/").get_data(as_text=True)
    page = web.get("/me/record")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Coaching module 1" in text and "Instructional Coach" in text
    response = web.submit("/me/record", data={"scope": "all", "format": "json"})
    assert response.status_code == 200
    assert response.mimetype == "application/vc+ld+json"
    assert "learning-record.json" in response.headers["Content-Disposition"]
    record = json.loads(response.data)
    assert clr_schema_errors(record) == [] and _verify(record).valid


def test_the_form_bakes_a_png_of_the_chosen_credentials(web: Web, held: dict[str, Any]) -> None:
    sign_in_as(web, held["educator"])
    chosen = records.educator_choices(held["educator"], service_env())[:2]
    response = web.submit(
        "/me/record",
        data={"scope": "chosen", "format": "png", "credential": [c.key for c in chosen]},
    )
    assert response.status_code == 200 and response.mimetype == "image/png"
    text = unbake_clr_png(response.data)
    assert text is not None
    record = json.loads(text)
    assert len(record["credentialSubject"]["verifiableCredential"]) == 2
    assert _verify(response.data).valid


def test_the_form_refuses_nothing_chosen_and_unknown_formats(
    web: Web, held: dict[str, Any]
) -> None:
    sign_in_as(web, held["educator"])
    nothing = web.submit("/me/record", data={"scope": "chosen", "format": "json"})
    assert nothing.status_code == 400
    assert "Tick at least one credential." in nothing.get_data(as_text=True)
    odd = web.submit("/me/record", data={"scope": "all", "format": "pdf"})
    assert odd.status_code == 400 and "Choose JSON or PNG." in odd.get_data(as_text=True)
    strange = web.submit(
        "/me/record", data={"scope": "chosen", "format": "json", "credential": "0" * 36}
    )
    assert strange.status_code == 400
    assert "cannot go in a record" in strange.get_data(as_text=True)


def test_the_workspace_exports_a_transcript(
    web: Web,
    held: dict[str, Any],
    district: Issuer,
    make_staff: Callable[..., Any],
) -> None:
    from app.services.org import staff as staff_service

    awarder = make_staff("awarder@district7.example.org", name="Ada Awarder")
    staff_service.set_role(district, awarder, "awarder", actor=ACTOR, env=service_env())
    web.sign_in("awarder@district7.example.org")
    path = f"/workspace/{district.slug}/records"
    found = web.get(f"{path}?email={ANN}")
    assert found.status_code == 200 and "Instructional Coach" in found.get_data(as_text=True)
    response = web.submit(
        f"{path}?email={ANN}", action=path, data={"email": ANN, "scope": "all", "format": "json"}
    )
    assert response.status_code == 200
    assert "pd-transcript.json" in response.headers["Content-Disposition"]
    assert _verify(json.loads(response.data)).valid
    bad = web.get(f"{path}?email=not-an-address")
    assert bad.status_code == 400


def test_the_instance_did_document_is_served(client: Any, held: dict[str, Any]) -> None:
    instance.signing_key(service_env())
    db.session.commit()
    response = client.get("/instance/did.json", base_url=BASE_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/did+ld+json"
    assert response.json["id"] == "did:web:badges.example.org:instance"
    assert len(response.json["verificationMethod"]) == 1


def test_an_imported_credential_goes_in_and_the_instance_signs(
    held: dict[str, Any],
    district: Issuer,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    from app.services.learning import imports

    elsewhere = make_issuer("Riverside Teaching Centre", slug="riverside")
    earned = make_award(elsewhere, make_achievement(elsewhere, "Literacy coaching"), ANN_HOME)
    imported = imports.import_credential(
        held["educator"], earned.document, env=service_env(), fallback=None
    )
    assert imported.valid
    choices = records.educator_choices(held["educator"], service_env())
    assert choices[-1].key == f"imported-{imported.public_id}" and choices[-1].issued is None
    record = records.educator_record(held["educator"], [choices[-1].key], service_env())
    assert record["issuer"]["id"] == instance.did(service_env())
    assert record["credentialSubject"]["verifiableCredential"] == [json.loads(earned.document)]
    assert clr_schema_errors(record) == [] and _verify(record).valid
    # Only Cairn's own credentials of its organisation go in a staff transcript.
    transcript = records.staff_record(district, ANN, None, actor=ACTOR, env=service_env())
    assert len(transcript["credentialSubject"]["verifiableCredential"]) == 3


def test_a_record_the_clr_schema_would_refuse_is_never_made(
    held: dict[str, Any],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    from app.services.learning import imports

    elsewhere = make_issuer("Riverside Teaching Centre", slug="riverside")
    earned = make_award(elsewhere, make_achievement(elsewhere, "Literacy coaching"), ANN_HOME)
    imported = imports.import_credential(
        held["educator"], earned.document, env=service_env(), fallback=None
    )
    # A stored import that lost its validFrom (it was valid when checked; its copy is not).
    document = json.loads(imported.document)
    del document["validFrom"]
    imported.document = json.dumps(document)
    db.session.commit()
    with pytest.raises(Invalid, match=r"CLR 2\.0 schema"):
        records.educator_record(held["educator"], [f"imported-{imported.public_id}"], service_env())


# --- The Verify page and API read a record too ----------------------------------------------


def test_the_verify_page_checks_a_baked_record_and_each_credential(
    web: Web, held: dict[str, Any]
) -> None:
    import io

    record = records.educator_record(held["educator"], None, service_env())
    db.session.commit()
    baked = records.baked_png(record)
    response = web.submit(
        "/verify",
        data={"file": (io.BytesIO(baked), "learning-record.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Verify a learning record" in html
    assert "The record and all 3 credentials in it are genuine and current." in html
    assert html.count('class="card record-credential"') == 3
    record["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["achievement"][
        "name"
    ] = "Superintendent"
    tampered = web.submit("/verify", data={"text": json.dumps(record)})
    assert tampered.status_code == 200
    assert "The record itself did not verify" in tampered.get_data(as_text=True)


def test_the_verify_api_answers_a_record_as_json(web: Web, held: dict[str, Any]) -> None:
    record = records.educator_record(held["educator"], None, service_env())
    db.session.commit()
    response = web.client.post(
        "/api/verify",
        data=records.baked_png(record),
        content_type="image/png",
        base_url=BASE_URL,
    )
    assert response.status_code == 200
    body = response.json
    assert body["kind"] == "ClrCredential" and body["valid"] is True
    assert body["summary"]["kind"] == "valid"
    assert [c["valid"] for c in body["credentials"]] == [True, True, True]
