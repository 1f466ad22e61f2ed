"""The verifier: 1EdTech fixtures judged as 1EdTech judges them, Cairn's own credentials in
every format, status lists, and a corpus of bad inputs that must each fail cleanly."""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from credentials import baking
from credentials.jwk import public_jwk
from credentials.multikey import encode_public_key
from credentials.proofs.data_integrity import add_proof
from credentials.proofs.jwt import sign_jwt
from credentials.verify import FAIL, PASS, SKIP, WARN, VerificationReport, verify_credential
from keys import generate_key
from tests.credentials.world import ISSUER_ID, NOW, REVOCATION_URL, World

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "1edtech-validator"


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def verify(data: Any, world: World, **kwargs: Any) -> VerificationReport:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("fetch", world.fetch)
    return verify_credential(data, loader=world.loader, **kwargs)


def statuses(report: VerificationReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def png_bytes(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (size, size), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_chunk(png: bytes, chunk: bytes) -> bytes:
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


# ------------------------------------------------------------- the 1EdTech public-validator fixtures

#: fixture -> (outcome, checks that must fail). Verified offline, so status is skipped. Every
#: signature 1EdTech's validator accepts here is genuine, but each key is an https URL (or a JWK in
#: the JWT header) whose document was not fetched: nothing ties it to the issuer, so the verdict
#: is "signature genuine, issuer not confirmed", never "valid" (the 1EdTech validator says valid).
UNCONFIRMED = "issuer_not_confirmed"
EXPECTED = {
    "simple.json": (UNCONFIRMED, set()),
    "simple-multiple-proofs.json": (UNCONFIRMED, set()),
    "simple_v1.json": (UNCONFIRMED, set()),
    "simple-eddsa-2022.json": (UNCONFIRMED, set()),
    "complete.json": (UNCONFIRMED, set()),
    "endorsement-valid.json": (UNCONFIRMED, set()),
    "simple-json.png": (UNCONFIRMED, set()),
    "simple-json.svg": (UNCONFIRMED, set()),
    "simple-jwt.png": (UNCONFIRMED, set()),
    "simple-jwt.svg": (UNCONFIRMED, set()),
    "simple-jwt_v1.png": (UNCONFIRMED, set()),
    "simple-jwt_v1.svg": (UNCONFIRMED, set()),
    "simple-err-expired.json": ("not_valid", {"valid_until"}),
    # Also lacks credentialSubject.achievement, so the schema fails as well.
    "simple-err-issued.json": ("not_valid", {"valid_from", "schema"}),
    "simple-noproof.json": ("not_valid", {"proof", "schema"}),
    # Deliberately stricter than the 1EdTech validator: the key's controller (a did:key) is not
    # the issuer (a urn:uuid), and the OB 3.0 implementation guide requires that they match.
    "simple-did-key-method.json": ("not_valid", {"issuer_key"}),
    # `proof` is an object: the compact JSON-LD form, a schema warning as in 1EdTech's validator.
    "simple-did-web-method.json": (UNCONFIRMED, set()),
    # Expired in 2020, and its key (#key-1) can only be fetched from 1edtech.edu.
    "complete_v1.json": ("not_valid", {"valid_until", "proof", "issuer_key", "schema", "terms"}),
    # An unpublished draft context, and no key to check the JWT with.
    "simple.jwt": ("not_valid", {"context", "schema", "terms", "proof", "issuer_key"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_1edtech_fixtures(name: str, world: World) -> None:
    outcome, failing = EXPECTED[name]
    report = verify((FIXTURES / name).read_bytes(), world, fetch=None)
    failed = {c.id for c in report.checks if c.status == FAIL}
    assert report.outcome == outcome, report.as_json()["checks"]
    assert report.valid is (outcome == "valid")
    assert report.as_json()["outcome"] == outcome
    assert failed == failing


def test_compact_json_ld_forms_are_a_schema_warning_not_a_failure(world: World) -> None:
    report = verify((FIXTURES / "simple-did-web-method.json").read_bytes(), world, fetch=None)
    schema_check = report.check("schema")
    assert schema_check is not None
    assert (schema_check.status, schema_check.code) == (WARN, "compact_form")
    assert "proof is an object rather than an array" in schema_check.message


def test_a_real_structural_error_still_fails_the_schema_in_compact_form(world: World) -> None:
    credential = json.loads((FIXTURES / "simple-did-web-method.json").read_text())
    del credential["credentialSubject"]["achievement"]
    report = verify(credential, world, fetch=None)
    schema_check = report.check("schema")
    assert schema_check is not None and schema_check.status == FAIL
    assert "achievement" in schema_check.message
    assert "proof" not in schema_check.message  # the compact form is not the problem reported
    assert report.outcome == "not_valid"


def test_expired_and_not_yet_valid_fail_on_the_right_check(world: World) -> None:
    expired = verify((FIXTURES / "simple-err-expired.json").read_bytes(), world, fetch=None)
    assert expired.check("valid_until").code == "expired"  # type: ignore[union-attr]
    future = verify((FIXTURES / "simple-err-issued.json").read_bytes(), world, fetch=None)
    assert future.check("valid_from").code == "not_yet_valid"  # type: ignore[union-attr]
    unsigned = verify((FIXTURES / "simple-noproof.json").read_bytes(), world, fetch=None)
    assert unsigned.check("proof").code == "unsigned"  # type: ignore[union-attr]


def test_1edtech_bitstring_revoked_credential(world: World) -> None:
    credential = json.loads(
        (FIXTURES / "bit-string-list/credential-status-revoked.json").read_text()
    )
    url = credential["credentialStatus"]["statusListCredential"]
    served = World(documents={url: json.loads((FIXTURES / "bit-string-list/testlist").read_text())})
    report = verify(credential, served, fetch=served.fetch)
    assert report.check("status").code == "revoked"  # type: ignore[union-attr]
    assert not report.valid


def test_legacy_and_endorsement_fixtures_warn_where_they_should(world: World) -> None:
    legacy = verify((FIXTURES / "simple_v1.json").read_bytes(), world, fetch=None)
    assert legacy.check("context").status == WARN  # type: ignore[union-attr]
    complete = verify((FIXTURES / "complete.json").read_bytes(), world, fetch=None)
    # Its five endorsements are placeholders that do not verify: reported, not fatal.
    assert complete.check("endorsements").status == WARN  # type: ignore[union-attr]


# ------------------------------------------------------------- Cairn's own credentials


def test_issued_credential_is_fully_valid(world: World) -> None:
    report = verify(world.credential(), world, recipient="Teacher@School.example.org")
    assert report.valid
    assert statuses(report) == {
        "parse": PASS,
        "context": PASS,
        "type": PASS,
        "schema": PASS,
        "terms": PASS,
        "proof": PASS,
        "issuer_key": PASS,
        "valid_from": PASS,
        "valid_until": PASS,
        "status": PASS,
        "recipient": PASS,
        "endorsements": SKIP,
    }
    assert [c.id for c in report.checks][:3] == ["parse", "context", "type"]


def test_wrong_recipient(world: World) -> None:
    report = verify(world.credential(), world, recipient="someone.else@school.example.org")
    assert report.check("recipient").status == FAIL and not report.valid  # type: ignore[union-attr]


def test_revocation_and_suspension_flip_the_verdict() -> None:
    world = World()
    revocable = world.credential(index=99)
    suspendable = world.credential(index=42, purpose="suspension")
    assert verify(revocable, world).valid and verify(suspendable, world).valid
    world.revocation.set(99)
    world.suspension.set(42)
    world.publish()
    revoked = verify(revocable, world)
    assert revoked.check("status").code == "revoked" and not revoked.valid  # type: ignore[union-attr]
    suspended = verify(suspendable, world)
    assert suspended.check("status").code == "suspended"  # type: ignore[union-attr]
    other = verify(world.credential(index=100), world)
    assert other.valid, "only the flipped bit is revoked"


def test_status_that_cannot_be_checked_is_never_not_revoked() -> None:
    world = World()
    credential = world.credential()
    unreachable = verify(credential, world, fetch=world.failing_fetch())
    assert unreachable.check("status").code == "status_unavailable"  # type: ignore[union-attr]
    assert not unreachable.valid
    offline = verify(credential, world, fetch=None)
    assert offline.check("status").status == SKIP  # type: ignore[union-attr]
    # A list signed by someone else's key is not believed.
    world.publish(signer=generate_key("ed25519"))
    forged = verify(credential, world)
    assert forged.check("status").code == "status_unavailable"  # type: ignore[union-attr]
    # Nor is a list that claims to live elsewhere when its bit is clear.
    world.publish()
    world.documents[REVOCATION_URL] = world.sign(
        {**world.documents[REVOCATION_URL], "id": "https://x.example/l"} | {"proof": []}
    )
    moved = verify(credential, world)
    assert moved.check("status").code == "status_unavailable"  # type: ignore[union-attr]


def test_tampered_and_wrong_key_credentials_fail(world: World) -> None:
    credential = world.credential()
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["achievement"]["name"] = "Advanced Everything"
    assert verify(tampered, world).check("proof").status == FAIL  # type: ignore[union-attr]
    impostor = World()
    impostor.documents = world.documents  # the real issuer's DID document, but another key signs
    forged = impostor.credential()
    assert verify(forged, world).check("proof").status == FAIL  # type: ignore[union-attr]


def test_baked_images_and_formats(world: World) -> None:
    text = json.dumps(world.credential())
    png = verify(baking.bake(png_bytes(), text), world)
    svg = verify(baking.bake(SVG, text), world)
    assert (png.format, png.valid) == ("png/json", True)
    assert (svg.format, svg.valid) == ("svg/json", True)
    assert verify(text, world).format == "json"


def test_vc_jwt_with_did_web_kid_and_embedded_jwk(world: World) -> None:
    jwt_key = generate_key("p256")
    vm = ISSUER_ID + "#jwt-1"
    served = World(key=world.key)
    document = served.documents[next(iter(served.documents))]
    document["verificationMethod"].append(
        {
            "id": vm,
            "type": "JsonWebKey",
            "controller": ISSUER_ID,
            "publicKeyJwk": public_jwk(jwt_key.public_key()),
        }
    )
    document["assertionMethod"].append(vm)
    unsigned = {k: v for k, v in served.credential().items() if k != "proof"}
    token = sign_jwt(unsigned, signer=jwt_key, kid=vm)
    report = verify(token, served)
    assert report.format == "jwt" and report.valid, report.as_json()["checks"]
    assert report.check("issuer_key").status == PASS  # type: ignore[union-attr]
    embedded = verify(
        sign_jwt(unsigned, signer=jwt_key, jwk=public_jwk(jwt_key.public_key())), served
    )
    # A JWK in the JWT header proves only that someone holds that key: never "valid".
    assert not embedded.valid and embedded.outcome == "issuer_not_confirmed"
    assert embedded.check("issuer_key").status == WARN  # type: ignore[union-attr]
    baked = verify(baking.bake(png_bytes(), token), served)
    assert baked.format == "png/jwt" and baked.valid


# ------------------------------------------------------------- bad inputs: each a clean failure


def _jws(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    return ".".join(
        [part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)]
    )


def bad_inputs(world: World) -> dict[str, tuple[Any, str, str]]:
    """name -> (input, check that fails, code or '' )."""
    good = world.credential()
    text = json.dumps(good)
    png = baking.bake(png_bytes(), text)
    itxt = b"openbadgecredential\x00\x00\x00\x00\x00" + text.encode()
    compressed = b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(text.encode())
    undefined = copy.deepcopy(good)
    undefined["credentialSubject"]["shoeSize"] = 44
    unknown_context = copy.deepcopy(good)
    unknown_context["@context"].append("https://evil.example/context.jsonld")
    expired = world.credential(
        valid_until=NOW - timedelta(minutes=1), valid_from=NOW - timedelta(days=9)
    )
    future = world.credential(valid_from=NOW + timedelta(days=1))
    wrong_key = world.sign(
        {k: v for k, v in good.items() if k != "proof"}, signer=generate_key("ed25519")
    )
    ob2 = with_chunk(
        png_bytes(), png_chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00" + b'{"type":"Assertion"}')
    )
    deep = "[" * 100_000 + "]" * 100_000
    return {
        "empty": (b"", "parse", "unreadable"),
        "not json": (b"hello there", "parse", "unreadable"),
        "truncated json": (text[: len(text) // 2].encode(), "parse", "unreadable"),
        "json array": (b"[1,2,3]", "parse", "unreadable"),
        "json NaN": (
            text.replace('"https://badges', 'NaN, "x": "https://badges', 1).encode(),
            "parse",
            "unreadable",
        ),
        "deep nesting": (("{" + '"a":' * 1 + deep + "}").encode(), "parse", "unreadable"),
        "binary noise": (bytes(range(256)) * 4, "parse", "unreadable"),
        "oversized": (b"{" + b" " * (11 * 1024 * 1024) + b"}", "parse", "too_large"),
        "truncated png": (png[: len(png) - 30], "parse", "unreadable"),
        "png without credential": (png_bytes(), "parse", "not_baked"),
        "two baked chunks": (with_chunk(png, png_chunk(b"iTXt", itxt)), "parse", "unreadable"),
        "compressed iTXt": (
            with_chunk(png_bytes(), png_chunk(b"iTXt", compressed)),
            "parse",
            "unreadable",
        ),
        "svg with doctype": (b'<!DOCTYPE svg [<!ENTITY x "y">]>' + SVG, "parse", "unreadable"),
        "svg billion laughs": (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&lol2;</svg>',
            "parse",
            "unreadable",
        ),
        "malformed svg": (
            b'<svg xmlns="http://www.w3.org/2000/svg"><g></svg>',
            "parse",
            "unreadable",
        ),
        "ob2 baked png": (ob2, "parse", "ob2"),
        "alg none": (
            _jws(
                {"alg": "none", "typ": "JWT"}, {k: v for k, v in good.items() if k != "proof"}, b""
            ),
            "parse",
            "unreadable",
        ),
        "hs256": (
            _jws({"alg": "HS256", "typ": "JWT"}, {k: v for k, v in good.items() if k != "proof"}),
            "parse",
            "unreadable",
        ),
        "unknown context": (unknown_context, "context", "unknown_context"),
        "undefined term": (undefined, "terms", "undefined_term"),
        "wrong key": (wrong_key, "proof", "invalid_proof"),
        "expired": (expired, "valid_until", "expired"),
        "not yet valid": (future, "valid_from", "not_yet_valid"),
        "no proof": ({k: v for k, v in good.items() if k != "proof"}, "proof", "unsigned"),
    }


BAD_NAMES = sorted(bad_inputs(World()))


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_inputs_fail_cleanly(name: str, world: World) -> None:
    data, check_id, code = bad_inputs(world)[name]
    report = verify(data, world)
    assert not report.valid
    check = report.check(check_id)
    assert check is not None and check.status == FAIL, report.as_json()["checks"]
    if code:
        assert check.code == code, check
    assert check.message and "Traceback" not in check.message
    json.dumps(report.as_json())  # always serialisable


def test_any_bytes_never_raise(world: World) -> None:
    sample = json.dumps(world.credential()).encode()
    for cut in range(0, len(sample), max(1, len(sample) // 40)):
        report = verify(sample[:cut] + b"\xff" + sample[cut + 1 :], world)
        assert isinstance(report.valid, bool)


# ------------------------------------------------------------------------- forgeries (issue 8)

FORGED_ISSUER = "https://district.example/issuers/pd"


def _forgery(world: World) -> dict[str, Any]:
    """A credential naming FORGED_ISSUER, signed with an attacker's key given in a URL fragment."""
    attacker = generate_key("ed25519")
    unsigned = {k: v for k, v in world.credential().items() if k != "proof"}
    unsigned["issuer"] = {"id": FORGED_ISSUER, "type": ["Profile"], "name": "District PD"}
    unsigned.pop("credentialStatus", None)
    vm = f"{FORGED_ISSUER}#{encode_public_key(attacker.public_key())}"
    return add_proof(
        unsigned,
        signer=attacker,
        verification_method=vm,
        created=NOW - timedelta(hours=1),
        loader=world.loader,
    )


def test_a_key_in_a_url_fragment_whose_document_does_not_answer_is_never_valid(
    world: World,
) -> None:
    forged = _forgery(world)
    for fetch in (world.failing_fetch(), None):
        report = verify(forged, world, fetch=fetch)
        assert report.check("proof").status == PASS  # type: ignore[union-attr]
        assert report.outcome == "issuer_not_confirmed", report.as_json()["checks"]
        assert not report.valid and report.as_json()["valid"] is False
        assert report.signature_genuine
        issuer_key = report.check("issuer_key")
        assert issuer_key is not None and issuer_key.code == "key_unconfirmed"
        assert FORGED_ISSUER in issuer_key.message


def test_a_key_the_issuer_document_does_not_list_is_not_valid(world: World) -> None:
    forged = _forgery(world)
    world.documents[FORGED_ISSUER] = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": FORGED_ISSUER,
        "verificationMethod": [],
        "assertionMethod": [],
    }
    report = verify(forged, world)
    assert report.outcome == "not_valid"
