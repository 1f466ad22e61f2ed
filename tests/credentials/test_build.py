"""What the builder emits is exactly what the OB 3.0 strict schema and JSON-LD contexts want."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credentials.build import build_credential, build_endorsement, contexts_for
from credentials.did import did_key_verification_method
from credentials.identity import subject_matches
from credentials.jsonld import DocumentLoader, canonize
from credentials.proofs.data_integrity import add_proof
from credentials.schema import schema_errors
from credentials.status import status_entry
from credentials.types import (
    Achievement,
    Alignment,
    Evidence,
    Image,
    Profile,
    Recipient,
    Result,
    ResultDescription,
)
from credentials.vocab import OB_CONTEXT, OB_EXTENSIONS_CONTEXT, VC_V2_CONTEXT
from keys import generate_key

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ISSUER = Profile(
    id="did:web:badges.example.org:issuers:district-7",
    name="District 7 Professional Learning",
    url="https://district7.example.org",
    email="pd@district7.example.org",
    description="Professional learning for District 7 educators.",
    image=Image("https://badges.example.org/issuers/district-7/logo.png", "District 7 logo"),
)
ACHIEVEMENT = Achievement(
    id="https://badges.example.org/achievements/0a1b2c3d/v2",
    name="Formative Assessment in Practice",
    description="Completed the four-week module on formative assessment.",
    criteria_narrative="Complete all **four** activities and a reflection; a learning partner confirms.",
    criteria_id="https://badges.example.org/achievements/0a1b2c3d",
    achievement_type="MicroCredential",
    image=Image("data:image/png;base64,iVBORw0KGgo=", "Badge image"),
    alignments=(
        Alignment(
            target_name="ISTE Standards for Educators 2.7 Analyst",
            target_url="https://iste.org/standards/educators#analyst",
            target_framework="ISTE Standards for Educators",
            target_code="2.7",
        ),
    ),
    tags=("assessment", "pd"),
    credits_available=2.5,
    result_descriptions=(
        ResultDescription(
            id="https://badges.example.org/achievements/0a1b2c3d/results/level",
            name="Rubric level",
            result_type="RubricCriterionLevel",
            allowed_value=("Emerging", "Proficient", "Exemplary"),
        ),
    ),
    version="2",
    in_language="en",
)


def full_credential(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "credential_id": "https://badges.example.org/credentials/5f1d3c6e-0a8b-4c55-9d4e-4b8c9c1f2a10",
        "issuer": ISSUER,
        "achievement": ACHIEVEMENT,
        "recipient": Recipient(email="Teacher@School.example.org", salt="4f2c9e", name="Ann Lee"),
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=730),
        "awarded_date": NOW,
        "narrative": "Ann redesigned her exit tickets and shared results with her team.",
        "evidence": [
            Evidence(
                id="https://portfolio.example.org/ann/exit-tickets",
                name="Exit ticket redesign",
                narrative="Before/after samples with student feedback.",
                genre="Portfolio item",
            )
        ],
        "results": [
            Result(value="Proficient", result_description=ACHIEVEMENT.result_descriptions[0].id)
        ],
        "credits_earned": 2.5,
        "credential_status": status_entry(
            list_credential_url="https://badges.example.org/status/district-7/revocation",
            index=4711,
        ),
    }
    arguments.update(overrides)
    return build_credential(**arguments)


def test_full_credential_passes_the_strict_schema_once_signed() -> None:
    credential = full_credential()
    signed = add_proof(
        credential,
        signer=generate_key("ed25519"),
        verification_method=ISSUER.id + "#key-1",
        created=NOW,
        loader=DocumentLoader(),
    )
    assert schema_errors(signed) == []


def test_every_term_is_defined() -> None:
    # canonize raises UndefinedTerm for anything the contexts do not define.
    assert "AchievementSubject" in canonize(full_credential(), DocumentLoader())


def test_shape() -> None:
    credential = full_credential()
    assert credential["@context"] == [VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["type"] == ["Profile"]
    assert credential["validFrom"] == "2026-11-23T09:30:00Z"
    assert credential["credentialStatus"]["statusListIndex"] == "4711"
    subject = credential["credentialSubject"]
    assert "id" not in subject
    email, name = subject["identifier"]
    assert email["hashed"] is True and email["salt"] == "4f2c9e"
    assert name == {
        "type": "IdentityObject",
        "identityHash": "Ann Lee",
        "identityType": "name",
        "hashed": False,
    }
    assert subject_matches(subject, "teacher@school.example.org")
    assert subject["achievement"]["image"] == {
        "id": ACHIEVEMENT.image.id,
        "type": "Image",
        "caption": "Badge image",
    }  # type: ignore[union-attr]
    assert subject["achievement"]["alignment"][0]["type"] == ["Alignment"]
    assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"


def test_extensions_context_only_when_needed() -> None:
    plain = full_credential(with_credential_schema=False)
    assert plain["@context"] == [VC_V2_CONTEXT, OB_CONTEXT]
    assert (
        contexts_for({"refreshService": {"type": "1EdTechCredentialRefresh"}})[-1]
        == OB_EXTENSIONS_CONTEXT
    )


def test_did_recipients_and_minimal_credentials() -> None:
    key = generate_key("ed25519")
    credential = full_credential(
        recipient=Recipient(id=did_key_verification_method(key.public_key()).split("#")[0]),  # type: ignore[arg-type]
        valid_until=None,
        awarded_date=None,
        evidence=[],
        results=[],
        credits_earned=None,
        credential_status=None,
        narrative=None,
    )
    assert credential["credentialSubject"]["id"].startswith("did:key:z6Mk")
    assert "validUntil" not in credential and "evidence" not in credential
    signed = add_proof(
        credential, signer=key, verification_method="urn:k", created=NOW, loader=DocumentLoader()
    )
    assert schema_errors(signed) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recipient": Recipient()}, "recipient"),
        ({"recipient": Recipient(email="a@b.example")}, "salt"),
        ({"valid_until": NOW}, "validUntil"),
        ({"evidence": [Evidence()]}, "evidence"),
        ({"achievement": Achievement(id="urn:a", name="n", description="d")}, "criteria"),
        (
            {
                "achievement": Achievement(
                    id="urn:a",
                    name="n",
                    description="d",
                    criteria_narrative="c",
                    achievement_type="Trophy",
                )
            },
            "achievementType",
        ),
    ],
)
def test_inconsistent_input_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        full_credential(**overrides)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        full_credential(valid_from=datetime(2026, 1, 1), valid_until=None)  # noqa: DTZ001


def test_endorsements() -> None:
    endorsement = build_endorsement(
        credential_id="urn:uuid:3b6f4b8e-0c9e-4d7a-9a57-1f4f3c3c1a2b",
        issuer=Profile(id="did:web:state.example.gov", name="State Department of Education"),
        endorsed_id=ISSUER.id,
        name="Approved PD provider",
        comment="District 7 is an approved provider for 2026-27.",
        valid_from=NOW,
    )
    signed = add_proof(
        endorsement,
        signer=generate_key("ed25519"),
        verification_method="urn:k",
        created=NOW,
        loader=DocumentLoader(),
    )
    assert schema_errors(signed) == []
    assert signed["credentialSubject"]["type"] == ["EndorsementSubject"]
    # An endorsement embedded in a credential is still all defined terms.
    canonize(full_credential(endorsements=[signed]), DocumentLoader())
