"""What Cairn issues verifies in the Digital Credentials Consortium's verifier-core.

verifier-core (npm ``@digitalcredentials/verifier-core``, the verifier behind the DCC's
VerifierPlus and Learner Credential Wallet) checks the signature (eddsa-rdfc-2022 or
Ed25519Signature2020), expiry, the Bitstring status list, the issuer against DID registries,
and the OB 3.0 JSON Schema. It runs through ``node/verifiercore.mjs``, which sends every https
request to a loopback :class:`DocumentServer`: the issuer's did:web DID document and status
list are served there exactly as the app serves them, plus a DCC-style issuer registry naming
the test issuer, and the 1EdTech schemas Cairn vendors. Nothing reaches the network.

Covered: every way Cairn awards an Open Badge — by staff (evidence, narrative, recipient name,
an expiry date, achievement alignments and credits), on completing a learning module (evidence
from the module's items plus a completion narrative), and on approving a portfolio submission
(evidence from the portfolio and rubric results) — each verifying with every step valid; a
revoked one showing ``revocation_status`` false; a tampered one failing its signature; an
expired one failing expiry. Cairn issues no endorsements, so there are none to check.

VC-JWT: verifier-core verifies only Data Integrity / Linked Data proofs (no JOSE support), so
credentials from an issuer set to VC-JWT are not sent to it; vc.js and Cairn's own verifier cover
those.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from app.extensions import db
from app.models import IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.awarding.issuing import EvidenceInput
from app.services.learning import answers, authoring, completion, enrolments, reviews
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import baking
from credentials.did import did_web_document_url
from tests.app.portfolio_helpers import add_item, make_educator, portfolio_badge
from tests.interop.conftest import DocumentServer, describe_verifier_core

if TYPE_CHECKING:
    from tests.interop.conftest import VerifierCore

pytestmark = pytest.mark.interop

ACTOR = Actor(label="test")
SLUG = "district-7"
REGISTRY_URL = "https://registry.cairn.test/registry.json"
REGISTRIES = [{"name": "Cairn test registry", "type": "dcc-legacy", "url": REGISTRY_URL}]
LEVELS = {"evidence-of-impact": "exemplary", "reflection": "secure"}


@pytest.fixture
def server() -> Iterator[DocumentServer]:
    """The loopback server verifier-core's requests are sent to."""
    served = DocumentServer()
    yield served
    served.close()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], server: DocumentServer) -> Issuer:
    """A Data Integrity issuer, listed in the registry the harness is given."""
    made = make_issuer(slug=SLUG)
    did = f"did:web:badges.example.org:issuers:{SLUG}"
    server.put(
        REGISTRY_URL,
        {"registry": {did: {"name": made.name, "url": "https://district7.example.org"}}},
    )
    return made


def publish(server: DocumentServer, fetch: Callable[[str], bytes], credential: Any) -> None:
    """Serve what verifying ``credential`` needs, as the app serves it now: the issuer's DID
    document and each status list."""
    did_document = did_web_document_url(credential["issuer"]["id"])
    server.put(did_document, fetch(did_document))
    entries = credential.get("credentialStatus") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        url = entry["statusListCredential"]
        server.put(url, fetch(url))


def parsed(credential: IssuedCredential) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(credential.document)
    return document


def assert_all_valid(response: dict[str, Any], server: DocumentServer) -> None:
    """Every verifier-core step is valid, and everything it asked for was served locally."""
    summary = response["summary"]
    assert summary["errors"] == [], response["result"]
    assert summary["valid_signature"] == {"valid": True}, summary
    assert summary["expiration"] == {"valid": True}, summary
    assert summary["revocation_status"] == {"valid": True}, summary
    assert summary["registered_issuer"] == {"valid": True}, summary
    assert summary["schema"] and all(s["valid"] for s in summary["schema"]), response["result"]
    assert set(response["requests"]) <= set(server.documents), response["requests"]


def staff_award(
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    email: str = "teacher@school.example.org",
    **fields: Any,
) -> IssuedCredential:
    achievement = make_achievement(
        issuer,
        learning_outcomes=("Use exit tickets",),
        credits_available=2.5,
        alignments=({"target_name": "Analyst", "target_url": "https://iste.org/x"},),
    )
    return make_award(issuer, achievement, email, **fields)


def test_staff_award_verifies_in_verifier_core(
    verifier_core: VerifierCore,
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    server: DocumentServer,
) -> None:
    credential = staff_award(
        issuer, make_achievement, make_award,
        name="Zoë O'Brien",
        narrative="Did it all:\n\n* exit tickets\n* a **reflection**",
        evidence=(EvidenceInput(url="https://portfolio.example.org/zoe", name="Log",
                                narrative="Exit tickets"),),
        valid_until=service_env().now + timedelta(days=30),
    )  # fmt: skip
    document = parsed(credential)
    assert "validUntil" in document and document["evidence"]
    publish(server, local_fetch, document)
    response = verifier_core.verify(document, server, REGISTRIES)
    assert_all_valid(response, server)
    # it really resolved the issuer's did:web document and status list through the server
    did_document = did_web_document_url(document["issuer"]["id"])
    assert did_document in response["requests"]
    assert document["credentialStatus"]["statusListCredential"] in response["requests"]


def test_module_completion_award_verifies_in_verifier_core(
    verifier_core: VerifierCore,
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    local_fetch: Callable[[str], bytes],
    server: DocumentServer,
) -> None:
    env = service_env()
    badge = make_achievement(issuer)
    module = authoring.create_module(
        issuer,
        ModuleInput(title="Formative Assessment in Practice", summary="Four weeks of exit tickets.",
                    achievement_public_id=badge.public_id, requires_partner=False),
        actor=ACTOR, env=env,
    )  # fmt: skip
    activity = authoring.add_activity(module, ActivityInput(title="Try it"), actor=ACTOR, env=env)
    authoring.add_prompt(activity, "What happened?", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    ann = make_educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    answers.save_answers(enrolment, ann, activity, {p.id: "It worked." for p in activity.prompts},
                         service_env())  # fmt: skip
    items = answers.module_items(enrolment)
    completion.complete(enrolment, ann, [items[0].public_id], service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "awarded"
    stored = db.session.get(IssuedCredential, enrolment.credential_id)
    assert stored is not None
    document = parsed(stored)
    assert len(document["evidence"]) == 2  # the chosen item and the completion narrative
    publish(server, local_fetch, document)
    assert_all_valid(verifier_core.verify(document, server, REGISTRIES), server)


def test_portfolio_award_with_results_verifies_in_verifier_core(
    verifier_core: VerifierCore,
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    make_staff: Callable[..., Any],
    local_fetch: Callable[[str], bytes],
    server: DocumentServer,
) -> None:
    badge = portfolio_badge(issuer, make_achievement)
    ann = make_educator()
    report = add_item(ann, "Action research report", publish=True)
    submission = reviews.submit(ann, badge, [report.public_id], "My project.", service_env())
    reviews.decide(submission, make_staff(), "approve", "Well done.", LEVELS, service_env())
    stored = db.session.get(IssuedCredential, submission.credential_id)
    assert stored is not None
    document = parsed(stored)
    assert document["credentialSubject"]["result"] and document["evidence"]
    assert document["credentialSubject"]["achievement"]["resultDescription"]
    publish(server, local_fetch, document)
    assert_all_valid(verifier_core.verify(document, server, REGISTRIES), server)


def test_revoked_tampered_and_expired_awards_fail_in_verifier_core(
    verifier_core: VerifierCore,
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    server: DocumentServer,
) -> None:
    revoked = staff_award(issuer, make_achievement, make_award, "a@school.example.org")
    kept = staff_award(issuer, make_achievement, make_award, "b@school.example.org")
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    expiring = staff_award(issuer, make_achievement, make_award, "c@school.example.org",
                           valid_until=expires)  # fmt: skip
    revocation.revoke(revoked, "Awarded in error", actor=ACTOR, env=service_env())
    db.session.commit()
    tampered = copy.deepcopy(parsed(kept))
    tampered["credentialSubject"]["achievement"]["name"] += " (edited)"
    publish(server, local_fetch, parsed(kept))  # the status list as it is after the revocation
    # verifier-core judges expiry by the real clock: wait until the award has expired
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 1.5))
    results = verifier_core.verify_many(
        [parsed(revoked), parsed(kept), tampered, parsed(expiring)], server, REGISTRIES
    )
    revoked_result, kept_result, tampered_result, expired_result = results

    assert revoked_result["summary"]["valid_signature"] == {"valid": True}
    assert revoked_result["summary"]["revocation_status"] == {"valid": False}, revoked_result
    assert_all_valid(kept_result, server)
    assert tampered_result["summary"]["errors"] == ["invalid_signature"], tampered_result
    assert expired_result["summary"]["valid_signature"] == {"valid": True}
    assert expired_result["summary"]["expiration"] == {"valid": False}, expired_result
    assert expired_result["summary"]["revocation_status"] == {"valid": True}


def test_harness_sends_nothing_to_the_network(
    verifier_core: VerifierCore,
    issuer: Issuer,
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
    server: DocumentServer,
) -> None:
    """With nothing served, the did:web key cannot be resolved: verifier-core reports it rather
    than reaching the real badges.example.org, and the server saw each request it made."""
    document = parsed(staff_award(issuer, make_achievement, make_award))
    response = verifier_core.verify(document, server, REGISTRIES)
    assert response["summary"]["errors"] in (["did_web_unresolved"], ["invalid_signature"])
    did_document = did_web_document_url(document["issuer"]["id"])
    assert did_document in server.asked
    assert set(response["requests"]) <= set(server.asked)


def test_verifier_core_still_says_what_the_outside_corpus_records(
    verifier_core: VerifierCore,
) -> None:
    """The outside corpus records verifier-core's answer for each credential beside Cairn's
    expected verdict; the recorded answers are still what the pinned verifier-core says at the
    manifest's ``now`` (so an upgrade that changes them shows up here, and the manifest is
    updated with it)."""
    outside = Path(__file__).resolve().parents[1] / "fixtures" / "outside"
    manifest = json.loads((outside / "MANIFEST.json").read_text("utf-8"))
    served = DocumentServer(
        {url: (outside / doc["file"]).read_bytes() for url, doc in manifest["documents"].items()}
    )
    try:
        checked: dict[str, dict[str, Any]] = {}
        for entry in manifest["credentials"]:
            if entry["verifier_core"].startswith("not run"):
                continue
            raw = (outside / entry["file"]).read_bytes()
            if baking.detect_image_format(raw):
                payload = baking.unbake(raw)
                assert payload is not None, entry["file"]
                raw = payload.text.encode()
            checked[entry["file"]] = json.loads(raw)
        results = verifier_core.verify_many(list(checked.values()), served, now=manifest["now"])
    finally:
        served.close()
    recorded = {e["file"]: e["verifier_core"] for e in manifest["credentials"]}
    said = {
        name: describe_verifier_core(result["summary"])
        for name, result in zip(checked, results, strict=True)
    }
    assert said == {name: recorded[name] for name in checked}
    assert len(checked) > 140
