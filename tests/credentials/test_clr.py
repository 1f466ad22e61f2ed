"""CLR 2.0 records: built around signed credentials, valid against 1EdTech's CLR schema, verified
outside and inside, baked into PNGs."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from PIL import Image as PillowImage

from credentials import (
    Association,
    BakingError,
    bake_clr_png,
    bake_png,
    clr_schema_errors,
    is_clr,
    pathway_associations,
    unbake_clr_png,
    verify_clr,
)
from tests.credentials.clr_helpers import MODULE, PATHWAY, signed_record, small_png, two_credentials
from tests.credentials.world import NOW, World

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def world() -> World:
    return World()


def test_the_record_holds_each_credential_with_its_own_proof(world: World) -> None:
    embedded = two_credentials(world)
    record = signed_record(world, embedded)
    subject = record["credentialSubject"]
    assert subject["verifiableCredential"] == embedded  # copied as signed, proofs included
    assert [a["id"] for a in subject["achievement"]] == [MODULE, PATHWAY]
    assert record["type"] == ["VerifiableCredential", "ClrCredential"]
    assert record["@context"][:3] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]


def test_the_record_passes_the_clr_schema(world: World) -> None:
    assert clr_schema_errors(signed_record(world, two_credentials(world))) == []


def test_the_schema_refuses_a_record_without_credentials_or_a_date(world: World) -> None:
    record = signed_record(world, two_credentials(world))
    broken = copy.deepcopy(record)
    broken["credentialSubject"]["verifiableCredential"] = []
    del broken["validFrom"]
    errors = clr_schema_errors(broken)
    assert any("verifiableCredential" in e for e in errors)
    assert any("validFrom" in e for e in errors)
    wrong = copy.deepcopy(record)
    wrong["credentialSubject"]["association"][0]["associationType"] = "isCousinOf"
    assert any("isCousinOf" in e for e in clr_schema_errors(wrong))


def test_1edtech_clr_fixture_passes_the_schema() -> None:
    record = json.loads((FIXTURES / "1edtech-validator" / "clr20-simple.json").read_text())
    assert clr_schema_errors(record) == []


def test_pathway_associations_name_both_directions_of_edges_inside_the_record() -> None:
    edges = pathway_associations(
        {PATHWAY: [MODULE, "https://elsewhere.example/not-held"]}, [MODULE, PATHWAY]
    )
    assert edges == [
        Association("isParentOf", PATHWAY, MODULE),
        Association("isChildOf", MODULE, PATHWAY),
    ]
    assert pathway_associations({PATHWAY: [MODULE]}, [MODULE]) == []


def test_verifying_checks_the_record_and_every_credential(world: World) -> None:
    record = signed_record(world, two_credentials(world))
    report = verify_clr(record, loader=world.loader, now=NOW, fetch=world.fetch)
    assert report.record.valid, report.record.as_json()
    assert [r.valid for r in report.embedded] == [True, True]
    assert report.valid
    assert report.record.check("schema").status == "pass"  # type: ignore[union-attr]
    assert report.record.check("issuer_key").status == "pass"  # type: ignore[union-attr]


def test_a_tampered_credential_inside_fails_even_under_a_good_record_signature(
    world: World,
) -> None:
    embedded = two_credentials(world)
    embedded[1]["credentialSubject"]["achievement"]["name"] = "Principal of the year"
    record = signed_record(world, embedded)  # the record is signed over the tampered copy
    report = verify_clr(record, loader=world.loader, now=NOW, fetch=world.fetch)
    assert report.record.valid
    assert [r.valid for r in report.embedded] == [True, False]
    assert report.embedded[1].check("proof").status == "fail"  # type: ignore[union-attr]
    assert report.outcome == "not_valid"


def test_a_tampered_record_fails_its_own_proof(world: World) -> None:
    record = signed_record(world, two_credentials(world))
    record["name"] = "Something else"
    report = verify_clr(record, loader=world.loader, now=NOW, fetch=world.fetch)
    assert report.record.check("proof").status == "fail"  # type: ignore[union-attr]
    assert not report.valid


def test_png_round_trip_and_verification_of_the_baked_record(world: World) -> None:
    record = signed_record(world, two_credentials(world))
    text = json.dumps(record)
    baked = bake_clr_png(small_png(), text)
    assert unbake_clr_png(baked) == text
    assert b"iTXtclrcredential\x00" in baked
    PillowImage.open(io.BytesIO(baked)).load()  # still a PNG an image library reads
    assert is_clr(baked)
    report = verify_clr(baked, loader=world.loader, now=NOW, fetch=world.fetch)
    assert report.record.format == "png/json"
    assert report.valid
    rebaked = bake_clr_png(baked, text)  # baking again replaces the chunk
    assert rebaked.count(b"iTXtclrcredential\x00") == 1


def test_a_png_with_an_ob3_credential_is_not_a_clr(world: World) -> None:
    baked = bake_png(small_png(), json.dumps(world.credential()))
    assert unbake_clr_png(baked) is None
    assert not is_clr(baked)
    report = verify_clr(baked, loader=world.loader, now=NOW)
    assert report.record.check("parse").status == "fail"  # type: ignore[union-attr]
    with pytest.raises(BakingError):
        bake_clr_png(b"not a png", json.dumps(world.credential()))


def test_unreadable_input_is_a_failed_report_not_an_exception(world: World) -> None:
    for bad in (b"{", "[]", b"\x00" * 10):
        assert verify_clr(bad, loader=world.loader, now=NOW).outcome == "not_valid"
