"""Imports: a credential from elsewhere is verified with Cairn's verifier when imported and kept
with the result (valid or not); input holding no credential stores nothing; re-verification
sees a later revocation; only the educator who imported it reaches it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask

from app.models import Achievement, ImportedCredential, IssuedCredential, Issuer
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.awarding import revocation
from app.services.learning import educators, imports
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.educator.educator_helpers import (
    baked_png,
    count,
    make_educator,
    tampered_png,
    token_from_mail,
)
from tests.app.forgeries import forged_credential

ANN = "ann.lee@school.example.org"
#: An address Ann had at her previous district (not on her account at first).
OLD = "a.lee@previous-district.example.org"


@pytest.fixture
def credential(
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> IssuedCredential:
    issuer = make_issuer()
    return make_award(issuer, make_achievement(issuer), OLD)


def checks(imported: ImportedCredential) -> dict[str, str]:
    return {c.id: c.status for c in imports.report_of(imported).checks}


def test_a_valid_baked_png_is_imported_with_its_verification(
    app: Flask, credential: IssuedCredential
) -> None:
    ann = make_educator(ANN)
    imported = imports.import_credential(
        ann, baked_png(credential), env=service_env(), fallback=None
    )
    assert imported.valid is True
    assert imported.format == "png/json"
    assert imported.document == credential.document  # the payload, exactly as signed
    assert imported.name == "Formative Assessment in Practice"
    assert imported.issuer_name == "District 7 Professional Learning"
    found = checks(imported)
    assert found["proof"] == "pass" and found["status"] == "pass"
    # Awarded to an address Ann has not added: valid, but not provably hers.
    assert found["recipient"] == "warn" and not imports.recipient_matched(imported)
    assert imports.list_for(ann) == [imported]


def test_a_tampered_png_is_kept_with_its_failing_check(
    app: Flask, credential: IssuedCredential
) -> None:
    ann = make_educator(ANN)
    imported = imports.import_credential(
        ann, tampered_png(credential), env=service_env(), fallback=None
    )
    assert imported.valid is False
    assert checks(imported)["proof"] == "fail"
    assert imported.name == "Something I never earned"


@pytest.mark.parametrize(
    ("junk", "message"),
    [
        (b"\x00\x01\x02 not anything", "not"),
        (b"just some words", "not JSON, a JWT, or a baked"),
        (b'{"hello": "world"}', "not an Open Badges credential"),
        (b"[1, 2, 3]", "not JSON, a JWT"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "PNG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "no credential baked"),
    ],
)
def test_junk_is_refused_and_nothing_is_stored(app: Flask, junk: bytes, message: str) -> None:
    ann = make_educator(ANN)
    with pytest.raises(ServiceError, match=message):
        imports.import_credential(ann, junk, env=service_env(), fallback=None)
    assert count(ImportedCredential) == 0


def test_the_same_credential_is_imported_once(app: Flask, credential: IssuedCredential) -> None:
    ann = make_educator(ANN)
    imports.import_credential(ann, credential.document, env=service_env(), fallback=None)
    with pytest.raises(Conflict, match="already imported"):
        imports.import_credential(ann, baked_png(credential), env=service_env(), fallback=None)
    assert count(ImportedCredential) == 1


def test_a_credential_already_in_the_backpack_is_not_imported(
    app: Flask, credential: IssuedCredential
) -> None:
    ann = make_educator(OLD)
    with pytest.raises(Conflict, match="already in your backpack"):
        imports.import_credential(ann, baked_png(credential), env=service_env(), fallback=None)
    assert count(ImportedCredential) == 0


def test_reverifying_sees_a_revocation_and_takes_it_off_the_profile(
    app: Flask, credential: IssuedCredential
) -> None:
    ann = make_educator(ANN)
    imported = imports.import_credential(ann, credential.document, env=service_env(), fallback=None)
    # Ann adds and confirms the address it was awarded to: it is provably hers now.
    educators.add_email(ann, OLD, service_env())
    educators.verify_email(token_from_mail(OLD, "verify_email"), service_env(), educator=ann)
    imported = imports.reverify(ann, imported, env=service_env(), fallback=None)
    assert checks(imported)["recipient"] == "pass"
    assert imports.set_show_on_profile(ann, imported, True) is True
    assert imports.shown_on_profile(ann) == [imported]

    revocation.revoke(credential, "Awarded in error", actor=Actor(label="test"), env=service_env())
    imported = imports.reverify(ann, imported, env=service_env(), fallback=None)
    assert imported.valid is False and checks(imported)["status"] == "fail"
    assert imported.show_on_profile is False and imports.shown_on_profile(ann) == []


def test_only_a_valid_credential_of_the_educator_goes_on_the_profile(
    app: Flask, credential: IssuedCredential
) -> None:
    ann = make_educator(ANN)
    imported = imports.import_credential(ann, credential.document, env=service_env(), fallback=None)
    with pytest.raises(Conflict, match="awarded to one of your confirmed addresses"):
        imports.set_show_on_profile(ann, imported, True)
    assert imported.show_on_profile is False


def test_the_recipient_check_matches_any_confirmed_address(credential: IssuedCredential) -> None:
    document = json.loads(credential.document)
    assert imports.recipient_check(document, [ANN, OLD.upper()]).status == "pass"
    assert imports.recipient_check(document, [ANN]).status == "warn"
    assert imports.recipient_check(document, []).status == "warn"


def test_nobody_else_reaches_an_import(app: Flask, credential: IssuedCredential) -> None:
    ann = make_educator(ANN)
    bob = make_educator("bob@school.example.org", "Bob")
    imported = imports.import_credential(ann, credential.document, env=service_env(), fallback=None)
    with pytest.raises(NotFound):
        imports.get(bob, imported.public_id)
    with pytest.raises(NotFound):
        imports.reverify(bob, imported, env=service_env(), fallback=None)
    with pytest.raises(NotFound):
        imports.set_show_on_profile(bob, imported, False)
    with pytest.raises(NotFound):
        imports.delete(bob, imported, service_env())
    assert imports.get(ann, imported.public_id).id == imported.id
    imports.delete(ann, imported, service_env())
    assert count(ImportedCredential) == 0


def test_labels_say_plainly_what_an_import_is(app: Flask, credential: IssuedCredential) -> None:
    ann = make_educator(ANN)
    imported = imports.import_credential(ann, credential.document, env=service_env(), fallback=None)
    # Genuine, but awarded to an address Ann has not confirmed.
    assert imports.label(imported)["kind"] == "not_yours"
    assert "not awarded to any of your confirmed addresses" in imports.label(imported)["sentence"]
    tampered = imports.import_credential(
        ann, tampered_png(credential), env=service_env(), fallback=None
    )
    assert imports.label(tampered)["kind"] == "invalid"
    educators.add_email(ann, OLD, service_env())
    educators.verify_email(token_from_mail(OLD, "verify_email"), service_env(), educator=ann)
    imported = imports.reverify(ann, imported, env=service_env(), fallback=None)
    assert imports.label(imported) == {
        "kind": "valid",
        "title": "Valid",
        "sentence": "it is valid and was awarded to you.",
    }


def test_a_forgery_naming_an_issuer_that_does_not_answer_is_not_valid(app: Flask) -> None:
    """Anyone's key, named in a URL fragment of an issuer URL that cannot be fetched: the
    signature is genuine, but the issuer is not confirmed, so the import is not valid."""
    env = service_env()
    forged = forged_credential(ANN, now=env.now, loader=env.loader)
    ann = make_educator(ANN)
    imported = imports.import_credential(ann, json.dumps(forged), env=env, fallback=None)
    assert imported.valid is False
    assert checks(imported)["proof"] == "pass" and checks(imported)["issuer_key"] == "warn"
    assert imports.label(imported)["kind"] == "unconfirmed"
    with pytest.raises(Conflict):
        imports.set_show_on_profile(ann, imported, True)
