"""Tests of JSON Schema validation against the vendored 1EdTech OB 3.0 schemas."""

from __future__ import annotations

import copy
import json
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from referencing.exceptions import Unresolvable

from credentials import schema
from credentials.schema import MAX_MESSAGES, NOT_AN_OB_CREDENTIAL, schema_errors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EDTECH = FIXTURES / "1edtech-validator"
SPEC_EXAMPLES = FIXTURES / "spec-examples"


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def simple() -> dict[str, Any]:
    credential: dict[str, Any] = load(EDTECH / "simple.json")
    return credential


def put(credential: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Return a copy of ``credential`` with ``dotted`` set to ``value`` (deleted when None)."""
    changed = copy.deepcopy(credential)
    *parents, last = dotted.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return changed


# --- the fixtures, against the STRICT /schema/json/ schemas ------------------------------------

STRICT_PASSES = [
    EDTECH / "simple.json",
    EDTECH / "complete.json",
    EDTECH / "endorsement-valid.json",
    EDTECH / "simple-did-key-method.json",
    EDTECH / "simple-multiple-proofs.json",
    # Expired, but the schema does not know the time: structurally valid.
    EDTECH / "simple-err-expired.json",
    # VC 1.1 credentials, checked with the documented issuanceDate adaptation.
    EDTECH / "simple_v1.json",
    EDTECH / "simple-eddsa-2022.json",
    *sorted(SPEC_EXAMPLES.glob("*.json")),
]

# The schema's pattern for @context[1], as jsonschema quotes it in messages.
OB_CONTEXT_PATTERN = r"^https:\/\/purl\.imsglobal\.org\/spec\/ob\/v3p0\/context(-3\.\d\.\d)*\.json$"

PROOF_OBJECT = (
    "proof: {'created': '2010-01-01T19:23:24Z', 'cryptosuite': 'eddsa-rdfc-2022', ...} "
    "is not of type 'array'"
)

# Every fixture that fails the strict schema, with exactly the reasons it fails.
STRICT_FAILURES = {
    # A single proof object: the strict schema wants an array (SPEC-NOTES §8.3, issue #510).
    "simple-did-web-method.json": [PROOF_OBJECT],
    "bit-string-list/credential-status-revoked.json": [PROOF_OBJECT],
    "bit-string-list/credential-status-revoked-blank-nodes.json": [PROOF_OBJECT],
    # Meant to fail on validFrom in the future (2040); it also lacks the required
    # credentialSubject.achievement and uses a proof object.
    "simple-err-issued.json": [
        "credentialSubject: 'achievement' is a required property",
        PROOF_OBJECT,
    ],
    # VC 1.1, unsigned; lacks credentialSubject.achievement.
    "simple-noproof.json": ["credentialSubject: 'achievement' is a required property"],
    # VC 1.1 in compacted JSON-LD form: single-string types everywhere and a proof object.
    "credential-status-revoked.json": [
        "credentialSubject.achievement.type: 'Achievement' is not of type 'array'",
        "credentialSubject.source.address.type: 'Address' is not of type 'array'",
        "credentialSubject.source.type: 'Profile' is not of type 'array'",
        "credentialSubject.type: 'AchievementSubject' is not of type 'array'",
        "issuer.address.type: 'Address' is not of type 'array'",
        "issuer.type: 'Profile' is not of type 'array'",
        "proof: {'created': '2010-01-01T19:23:24Z', 'proofPurpose': 'assertionMethod', ...} "
        "is not of type 'array'",
    ],
    # VC 1.1 "complete" example: its embedded endorsements have no id (one has no name),
    # which the OB 3.0 EndorsementCredential requires, and identityType "email" is a pre-3.0
    # value (now "emailAddress").
    "complete_v1.json": [
        "credentialSubject.achievement.creator.endorsement[0]: 'id' is a required property",
        "credentialSubject.achievement.creator.endorsement[1]: 'id' is a required property",
        "credentialSubject.achievement.creator.endorsement[1]: 'name' is a required property",
        "credentialSubject.achievement.endorsement[0]: 'id' is a required property",
        "credentialSubject.identifier[0].identityType: 'email' is not valid under any of the "
        "given schemas",
        "credentialSubject.identifier[1].identityType: 'email' is not valid under any of the "
        "given schemas",
        "endorsement[0]: 'id' is a required property",
        "issuer.endorsement[0]: 'id' is a required property",
    ],
    # A CLR 2.0 credential: neither schema applies.
    "clr20-simple.json": [NOT_AN_OB_CREDENTIAL],
}


@pytest.mark.parametrize("path", STRICT_PASSES, ids=lambda p: p.name)
def test_fixture_passes_the_strict_schema(path: Path) -> None:
    assert schema_errors(load(path)) == []


@pytest.mark.parametrize(("name", "expected"), sorted(STRICT_FAILURES.items()))
def test_fixture_fails_the_strict_schema_for_known_reasons(name: str, expected: list[str]) -> None:
    assert schema_errors(load(EDTECH / name)) == expected


def test_every_credential_fixture_is_classified() -> None:
    classified = {p.relative_to(EDTECH).as_posix() for p in STRICT_PASSES if EDTECH in p.parents}
    classified |= set(STRICT_FAILURES)
    on_disk = {
        p.relative_to(EDTECH).as_posix()
        for p in EDTECH.rglob("*.json")
        if p.parent.name != "jwt"  # decoded JWTs: see the next test
    }
    assert on_disk == classified


JWT_PAYLOAD_FAILURES = {
    # An early draft: OB context from imsglobal.github.io, and no credentialSubject.achievement.
    "simple_jwt.decoded.json": [
        "@context[1]: 'https://imsglobal.github.io/openbadges-specification/context.json' "
        f"does not match {OB_CONTEXT_PATTERN!r}",
        "credentialSubject: 'achievement' is a required property",
    ],
}


@pytest.mark.parametrize("path", sorted((EDTECH / "jwt").glob("*.json")), ids=lambda p: p.name)
def test_jwt_payload_credentials(path: Path) -> None:
    # VC 1.1 JWTs carry the credential in the "vc" claim; OB 3.0 (VC 2.0) JWTs are the
    # credential themselves.
    payload = load(path)["payload"]
    credential = payload.get("vc", payload)
    assert schema_errors(credential) == JWT_PAYLOAD_FAILURES.get(path.name, [])


# --- targeted failures ----------------------------------------------------------------------


def test_missing_credential_subject() -> None:
    assert schema_errors(put(simple(), "credentialSubject", None)) == [
        "$: 'credentialSubject' is a required property"
    ]


def test_issuer_as_bare_uri_passes_the_schema() -> None:
    # ProfileRef is oneOf [URI string, Profile]: the schema allows a bare URI. The 1EdTech
    # validator's IssuerProbe rejects it (issuer.type must contain Profile), so that check
    # belongs to the verifier, not to the schema.
    assert schema_errors(put(simple(), "issuer", "https://example.com/issuers/876543")) == []


def test_image_as_string_fails() -> None:
    url = "https://example.com/badge.png"
    assert schema_errors(put(simple(), "credentialSubject.achievement.image", url)) == [
        f"credentialSubject.achievement.image: '{url}' is not of type 'object'"
    ]
    assert schema_errors(put(simple(), "image", url)) == [f"image: '{url}' is not of type 'object'"]
    assert schema_errors(put(simple(), "image", {"id": url, "type": "Image"})) == []


def test_proof_as_object_fails() -> None:
    credential = simple()
    assert schema_errors(put(credential, "proof", credential["proof"][0])) == [PROOF_OBJECT]


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00",  # no offset: DateTimeZ requires one
        "2024-01-01",
        "2024-01-01 00:00:00Z",
        "2024-01-01t00:00:00z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00+2500",
        "yesterday",
    ],
)
def test_date_time_without_offset_or_malformed_fails(value: str) -> None:
    assert schema_errors(put(simple(), "validFrom", value)) == [
        f"validFrom: '{value}' is not a 'date-time'"
    ]


@pytest.mark.parametrize(
    "value",
    ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00+05:30", "2024-01-01T00:00:00.123456789-08:00"],
)
def test_date_time_with_offset_passes(value: str) -> None:
    assert schema_errors(put(simple(), "validFrom", value)) == []


def test_nested_date_time_is_checked_too() -> None:
    credential = simple()
    credential["proof"][0]["created"] = "2010-01-01T19:23:24"
    assert schema_errors(credential) == [
        "proof[0].created: '2010-01-01T19:23:24' is not a 'date-time'"
    ]


def test_date_format_is_checked() -> None:
    issuer = {**simple()["issuer"], "dateOfBirth": "2024-13-01"}
    assert schema_errors(put(simple(), "issuer", issuer)) == [
        "issuer.dateOfBirth: '2024-13-01' is not a 'date'"
    ]
    issuer["dateOfBirth"] = "20240101"
    assert schema_errors(put(simple(), "issuer", issuer)) == [
        "issuer.dateOfBirth: '20240101' is not a 'date'"
    ]
    issuer["dateOfBirth"] = "2000-02-29"
    assert schema_errors(put(simple(), "issuer", issuer)) == []


def test_wrong_achievement_type_fails_and_ext_values_pass() -> None:
    path = "credentialSubject.achievement.achievementType"
    assert schema_errors(put(simple(), path, "Bogus")) == [
        f"{path}: 'Bogus' is not valid under any of the given schemas"
    ]
    assert schema_errors(put(simple(), path, "Certificate")) == []
    assert schema_errors(put(simple(), path, "ext:CairnWorkshop")) == []


def test_identity_object_with_extra_property_fails() -> None:
    identity = {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399",
        "identityType": "emailAddress",
        "salt": "Kosher",
    }
    assert schema_errors(put(simple(), "credentialSubject.identifier", [identity])) == []
    extra = {**identity, "email": "a@example.com"}
    assert schema_errors(put(simple(), "credentialSubject.identifier", [extra])) == [
        "credentialSubject.identifier[0]: Additional properties are not allowed "
        "('email' was unexpected)"
    ]


def test_errors_inside_a_profile_are_reported_individually() -> None:
    # issuer is oneOf [string, Profile]; the messages come from the Profile branch rather than
    # "is not valid under any of the given schemas".
    issuer = {"id": "https://example.com/issuers/1", "type": "Profile", "image": "logo.png"}
    assert schema_errors(put(simple(), "issuer", issuer)) == [
        "issuer.image: 'logo.png' is not of type 'object'",
        "issuer.type: 'Profile' is not of type 'array'",
    ]


def test_context_and_type_constraints() -> None:
    assert schema_errors(put(simple(), "type", "OpenBadgeCredential")) == [
        "type: 'OpenBadgeCredential' is not of type 'array'"
    ]
    wrong_ob_context = ["https://www.w3.org/ns/credentials/v2", "https://example.com/ob.json"]
    assert schema_errors(put(simple(), "@context", wrong_ob_context)) == [
        f"@context[1]: 'https://example.com/ob.json' does not match {OB_CONTEXT_PATTERN!r}"
    ]


def test_endorsement_credential_uses_the_endorsement_schema() -> None:
    endorsement = load(EDTECH / "endorsement-valid.json")
    assert schema_errors(put(endorsement, "name", None)) == ["$: 'name' is a required property"]


def test_non_ob_credentials_and_non_objects() -> None:
    assert schema_errors(put(simple(), "type", ["VerifiableCredential"])) == [NOT_AN_OB_CREDENTIAL]
    assert schema_errors(put(simple(), "type", None)) == [NOT_AN_OB_CREDENTIAL]
    not_a_dict: Any = ["not", "a", "credential"]
    assert schema_errors(not_a_dict) == ["$: a credential must be a JSON object"]


def test_long_values_are_abbreviated_in_messages() -> None:
    errors = schema_errors(put(simple(), "credentialSubject", "x" * 5000))
    assert len(errors) == 1
    assert len(errors[0]) < 200
    assert errors[0].startswith("credentialSubject: 'xxx")
    assert errors[0].endswith("is not of type 'object'")


def test_messages_are_capped() -> None:
    credential = simple()
    credential["credentialSubject"]["identifier"] = [
        {"type": "IdentityObject", "hashed": True, "unexpected": i} for i in range(30)
    ]
    errors = schema_errors(credential)
    assert len(errors) == MAX_MESSAGES + 1
    assert errors[-1].startswith("... and ")
    assert errors[:-1] == sorted(errors[:-1])


# --- VC 1.1 adaptation -------------------------------------------------------------------


def test_vc11_credentials_use_issuance_date() -> None:
    v1 = load(EDTECH / "simple_v1.json")
    assert "issuanceDate" in v1
    assert "validFrom" not in v1
    assert schema_errors(v1) == []
    assert schema_errors(put(v1, "issuanceDate", None)) == [
        "$: 'issuanceDate' is a required property"
    ]
    assert schema_errors(put(v1, "issuanceDate", "2010-01-01T00:00:00")) == [
        "issuanceDate: '2010-01-01T00:00:00' is not a 'date-time'"
    ]
    assert schema_errors(put(v1, "expirationDate", "2030-01-01")) == [
        "expirationDate: '2030-01-01' is not a 'date-time'"
    ]


def test_vc_version_can_be_forced() -> None:
    v1 = load(EDTECH / "simple_v1.json")
    assert schema_errors(v1, vc_version="2.0") == [
        "$: 'validFrom' is a required property",
        "@context[0]: 'https://www.w3.org/2018/credentials/v1' is not one of "
        "['https://www.w3.org/ns/credentials/v2']",
    ]
    assert schema_errors(simple(), vc_version="1.1") == [
        "$: 'issuanceDate' is a required property",
        "@context[0]: 'https://www.w3.org/ns/credentials/v2' is not one of "
        "['https://www.w3.org/2018/credentials/v1']",
    ]
    with pytest.raises(ValueError, match="vc_version"):
        schema_errors(simple(), vc_version="3.0")


def test_vc11_adaptation_leaves_the_cached_schema_alone() -> None:
    schema_errors(load(EDTECH / "simple_v1.json"))
    assert schema_errors(simple()) == []
    assert schema_errors(load(EDTECH / "simple_v1.json"), vc_version="2.0") != []


# --- the schemas and the format checker themselves ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(
        entry.name
        for entry in resources.files("credentials").joinpath("jsonschema").iterdir()
        if entry.name.endswith(".json")
    ),
)
def test_vendored_schemas_are_valid_draft_2019_09(name: str) -> None:
    text = resources.files("credentials").joinpath("jsonschema", name).read_text("utf-8")
    Draft201909Validator.check_schema(json.loads(text))


def test_uri_format_requires_a_scheme() -> None:
    checker = schema._format_checker()
    assert checker.conforms("https://example.com/a", "uri")
    assert checker.conforms("urn:uuid:1d4e8d6f-0b9c-4a3e-9a59-1f7c0c6c2d10", "uri")
    assert checker.conforms("did:example:123", "uri")
    assert not checker.conforms("example.com/a", "uri")
    assert not checker.conforms("/relative/path", "uri")
    assert not checker.conforms("https://example.com/a b", "uri")
    assert not checker.conforms("1http://example.com", "uri")


def test_remote_references_are_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    validator = Draft201909Validator(
        {"$ref": "https://example.com/remote-schema.json"},
        registry=schema._OFFLINE_REGISTRY,
    )
    with pytest.raises(Unresolvable):
        validator.is_valid({})
