"""``cairn verify`` on a learning record (CLR 2.0), as JSON and baked into a PNG: the record and
each credential in it are reported, and the exit status is the whole record's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credentials import bake_clr_png
from tests.app.cli.test_cli import run
from tests.credentials.clr_helpers import signed_record, small_png, two_credentials
from tests.credentials.world import NOW, World


def _documents(world: World, tmp_path: Path) -> list[str]:
    """``--document URL=FILE`` for every DID document and status list the world serves."""
    argv = []
    for number, (url, document) in enumerate(world.documents.items()):
        path = tmp_path / f"document-{number}.json"
        path.write_text(json.dumps(document))
        argv += ["--document", f"{url}={path}"]
    return argv


@pytest.mark.parametrize("baked", [False, True], ids=["json", "png"])
def test_verify_reports_the_record_and_every_credential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], baked: bool
) -> None:
    world = World()
    record = signed_record(world, two_credentials(world))
    path = tmp_path / ("record.png" if baked else "record.json")
    if baked:
        path.write_bytes(bake_clr_png(small_png(), json.dumps(record)))
    else:
        path.write_text(json.dumps(record))
    at = ["--at", NOW.isoformat()]
    status, out, err = run(capsys, "verify", str(path), *at, *_documents(world, tmp_path))
    assert status == 0, err + out
    assert out.startswith("Learning record (CLR 2.0): VALID")
    assert "Credential 1 of 2:" in out and "Credential 2 of 2:" in out
    status, out, _ = run(capsys, "verify", str(path), "--json", *at, *_documents(world, tmp_path))
    report = json.loads(out)
    assert report["kind"] == "ClrCredential" and report["valid"] is True
    assert report["record"]["format"] == ("png/json" if baked else "json")
    assert [c["valid"] for c in report["credentials"]] == [True, True]


def test_a_tampered_credential_inside_makes_the_record_not_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World()
    embedded = two_credentials(world)
    embedded[0]["credentialSubject"]["achievement"]["name"] = "Superintendent"
    record = signed_record(world, embedded)  # a good record signature over a bad credential
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    status, out, _ = run(
        capsys, "verify", str(path), "--json", "--at", NOW.isoformat(), *_documents(world, tmp_path)
    )
    report = json.loads(out)
    assert status == 1
    assert report["record"]["valid"] is True
    assert [c["valid"] for c in report["credentials"]] == [False, True]
    assert run(capsys, "verify", str(path), "--recipient", "x@example.org")[0] == 2
