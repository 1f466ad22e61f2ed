"""Helpers for CLR 2.0 tests: two signed credentials of the test world (a module and the
pathway it belongs to) and a record of them, signed by a did:web the world serves."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from PIL import Image as PillowImage

from credentials import (
    Achievement,
    Profile,
    add_proof,
    build_clr,
    controller_document,
    did_web_document_url,
    identity_object,
    pathway_associations,
)
from keys import generate_key
from tests.credentials.world import NOW, World

RECORD_ISSUER = "did:web:badges.example.org:instance"
PATHWAY = "https://badges.example.org/achievements/coaching-pathway"
MODULE = "https://badges.example.org/achievements/formative-assessment"


def two_credentials(world: World) -> list[dict[str, Any]]:
    module = world.credential(17)
    pathway = world.credential(
        18,
        credential_id="https://badges.example.org/credentials/1b6f1e2a-5b7c-4f0e-8f3e-1c2d3e4f5a6b",
        achievement=Achievement(
            id=PATHWAY,
            name="Coaching pathway",
            description="Holds the coaching modules.",
            criteria_narrative="Earn the coaching module badges.",
        ),
    )
    return [module, pathway]


def signed_record(world: World, embedded: list[dict[str, Any]]) -> dict[str, Any]:
    key = generate_key("ed25519")
    method = RECORD_ISSUER + "#key-clr"
    world.documents[did_web_document_url(RECORD_ISSUER)] = controller_document(
        RECORD_ISSUER,
        {method: key.public_key()},  # type: ignore[dict-item]
    )
    unsigned = build_clr(
        clr_id="urn:uuid:6a1b9c3e-0b7a-4a8e-9d52-2f5a4c1e7b10",
        issuer=Profile(id=RECORD_ISSUER, name="Cairn at badges.example.org"),
        subject_identifiers=[identity_object("teacher@school.example.org", salt="f00d")],
        embedded=embedded,
        associations=pathway_associations({PATHWAY: [MODULE]}, [MODULE, PATHWAY]),
        name="Professional learning record",
        valid_from=NOW - timedelta(minutes=5),
    )
    return add_proof(
        unsigned,
        signer=key,
        verification_method=method,
        created=NOW - timedelta(minutes=5),
        loader=world.loader,
    )


def small_png() -> bytes:
    out = io.BytesIO()
    PillowImage.new("RGBA", (4, 4), (10, 120, 90, 255)).save(out, "PNG")
    return out.getvalue()
