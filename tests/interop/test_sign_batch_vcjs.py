"""``cairn sign --batch`` against vc.js on the same batch: a batch of one achievement's
credentials is where shape templates (credentials/jsonld/shapes.py) take over from JSON-LD
expansion, so every proofValue must still be the one vc.js computes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.cli import main
from credentials import encode_public_key, encode_secret_key, identity_object
from keys import generate_key

if TYPE_CHECKING:
    from tests.interop.conftest import VcJs

CREATED = "2025-01-01T12:00:00Z"
BASE = "https://badges.example.org"
# Literals N-Quads must escape, and text vc.js and Cairn must agree on byte for byte.
AWKWARD = ["plain", 'quote " and \\ backslash', "tab\tnew\nline\r", "nul\x00 del\x7f", "ω 🎓 עברית"]


def _credential(issuer: str, number: int) -> dict[str, Any]:
    text = AWKWARD[number % len(AWKWARD)]
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"{BASE}/credentials/{number}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Facilitating Professional Learning",
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Northfield Teachers' Centre"},
        "validFrom": f"2025-01-01T00:00:{number % 60:02d}Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                identity_object(f"learner{number}@example.org", salt=f"salt{number}"),
                identity_object(text, identity_type="name", salt=None, hashed=False),
            ],
            "achievement": {
                "id": f"{BASE}/achievements/facilitation",
                "type": ["Achievement"],
                "name": "Facilitating Professional Learning",
                "description": "Plans and leads sessions.",
                "criteria": {"narrative": "Led three observed sessions."},
                # two alignments that differ only by a literal: look-alike blank nodes
                "alignment": [
                    {"type": ["Alignment"], "targetName": name, "targetUrl": f"{BASE}/t"}
                    for name in ("A", text)
                ],
            },
        },
    }
    evidence = [
        {"id": f"{BASE}/evidence/{number}/{item}", "type": ["Evidence"], "narrative": text}
        for item in range(number % 3)
    ]
    if evidence:
        credential["evidence"] = evidence
    return credential


@pytest.mark.interop
def test_cairn_sign_batch_signs_what_vcjs_signs(
    vcjs: VcJs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = generate_key("ed25519").private_key
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = encode_public_key(private.public_key())
    did = f"did:key:{public}"
    method = f"{did}#{public}"
    batch = [_credential(did, number) for number in range(30)]
    (tmp_path / "batch.jsonl").write_text("".join(json.dumps(c) + "\n" for c in batch))
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    options = ["--created", CREATED, "--verification-method", method, "--no-schema-check"]
    status = main(
        ["sign", "--batch", str(tmp_path / "batch.jsonl"), "--key", str(key_file), *options]
    )
    assert status == 0
    ours = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    key = {
        "id": method,
        "controller": did,
        "publicKeyMultibase": public,
        "secretKeyMultibase": encode_secret_key(private),
    }
    theirs = vcjs.request("sign_batch", credentials=batch, key=key, date=CREATED)["signed"]
    assert len(ours) == len(theirs) == len(batch)
    for number, (mine, vcjs_signed) in enumerate(zip(ours, theirs, strict=True)):
        assert mine["proof"][0]["proofValue"] == vcjs_signed["proof"]["proofValue"], number
