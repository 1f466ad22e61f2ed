"""The ``cairn`` command line, run in-process: exit statuses, output, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.cli import main
from credentials import CHECK_ORDER

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
UNSIGNED = FIXTURES / "vectors" / "ob3-impl-guide-test-vector" / "unsigned-credential.json"
PASSPHRASE = "a long test passphrase, not a real one"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_KEY_PASSPHRASE", PASSPHRASE)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def new_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str = "ed25519"
) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / f"{kind}.pem"
    status, out, err = run(capsys, "keys", "generate", "--type", kind, "--out", str(path))
    assert status == 0, err
    return path, json.loads(out)


def unsigned_for(tmp_path: Path, issuer: str) -> Path:
    credential = json.loads(UNSIGNED.read_text())
    credential["issuer"]["id"] = issuer
    path = tmp_path / "unsigned.json"
    path.write_text(json.dumps(credential))
    return path


def test_generate_writes_an_encrypted_private_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, summary = new_key(tmp_path, capsys)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----")
    assert "KDF: argon2id" in path.read_text()
    assert summary["did"].startswith("did:key:z6Mk")
    status, _, err = run(capsys, "keys", "generate", "--out", str(path))
    assert status == 2 and "exists" in err


def test_generate_refuses_plaintext_without_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_KEY_PASSPHRASE")
    status, _, err = run(capsys, "keys", "generate", "--out", str(tmp_path / "k.pem"))
    assert status == 2 and "CAIRN_KEY_PASSPHRASE" in err
    status, _, _ = run(
        capsys,
        "keys",
        "generate",
        "--out",
        str(tmp_path / "k.json"),
        "--format",
        "multikey",
        "--unencrypted",
    )
    assert status == 0
    assert "secretKeyMultibase" in json.loads((tmp_path / "k.json").read_text())


def test_sign_verify_bake_unbake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, summary = new_key(tmp_path, capsys)
    unsigned = unsigned_for(tmp_path, summary["did"])
    status, signed, err = run(
        capsys, "sign", str(unsigned), "--key", str(key), "--created", "2026-01-02T03:04:05Z"
    )
    assert status == 0, err
    credential = json.loads(signed)
    assert credential["proof"][0]["created"] == "2026-01-02T03:04:05Z"
    assert credential["proof"][0]["verificationMethod"].startswith(summary["did"] + "#")
    signed_path = tmp_path / "signed.json"
    signed_path.write_text(signed)

    status, out, _ = run(capsys, "verify", str(signed_path), "--json", "--offline")
    report = json.loads(out)
    assert status == 0 and report["valid"] is True and report["format"] == "json"
    assert [c["id"] for c in report["checks"]] == [c for c in CHECK_ORDER if c != "jwt_claims"]
    assert set(report["checks"][0]) >= {"id", "status", "message"}

    status, out, _ = run(capsys, "verify", str(signed_path), "--offline")
    assert status == 0 and "VALID" in out and "✓ proof" in out

    image = tmp_path / "badge.png"
    Image.new("RGB", (16, 16), (0, 90, 160)).save(image)
    baked = tmp_path / "baked.png"
    assert run(capsys, "bake", str(signed_path), str(image), "-o", str(baked))[0] == 0
    status, out, _ = run(capsys, "unbake", str(baked))
    assert status == 0 and json.loads(out) == credential
    status, out, _ = run(capsys, "verify", str(baked), "--json", "--offline")
    assert status == 0 and json.loads(out)["format"] == "png/json"
    status, _, err = run(capsys, "unbake", str(image))
    assert status == 1 and "no baked credential" in err


def test_verify_exit_statuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expired = FIXTURES / "1edtech-validator" / "simple-err-expired.json"
    status, out, _ = run(capsys, "verify", str(expired), "--offline")
    assert status == 1 and "NOT VALID" in out and "Expired" in out
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"a":')
    assert run(capsys, "verify", str(garbage))[0] == 2
    assert run(capsys, "verify", str(tmp_path / "missing.json"))[0] == 2
    status, _, err = run(capsys, "verify", "http://example.org/credential")
    assert status == 2 and "https" in err
    status, _, err = run(capsys, "verify", "https://example.org/c.json", "--offline")
    assert status == 2
    valid = FIXTURES / "1edtech-validator" / "simple.json"
    status, out, _ = run(capsys, "verify", str(valid), "--offline", "--at", "2009-06-01T00:00:00Z")
    assert status == 1 and "Not valid yet" in out
    status, _, err = run(capsys, "verify", str(valid), "--at", "June 2009")
    assert status == 2 and err.count("\n") == 1


def test_verify_recipient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    valid = FIXTURES / "1edtech-validator" / "simple.json"
    subject = json.loads(valid.read_text())["credentialSubject"]["id"]
    # Offline, the https key's document is not fetched: genuine signature, issuer not confirmed.
    status, out, _ = run(capsys, "verify", str(valid), "--offline", "--recipient", subject)
    assert status == 3 and "SIGNATURE GENUINE, ISSUER NOT CONFIRMED" in out
    assert run(capsys, "verify", str(valid), "--offline", "--recipient", "x@example.org")[0] == 1


def test_verify_answers_urls_from_given_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A did:web issuer whose DID document cannot be fetched (here: offline; in practice an
    # issuer behind a firewall or on a local test instance) verifies with the document given.
    did = "did:web:badges.cairn.example:issuers:x"
    key, summary = new_key(tmp_path, capsys)
    unsigned = unsigned_for(tmp_path, did)
    status, signed, err = run(
        capsys, "sign", str(unsigned), "--key", str(key), "--verification-method", did + "#key-1"
    )
    assert status == 0, err
    (tmp_path / "signed.json").write_text(signed)
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": did + "#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": summary["publicKeyMultibase"],
            }
        ],
        "assertionMethod": [did + "#key-1"],
    }
    (tmp_path / "did.json").write_text(json.dumps(document))
    url = "https://badges.cairn.example/issuers/x/did.json"

    status, out, _ = run(capsys, "verify", str(tmp_path / "signed.json"), "--offline")
    assert status == 1 and "has to be fetched from " + url in out
    status, out, err = run(
        capsys,
        "verify",
        str(tmp_path / "signed.json"),
        "--json",
        "--document",
        f"{url}={tmp_path / 'did.json'}",
    )
    report = json.loads(out)
    assert status == 0, err + out
    checks = {c["id"]: c["status"] for c in report["checks"]}
    assert checks["proof"] == "pass" and checks["issuer_key"] == "pass"

    # Another key's document does not make it valid.
    (tmp_path / "other").mkdir()
    _, other = new_key(tmp_path / "other", capsys)
    document["verificationMethod"][0]["publicKeyMultibase"] = other["publicKeyMultibase"]
    (tmp_path / "other.json").write_text(json.dumps(document))
    status, out, _ = run(
        capsys,
        "verify",
        str(tmp_path / "signed.json"),
        "--document",
        f"{url}={tmp_path / 'other.json'}",
    )
    assert status == 1 and "✗ proof" in out

    for argv, message in (
        (["--offline", "--document", f"{url}={tmp_path / 'did.json'}"], "--offline"),
        (["--document", str(tmp_path / "did.json")], "URL=FILE"),
        (["--document", f"{url}={tmp_path / 'missing.json'}"], "cannot read"),
    ):
        status, _, err = run(capsys, "verify", str(tmp_path / "signed.json"), *argv)
        assert status == 2 and message in err and err.count("\n") == 1, err


def test_sign_jwt_and_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, _ = new_key(tmp_path, capsys, "p256")
    unsigned = unsigned_for(tmp_path, "https://example.edu/issuers/565049")
    status, token, err = run(capsys, "sign", str(unsigned), "--key", str(key), "--format", "jwt")
    assert status == 0, err
    (tmp_path / "c.jwt").write_text(token)
    status, out, _ = run(capsys, "verify", str(tmp_path / "c.jwt"), "--json", "--offline")
    # `cairn sign --format jwt` without a verification method carries the key in the header:
    # a genuine signature, but nothing ties that key to the issuer, so exit 3, never 0.
    report = json.loads(out)
    assert status == 3 and report["format"] == "jwt", out
    assert report["outcome"] == "issuer_not_confirmed" and report["valid"] is False

    ed_key, ed = new_key(tmp_path, capsys)
    lines = []
    for number in range(3):
        credential = json.loads(unsigned_for(tmp_path, ed["did"]).read_text())
        credential["id"] = f"urn:uuid:00000000-0000-4000-8000-00000000000{number}"
        lines.append(json.dumps(credential))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n\n")
    status, out, err = run(capsys, "sign", "--batch", str(batch), "--key", str(ed_key))
    assert status == 0, err
    signed = [json.loads(line) for line in out.splitlines()]
    assert [s["id"] for s in signed] == [json.loads(line)["id"] for line in lines]

    batch.write_text(lines[0] + "\n" + '{"broken": \n')
    status, out, err = run(capsys, "sign", "--batch", str(batch), "--key", str(ed_key))
    assert status == 2 and out == "" and "line 2" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sign", "{unsigned}", "--key", "{key}", "--format", "jwt"], "P-256"),
        (["sign", "{unsigned}", "--key", "{missing}"], "cannot read"),
        (["sign", "--key", "{key}"], "either an UNSIGNED"),
        (["sign", "{garbage}", "--key", "{key}"], "not valid JSON"),
        (["sign", "{unsigned}", "--key", "{garbage}"], "garbage"),
        (["sign", "{undefined}", "--key", "{key}", "--no-schema-check"], "not defined"),
        (
            [
                "sign",
                "{unsigned}",
                "--key",
                "{key}",
                "--verification-method",
                "did:web:elsewhere#k",
            ],
            "must equal issuer.id",
        ),
        (["sign", "{unsigned}", "--key", "{key}", "--created", "yesterday"], "--created"),
        (["bake", "{garbage}", "{unsigned}", "-o", "{out}"], "not valid JSON"),
        (["bake", "{words}", "{unsigned}", "-o", "{out}"], "neither"),
        (["bake", "{unsigned}", "{unsigned}", "-o", "{out}"], "PNG"),
        (["unbake", "{garbage}"], "PNG"),
        (["nonsense"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    key, summary = new_key(tmp_path, capsys)
    unsigned = unsigned_for(tmp_path, summary["did"])
    undefined = json.loads(unsigned.read_text())
    undefined["shoeSize"] = 44
    (tmp_path / "undefined.json").write_text(json.dumps(undefined))
    (tmp_path / "garbage").write_text("{nope")
    (tmp_path / "words").write_text("just some words")
    names = {
        "key": key,
        "unsigned": unsigned,
        "missing": tmp_path / "missing.pem",
        "garbage": tmp_path / "garbage",
        "undefined": tmp_path / "undefined.json",
        "out": tmp_path / "out.png",
        "words": tmp_path / "words",
    }
    status, _, err = run(capsys, *[a.format(**{k: str(v) for k, v in names.items()}) for a in argv])
    assert status == 2
    assert message.lower() in err.lower(), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
