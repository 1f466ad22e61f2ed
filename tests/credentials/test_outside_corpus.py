"""The outside corpus: genuine third-party credentials and the verdict each must get.

``tests/fixtures/outside/MANIFEST.json`` names every file's source (repository, path, commit),
its expected verdict — the outcome (``valid``, ``issuer_not_confirmed``, ``not_valid``) and the
check and code that decide it — with a one-line reason, and what two independent verifiers said
(the DCC's verifier-core and Digital Bazaar's vc.js). The verdicts are what the specifications
call for, not whatever Cairn happened to answer: where they differ, Cairn is wrong.

Every file is verified at the manifest's fixed ``now`` (no clock), with a fetcher that serves
only the DID documents and status lists stored in the corpus and refuses every other URL, so
nothing here touches the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from credentials.jsonld import DocumentLoader
from credentials.verify import FAIL, WARN, verify_credential

OUTSIDE = Path(__file__).resolve().parents[1] / "fixtures" / "outside"
MANIFEST: dict[str, Any] = json.loads((OUTSIDE / "MANIFEST.json").read_text("utf-8"))
NOW = datetime.fromisoformat(MANIFEST["now"])
DOCUMENTS: dict[str, Path] = {
    url: OUTSIDE / entry["file"] for url, entry in MANIFEST["documents"].items()
}
ENTRIES: dict[str, dict[str, Any]] = {entry["file"]: entry for entry in MANIFEST["credentials"]}
OUTCOMES = ("valid", "issuer_not_confirmed", "not_valid")
LOADER = DocumentLoader()


class NotInCorpus(OSError):
    """The fetcher was asked for a URL the corpus does not hold."""


def corpus_fetch(url: str) -> bytes:
    """What the corpus stores for ``url`` (a DID document, a status list); refuse the rest."""
    path = DOCUMENTS.get(url)
    if path is None:
        raise NotInCorpus(f"{url} is not stored in the outside corpus")
    return path.read_bytes()


def describe(report: Any) -> str:
    return "\n".join(
        f"  {c.status:<4} {c.id:<12} {c.code or '-':<18} {c.message[:160]}" for c in report.checks
    )


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_outside_credential_gets_its_verdict(name: str) -> None:
    entry = ENTRIES[name]
    expected = entry["expected"]
    report = verify_credential(
        (OUTSIDE / name).read_bytes(), loader=LOADER, now=NOW, fetch=corpus_fetch
    )
    context = f"{name}: expected {entry['verdict']} ({entry['reason']})\n{describe(report)}"
    assert report.outcome == expected["outcome"], context
    assert report.valid is (expected["outcome"] == "valid"), context
    failed = [c for c in report.checks if c.status == FAIL]
    if expected["outcome"] == "not_valid":
        deciding = report.check(expected["check"])
        assert deciding is not None and deciding.status == FAIL, context
        assert deciding.code == expected["code"], context
    else:
        assert not failed, context
    if expected["outcome"] == "issuer_not_confirmed":
        key = report.check("issuer_key")
        assert key is not None and key.status == WARN, context
        assert key.code == expected["code"] == "key_unconfirmed", context


def test_manifest_lists_every_file_and_only_real_ones() -> None:
    """Every stored file is either a credential with a verdict or a document the fetcher serves;
    every entry says where it came from and what the independent verifiers said."""
    stored = {
        str(path.relative_to(OUTSIDE))
        for path in OUTSIDE.rglob("*")
        if path.is_file() and path.name not in ("MANIFEST.json", "README.md")
    }
    served = {entry["file"] for entry in MANIFEST["documents"].values()}
    assert stored == set(ENTRIES) | served
    assert not set(ENTRIES) & served
    for name, entry in ENTRIES.items():
        assert entry["source"] in MANIFEST["sources"], name
        assert len(entry["commit"]) == 40 and entry["path"], name
        assert entry["expected"]["outcome"] in OUTCOMES, name
        assert entry["reason"] and entry["verifier_core"] and entry["vcjs"], name
        if entry["expected"]["outcome"] != "valid":
            assert entry["expected"]["check"], name
    for url, document in MANIFEST["documents"].items():
        assert url.startswith("https://") and document["source"] in MANIFEST["sources"], url


def test_corpus_covers_the_credential_forms_in_the_wild() -> None:
    """The forms issue 8 asks about are all here, each with at least one verdict."""
    forms = [set(entry["forms"]) for entry in ENTRIES.values()]
    verdicts = {entry["verdict"] for entry in ENTRIES.values()}

    def some(*wanted: str) -> bool:
        return any(set(wanted) <= found for found in forms)

    assert some("proof object") and any(
        any(f.startswith("proof array") for f in found) for found in forms
    )
    assert some("issuer.type string") and some("issuer.image string") and some("issuer string")
    assert some("did:key") and some("did:web") and some("https key id")
    assert some("VC 1.1") and some("VC 2.0")
    assert some("eddsa-rdfc-2022") and some("Ed25519Signature2020")
    assert some("VC-JWT") and some("baked PNG") and some("baked SVG")
    assert some("EndorsementCredential") and some("status BitstringStatusListEntry")
    for verdict in (
        "valid",
        "issuer_not_confirmed: key_unconfirmed",
        "not_valid: expired",
        "not_valid: revoked",
        "not_valid: invalid_proof",
        "not_valid: status_unavailable",
        "not_valid: unknown_context",
    ):
        assert verdict in verdicts, verdict


def test_corpus_fetcher_refuses_what_it_does_not_hold() -> None:
    with pytest.raises(NotInCorpus):
        corpus_fetch("https://example.com/issuers/876543")
    assert corpus_fetch(next(iter(DOCUMENTS))).startswith(b"{")


# --- the CLI: `cairn verify --offline` exit statuses on a few of them -----------------------------

CAIRN = Path(sys.executable).with_name("cairn")

CLI_CASES = [
    # did:key, both proof suites, nothing to fetch: valid offline too
    ("dcc-vc-test-fixtures/verifiableCredentials/v2/bothSignatureTypes/didkey/"
     "legacy-noStatus-noExpiry.json", 0),
    # a single proof object (compact JSON-LD): still valid
    ("dcc-vc-test-fixtures/verifiableCredentials/v2/ed25519/didKey/legacy-noStatus-noExpiry.json", 0),
    ("dcc-vc-test-fixtures/verifiableCredentials/v2/ed25519/didKey/"
     "legacy-noStatus-noExpiry-tampered.json", 1),
    ("dcc-vc-test-fixtures/verifiableCredentials/v2/ed25519/didKey/legacy-noStatus-expired.json", 1),
    # the key is the Multikey in an https key id's fragment; its document is not fetched
    ("1edtech-validator/ob30/simple.json", 3),
    ("1edtech-validator/ob30/simple-jwt.png", 3),
    # the file is empty in its repository: unusable input
    ("dcc-vc-test-fixtures/verifiableCredentials/v1/ed25519/didKey/legacy-noStatus-noExpiry.json", 2),
]  # fmt: skip


@pytest.mark.parametrize(("name", "exit_status"), CLI_CASES)
def test_cairn_verify_offline_exit_status(name: str, exit_status: int) -> None:
    if not CAIRN.exists():
        pytest.skip(f"{CAIRN} is not installed (make .venv/bin/cairn)")
    assert name in ENTRIES
    completed = subprocess.run(
        [str(CAIRN), "verify", "--offline", "--json", "--at", MANIFEST["now"], str(OUTSIDE / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == exit_status, (completed.stdout[-3000:], completed.stderr)
    if exit_status != 2:
        result = json.loads(completed.stdout)
        wanted = {0: "valid", 1: "not_valid", 3: "issuer_not_confirmed"}[exit_status]
        assert result["outcome"] == wanted
        assert result["valid"] is (exit_status == 0)
