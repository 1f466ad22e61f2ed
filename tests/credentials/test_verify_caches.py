"""What the verifier remembers (each URL once per verification, a status list's canonical form by
its exact bytes, a decoded bitstring by its encodedList) never changes a verdict: a changed,
tampered, re-keyed or out-of-date list is judged as if seen for the first time."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from credentials import status
from credentials.did import controller_document, did_web_document_url
from credentials.verify import status_checks
from credentials.verify import verify_credential as verify_credential_
from credentials.verify.report import VerificationReport, fetch_once
from keys import generate_key
from tests.credentials.world import ISSUER_ID, NOW, REVOCATION_URL, World


def forget() -> None:
    """Empty every cache, as in a fresh process."""
    with status_checks._canonical_lists_lock:
        status_checks._canonical_lists.clear()
    status._decoded_for_reading.cache_clear()


def verify(data: Any, world: World, **kwargs: Any) -> VerificationReport:
    kwargs.setdefault("now", NOW)
    return verify_credential_(data, loader=world.loader, fetch=world.fetch, **kwargs)


def verify_cold_and_warm(data: Any, world: World, **kwargs: Any) -> VerificationReport:
    """Verify with empty caches and again with warm ones: the reports must be identical."""
    forget()
    cold = verify(data, world, **kwargs)
    warm = verify(data, world, **kwargs)
    assert warm.as_json() == cold.as_json()
    return warm


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    forget()


def test_each_document_is_fetched_once_per_verification_and_again_for_the_next() -> None:
    world = World()
    credential = world.credential()
    did_document = did_web_document_url(ISSUER_ID)
    assert verify(credential, world).valid
    # The DID document serves both the credential's proof and the status list's.
    assert sorted(world.fetched) == sorted([did_document, REVOCATION_URL])
    world.fetched.clear()
    assert verify(credential, world).valid
    assert sorted(world.fetched) == sorted([did_document, REVOCATION_URL])


def test_fetch_once_remembers_bodies_not_failures() -> None:
    calls: list[str] = []
    answers = iter([OSError("down"), b"one", b"two"])

    def flaky(url: str) -> bytes:
        calls.append(url)
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fetch = fetch_once(flaky)
    assert fetch is not None
    with pytest.raises(OSError):
        fetch("https://a.example/x")
    assert fetch("https://a.example/x") == b"one"
    assert fetch("https://a.example/x") == b"one"
    assert calls == ["https://a.example/x", "https://a.example/x"]
    assert fetch_once(None) is None


def test_a_revoked_then_restored_bit_is_read_from_the_list_as_served_each_time() -> None:
    world = World()
    credential = world.credential(index=99)
    assert verify_cold_and_warm(credential, world).valid
    world.revocation.set(99)
    world.publish()
    revoked = verify(credential, world)  # the earlier list is still remembered
    assert revoked.check("status").code == "revoked"  # type: ignore[union-attr]
    world.revocation.clear(99)
    world.publish()
    assert verify(credential, world).valid


def test_a_list_changed_without_a_new_signature_fails_even_after_the_real_one() -> None:
    world = World()
    credential = world.credential(index=7)
    assert verify(credential, world).valid
    genuine = world.documents[REVOCATION_URL]
    flipped = status.StatusList.decode(genuine["credentialSubject"]["encodedList"])
    flipped.set(7)
    world.documents[REVOCATION_URL] = {
        **genuine,
        "credentialSubject": {**genuine["credentialSubject"], "encodedList": flipped.encode()},
    }
    tampered = verify_cold_and_warm(credential, world)
    assert tampered.check("status").code == "status_unavailable"  # type: ignore[union-attr]
    assert not tampered.valid


def test_a_remembered_list_is_still_checked_against_the_issuers_current_key() -> None:
    world = World()
    credential = world.credential()
    assert verify(credential, world).valid
    # The issuer rotates its key: the same list bytes no longer verify.
    other = generate_key("ed25519")
    world.documents[did_web_document_url(ISSUER_ID)] = controller_document(
        ISSUER_ID,
        {world.verification_method: other.public_key()},  # type: ignore[dict-item]
    )
    report = verify(credential, world)
    assert report.check("status").code == "status_unavailable"  # type: ignore[union-attr]
    assert report.check("proof").status == "fail"  # type: ignore[union-attr]


def test_a_remembered_list_is_still_checked_for_its_dates() -> None:
    world = World()
    credential = world.credential()
    assert verify(credential, world).valid
    # The list took effect a day before NOW; two days before, it is not current yet.
    early = verify(credential, world, now=NOW - timedelta(days=2))
    status_check = early.check("status")
    assert status_check is not None and status_check.code == "status_unavailable"
    assert "not current" in status_check.message


def test_cold_and_warm_verdicts_agree_on_many_lists_and_entries() -> None:
    world = World()
    for index in (0, 1, 17, 4095, 131071):
        credential = world.credential(index=index)
        assert verify_cold_and_warm(credential, world).valid, index
        world.revocation.set(index)
        world.publish()
        report = verify_cold_and_warm(credential, world)
        assert report.check("status").code == "revoked", index  # type: ignore[union-attr]


def test_the_decoded_list_reflects_the_encoded_list_it_was_given() -> None:
    bits = status.StatusList()
    entry = status.status_entry(list_credential_url=REVOCATION_URL, index=5, purpose="revocation")
    for value in (False, True, False):
        if value:
            bits.set(5)
        else:
            bits.clear(5)
        list_credential = status.build_status_list_credential(
            list_url=REVOCATION_URL,
            issuer=ISSUER_ID,
            purpose="revocation",
            status_list=bits,
            valid_from=NOW,
        )
        assert status.read_status(entry, json.loads(json.dumps(list_credential))) is value
