"""Guarantees (a) and (b): credentials Cairn awards verify with Digital Bazaar's vc.js, with Cairn's own verifier and `cairn verify`, and pass the strict OB 3.0 schema; revocation flips one bit of a signed list that vc.js verifies too.

The vc.js side runs the Node harness ``tests/interop/node/vcjs.mjs`` (about a second per call);
the tests skip, with the reason, only when Node or the harness's ``node_modules`` is missing. The
issuer's DID document is the one the app serves at ``/issuers/<slug>/did.json``, handed to vc.js
in its ``documents`` map under the DID: the harness resolves ``<did>#<key>`` verification
methods from a supplied DID document by fragment, so no network is involved anywhere.

The CLI path is slow-ish (10-30 s: five ``cairn`` subprocesses against a throw-away instance, on
PostgreSQL in a database of its own when CAIRN_TEST_DATABASE_URL names a server, else SQLite).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.cli import main
from app.extensions import db
from app.models import IssuedCredential, Issuer
from app.services.awarding import bulk, revocation
from app.services.awarding.issuing import EvidenceInput
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import DocumentLoader, StatusList, schema_errors, verify_credential
from tests.app.guarantee_instance import BASE_URL, Instance, app_fetcher, scratch_database
from tests.interop.conftest import NODE_DIR, VcJs

pytestmark = pytest.mark.interop

ACTOR = Actor(label="test")
SLUG = "district-7"
DID = f"did:web:badges.example.org:issuers:{SLUG}"


@pytest.fixture(scope="module")
def vcjs() -> VcJs:
    """The vc.js harness (skips when Node or its node_modules is missing)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("vc.js interop: `node` is not on PATH (install Node 20+)")
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip(f"vc.js interop: {NODE_DIR / 'node_modules'} is absent (npm ci there)")
    return VcJs(node)


def did_documents(client: FlaskClient, slug: str) -> dict[str, Any]:
    """``{DID: DID document}`` exactly as the app serves it, for vc.js's ``documents``."""
    response = client.get(f"/issuers/{slug}/did.json", base_url=BASE_URL)
    assert response.status_code == 200, response.status_code
    document = json.loads(response.data)
    return {document["id"]: document}


def tampered(credential: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(credential)
    changed["credentialSubject"]["achievement"]["name"] += " (edited)"
    return changed


def assert_all_pass(report: Any) -> None:
    """Every check Cairn's verifier ran passed, except 'skip' for nothing to check."""
    statuses = {check.id: check.status for check in report.checks}
    assert report.valid, report.as_json()["checks"]
    for check_id in ("proof", "issuer_key", "schema", "status", "valid_from"):
        assert statuses.get(check_id) == "pass", (check_id, report.as_json()["checks"])
    assert not [c for c in report.checks if c.status in ("fail", "warn")], report.as_json()


def verify_all(
    document: str,
    *,
    fetch: Callable[[str], bytes],
    vcjs: VcJs,
    did_docs: dict[str, Any],
    recipient: str,
    env_now: Any,
) -> dict[str, Any]:
    """Check one stored credential everywhere; return it parsed."""
    credential: dict[str, Any] = json.loads(document)
    assert schema_errors(credential) == []
    assert credential["issuer"]["id"] in did_docs
    report = verify_credential(
        document,
        loader=DocumentLoader(),
        now=env_now + timedelta(seconds=1),
        fetch=fetch,
        recipient=recipient,
    )
    assert_all_pass(report)
    assert report.check("recipient").status == "pass"
    assert vcjs.verify(credential, did_docs) == (True, None)
    return credential


# --- (a) the CLI path: real `cairn` subprocesses against a throw-away instance -------------------


@pytest.fixture(scope="module")
def cli_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, str]]:
    """An instance made with `cairn db upgrade`, `cairn issuers create` and `cairn achievements
    create`; yields it with the achievement's public id."""
    root = tmp_path_factory.mktemp("cli-instance")
    with scratch_database(root, "cairn_interop") as url:
        instance = Instance(root, url)
        instance.cairn_ok("db", "upgrade")
        created = json.loads(
            instance.cairn_ok(
                "issuers", "create", "--name", "District 7 Professional Learning", "--slug", SLUG,
                "--url", "https://district7.example.org", "--email", "pd@district7.example.org",
            )
        )  # fmt: skip
        assert created == {"slug": SLUG, "did": DID}
        achievement_id = instance.cairn_ok(
            "achievements", "create", "--issuer", SLUG, "--name", "Formative Assessment in Practice",
            "--description", "Completed the formative assessment module.",
            "--criteria", "Complete every activity and a **reflection**.",
            "--outcome", "Design exit tickets", "--tag", "assessment", "--credits", "2.5",
            "--valid-days", "365", "--type", "MicroCredential",
        ).strip()  # fmt: skip
        assert achievement_id
        yield instance, achievement_id


def test_cli_award_verifies_with_vcjs_cairn_and_the_schema(
    vcjs: VcJs,  # first: without Node the test skips before building the instance
    cli_instance: tuple[Instance, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    instance, achievement_id = cli_instance
    printed = instance.cairn_ok(
        "award", "--issuer", SLUG, "--achievement", achievement_id,
        "--recipient", "Ann.Lee@School.example.org", "--name", "Ann Lee-Müller «QA»",
        "--narrative", 'Led **three** coaching cycles; "exit tickets" & more.',
        "--evidence", "https://portfolio.example.org/ann", "--json", "--no-email",
    )  # fmt: skip
    credential = json.loads(printed)
    assert credential["issuer"]["id"] == DID
    assert credential["credentialSubject"]["achievement"]["name"] == (
        "Formative Assessment in Practice"
    )
    assert credential["proof"][0]["verificationMethod"].startswith(DID + "#")
    assert schema_errors(credential) == []

    application = instance.app()
    fetch = app_fetcher(application)
    with application.app_context():
        stored = db.session.get(IssuedCredential, credential["id"].rsplit("/", 1)[1])
        assert stored is not None
        # `--json` pretty-prints the stored text; the stored text is what was signed and served.
        assert json.loads(stored.document) == credential
        assert fetch(credential["id"]).decode() == stored.document
        docs = did_documents(application.test_client(), SLUG)
        now = service_env().now

    # Digital Bazaar's vc.js, with the DID document the app serves; and it notices tampering.
    assert vcjs.verify(credential, docs) == (True, None)
    verified, error = vcjs.verify(tampered(credential), docs)
    assert not verified and "signature" in (error or "").lower()

    # Cairn's verifier, resolving the DID and status list from the app.
    report = verify_credential(
        printed,
        loader=DocumentLoader(),
        now=now + timedelta(seconds=1),
        fetch=fetch,
        recipient="ann.lee@school.example.org",
    )
    assert_all_pass(report)

    # `cairn verify` itself (in-process so its fetcher can be pointed at the app: a subprocess
    # could only fetch https://badges.example.org from the internet).
    path = tmp_path / "credential.json"
    path.write_text(printed)
    monkeypatch.setattr("app.cli.credentials.SafeFetcher", lambda: fetch)
    status = main(["verify", str(path), "--json", "--recipient", "ann.lee@school.example.org"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert status == 0, (out, err)
    assert result["valid"] is True
    assert {c["id"]: c["status"] for c in result["checks"]}["status"] == "pass"

    # `cairn verify --offline` as a real subprocess. Offline, nothing may be fetched, and an
    # issuer's key lives only in its did:web DID document (the key id `#key-<hex>` is not a
    # Multikey, so the key cannot be read off the id either): the proof and the issuer-key
    # binding therefore cannot be checked (fail, exit 1), status is skipped (never assumed "not
    # revoked"), and the recipient and endorsement checks are skipped (none given, none carried).
    # Everything else must pass.
    completed = instance.cairn("verify", "--offline", str(path), "--json")
    assert completed.returncode == 1, completed.stderr
    offline = json.loads(completed.stdout)
    not_passing = {c["id"]: c["status"] for c in offline["checks"] if c["status"] != "pass"}
    assert not_passing == {
        "proof": "fail",
        "issuer_key": "fail",
        "status": "skip",
        "recipient": "skip",
        "endorsements": "skip",
    }, offline["checks"]
    proof = next(c for c in offline["checks"] if c["id"] == "proof")
    assert f"https://badges.example.org/issuers/{SLUG}/did.json (offline)" in proof["message"]
    status_check = next(c for c in offline["checks"] if c["id"] == "status")
    assert status_check["code"] == "offline"
    passing = {c["id"] for c in offline["checks"] if c["status"] == "pass"}
    assert {"parse", "context", "type", "schema", "terms", "valid_from"} <= passing
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# --- (a) the service (what the UI form calls) and a bulk job ------------------------------------


def test_service_award_verifies_with_vcjs(
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    client: FlaskClient,
    vcjs: VcJs,
) -> None:
    issuer = make_issuer(slug=SLUG)
    achievement = make_achievement(issuer, learning_outcomes=("Use exit tickets",), credits_available=2.5,
                                   alignments=({"target_name": "Analyst", "target_url": "https://iste.org/x"},))  # fmt: skip
    credential = make_award(
        issuer, achievement, "Teacher@School.example.org", name="Zoë O'Brien",
        narrative="Did it all:\n\n* exit tickets\n* a **reflection**",
        evidence=(EvidenceInput(url="https://portfolio.example.org/zoe", narrative="Exit tickets"),),
        valid_until=service_env().now + timedelta(days=30),
    )  # fmt: skip
    parsed = verify_all(
        credential.document,
        fetch=local_fetch,
        vcjs=vcjs,
        did_docs=did_documents(client, SLUG),
        recipient="teacher@school.example.org",
        env_now=service_env().now,
    )
    assert "validUntil" in parsed and parsed["credentialSubject"]["achievement"]["name"]


def test_bulk_job_credentials_verify_with_vcjs_cairn_and_the_schema(
    app: Flask,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    local_fetch: Callable[[str], bytes],
    client: FlaskClient,
    vcjs: VcJs,
) -> None:
    issuer = make_issuer(slug=SLUG)
    achievement = make_achievement(issuer, default_validity_days=365)
    data = (
        "email,name,narrative,evidence_url,evidence_narrative,expiry\n"
        'ann@school.example.org,Ann Lee,"Led three cycles, with ""quotes""",https://portfolio.example.org/ann,Log,never\n'
        "bob@school.example.org,Bjørn Ødegård,,,,2099-06-30\n"
        "chen@school.example.org,陈静,Completed the module.,,,\n"
    ).encode()
    env = service_env()
    job = bulk.create_job(issuer, achievement, filename="cohort.csv", data=data, actor=ACTOR,
                          env=env, max_rows=100)  # fmt: skip
    assert job.valid_rows == 3
    bulk.confirm(job, actor=ACTOR, env=env)  # JOBS_INLINE: runs the job now
    assert job.state == "done" and job.issued_rows == 3
    docs = did_documents(client, SLUG)
    credentials = {
        c.recipient_email: c
        for c in db.session.query(IssuedCredential).filter_by(bulk_job_id=job.id)
    }
    assert sorted(credentials) == [
        "ann@school.example.org",
        "bob@school.example.org",
        "chen@school.example.org",
    ]
    parsed = {
        email: verify_all(c.document, fetch=local_fetch, vcjs=vcjs, did_docs=docs,
                          recipient=email, env_now=service_env().now)
        for email, c in credentials.items()
    }  # fmt: skip
    assert "validUntil" not in parsed["ann@school.example.org"]  # expiry "never"
    assert parsed["bob@school.example.org"]["validUntil"].startswith("2099-06-30T23:59:59")
    names = [
        i["identityHash"]
        for i in parsed["chen@school.example.org"]["credentialSubject"]["identifier"]
        if i["identityType"] == "name"
    ]
    assert names == ["陈静"]


# --- (b) revocation: one bit, in a list whose own proof vc.js verifies -------------------------


def test_revocation_flips_one_bit_of_a_list_vcjs_verifies(
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    client: FlaskClient,
    vcjs: VcJs,
) -> None:
    issuer = make_issuer(slug=SLUG)
    achievement = make_achievement(issuer)
    revoked, kept = (
        make_award(issuer, achievement, "a@school.example.org"),
        make_award(issuer, achievement, "b@school.example.org"),
    )
    docs = did_documents(client, SLUG)

    def served_list() -> dict[str, Any]:
        response = client.get(f"/status/{SLUG}/revocation", base_url=BASE_URL)
        assert response.status_code == 200
        document: dict[str, Any] = json.loads(response.data)
        return document

    before = served_list()
    assert vcjs.verify(before, docs) == (True, None)
    revocation.revoke(revoked, "Awarded in error", actor=ACTOR, env=service_env())
    after = served_list()
    assert after["proof"] != before["proof"]  # re-signed when the bit changed
    assert vcjs.verify(after, docs) == (True, None)

    old_bits = StatusList.decode(before["credentialSubject"]["encodedList"])
    new_bits = StatusList.decode(after["credentialSubject"]["encodedList"])
    changed = [
        i
        for i, (x, y) in enumerate(zip(old_bits.to_bytes(), new_bits.to_bytes(), strict=True))
        if x != y
    ]
    assert changed == [revoked.status_index // 8]
    assert old_bits.count_set() == 0 and new_bits.count_set() == 1
    assert new_bits.get(revoked.status_index) and not new_bits.get(kept.status_index)

    now = service_env().now + timedelta(seconds=1)
    report = verify_credential(
        revoked.document, loader=DocumentLoader(), now=now, fetch=local_fetch
    )
    assert not report.valid and report.check("status").code == "revoked"
    assert verify_credential(
        kept.document, loader=DocumentLoader(), now=now, fetch=local_fetch
    ).valid

    # vc.js really checks the list's proof: a list with one more bit set no longer verifies.
    forged_bits = StatusList.decode(after["credentialSubject"]["encodedList"])
    forged_bits.set(kept.status_index, True)
    forged = copy.deepcopy(after)
    forged["credentialSubject"]["encodedList"] = forged_bits.encode()
    verified, error = vcjs.verify(forged, docs)
    assert not verified and "signature" in (error or "").lower()
