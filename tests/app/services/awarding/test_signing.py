"""Signing many credentials on worker processes gives the same, verifiable results, in order."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.services.awarding import issuing, signing
from app.services.awarding.issuing import AwardInput
from credentials import (
    Achievement,
    DocumentLoader,
    Profile,
    Recipient,
    build_credential,
    decode_jwt,
    did_key,
    did_key_verification_method,
    verify_credential,
    verify_jwt_signature,
    verify_proof,
)
from keys import generate_key

UNSIGNED = json.loads(
    (
        Path(__file__).resolve().parents[3]
        / "fixtures/vectors/ob3-impl-guide-test-vector/unsigned-credential.json"
    ).read_text()
)
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def stop_pool() -> Iterator[None]:
    yield
    signing.shutdown()


def documents(count: int, issuer: str) -> list[dict]:
    out = []
    for number in range(count):
        document = copy.deepcopy(UNSIGNED)
        document["id"] = f"urn:uuid:00000000-0000-4000-8000-{number:012d}"
        document["issuer"]["id"] = issuer
        out.append(document)
    return out


def test_pool_signs_in_order_and_every_proof_verifies() -> None:
    key = generate_key("ed25519")
    vm = did_key_verification_method(key.public_key())  # type: ignore[arg-type]
    batch = documents(40, did_key(key.public_key()))  # type: ignore[arg-type]
    batch[7]["shoeSize"] = 44  # undefined: this one fails, alone
    loader = DocumentLoader()
    results = signing.sign_many(
        batch, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=2
    )
    assert len(results) == 40
    assert results[7].text is None and "shoeSize" in (results[7].error or "")
    for number, result in enumerate(results):
        if number == 7:
            continue
        assert result.text is not None
        signed = json.loads(result.text)
        assert signed["id"] == batch[number]["id"]
        verify_proof(signed, signed["proof"][0], public_key=key.public_key(), loader=loader)
    in_process = signing.sign_many(
        batch[:3], key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=2
    )
    # Data Integrity signatures are deterministic: the pool and this process sign identically.
    assert [r.text for r in in_process] == [r.text for r in results[:3]]


def test_pool_signs_vc_jwt() -> None:
    key = generate_key("p256")
    batch = documents(32, "https://example.edu/issuers/565049")
    results = signing.sign_many(batch, key=key, vm="https://example.edu/issuers/565049#jwt", proof_format="jwt",
                                created=WHEN, loader=DocumentLoader(), processes=2)  # fmt: skip
    for number, result in enumerate(results):
        decoded = decode_jwt(result.text or "")
        verify_jwt_signature(decoded, key.public_key())
        assert decoded.payload["jti"] == batch[number]["id"]


def test_bulk_job_signs_on_worker_processes(make_issuer, make_achievement, local_fetch) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import IssuedCredential
    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    issuer = make_issuer()
    achievement = make_achievement(issuer)
    rows = "".join(f"teacher{n}@school.example.org,Teacher {n}\n" for n in range(40))
    job = bulk.create_job(issuer, achievement, filename="cohort.csv", data=("email,name\n" + rows).encode(),
                          actor=Actor(label="test"), env=service_env(), max_rows=100)  # fmt: skip
    job.state = "queued"
    db.session.commit()
    done = bulk.run_job(job.id, service_env(), chunk_size=40, processes=2)
    assert done is not None and done.state == "done" and done.issued_rows == 40
    documents = list(db.session.scalars(select(IssuedCredential.document)))
    assert len(documents) == 40
    env = service_env()
    report = verify_credential(documents[0], loader=env.loader, now=env.now, fetch=local_fetch)
    assert report.valid, report.as_json()["checks"]


def signed_here() -> tuple[Any, str, list[dict[str, Any]], DocumentLoader, list[Any]]:
    """A key, its method, 40 documents, a loader, and the documents signed in this process (the
    bytes a pool, or a fallback from it, must give: Data Integrity signatures are deterministic)."""
    key = generate_key("ed25519")
    vm = did_key_verification_method(key.public_key())  # type: ignore[arg-type]
    batch = documents(40, did_key(key.public_key()))  # type: ignore[arg-type]
    loader = DocumentLoader()
    here = signing.sign_many(
        batch, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=0
    )
    return key, vm, batch, loader, here


@pytest.mark.parametrize("failure", [OSError("fork refused"), BrokenProcessPool("a worker died")])
def test_signing_falls_back_to_this_process_when_the_pool_cannot_sign(
    failure: Exception, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key, vm, batch, loader, here = signed_here()

    class Broken:
        def submit(self, *args: object) -> object:
            raise failure

    def executor(processes: int) -> object:
        if isinstance(failure, OSError):
            raise failure
        return Broken()

    monkeypatch.setattr(signing, "_executor", executor)
    fallen_back = signing.sign_many(
        batch, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=2
    )
    # The same bytes as signing here: Data Integrity signatures are deterministic.
    assert [r.text for r in fallen_back] == [r.text for r in here]
    assert all(r.text is not None for r in here)
    assert "signing in this process" in caplog.text


def test_signing_falls_back_when_the_pool_breaks_while_signing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The pool took the work, then a process died: the results are asked for later (a bulk
    # job stores the chunk before meanwhile), and the chunk is signed here instead.
    key, vm, batch, loader, here = signed_here()

    class Died:
        def result(self) -> object:
            raise BrokenProcessPool("a worker died")

    class Breaking:
        def submit(self, *args: object) -> object:
            return Died()

    monkeypatch.setattr(signing, "_executor", lambda processes: Breaking())
    pending = signing.sign_later(
        batch, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=2
    )
    assert "signing in this process" not in caplog.text  # nothing waited for yet
    assert [r.text for r in pending()] == [r.text for r in here]
    assert "signing in this process" in caplog.text


def test_a_pipelined_bulk_job_on_worker_processes_issues_verifiable_credentials(
    make_issuer, make_achievement, local_fetch
) -> None:
    # Three chunks: on SQLite the pool signs each while the one before it is stored.
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import IssuedCredential
    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    issuer = make_issuer()
    achievement = make_achievement(issuer, credits_available=2.5)  # a float: templated shapes
    rows = "".join(f"teacher{n}@school.example.org,Teacher {n}\n" for n in range(100))
    job = bulk.create_job(issuer, achievement, filename="cohort.csv", data=("email,name\n" + rows).encode(),
                          actor=Actor(label="test"), env=service_env(), max_rows=200)  # fmt: skip
    job.state = "queued"
    db.session.commit()
    done = bulk.run_job(job.id, service_env(), chunk_size=40, processes=2)
    assert done is not None and done.state == "done" and done.issued_rows == 100
    stored = db.session.execute(
        select(IssuedCredential.recipient_email, IssuedCredential.status_index,
               IssuedCredential.document)
    ).all()  # fmt: skip
    assert len(stored) == 100
    assert len({email for email, _, _ in stored}) == 100
    assert len({index for _, index, _ in stored}) == 100
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 100
    env = service_env()
    for email, index, document in stored:
        report = verify_credential(document, loader=env.loader, now=env.now, fetch=local_fetch)
        assert report.valid, (email, report.as_json()["checks"])
        assert json.loads(document)["credentialStatus"]["statusListIndex"] == str(index)


@pytest.mark.parametrize("processes", [0, 2])
def test_credentials_built_where_they_are_signed_equal_those_built_here(processes: int) -> None:
    """With a blueprint the signing processes build each credential from its arguments: the
    same document ``build_credential`` makes here, signed the same; one the builder refuses is
    refused alone, as not built, with the builder's message."""
    key = generate_key("ed25519")
    vm = did_key_verification_method(key.public_key())  # type: ignore[arg-type]
    issuer = Profile(id=did_key(key.public_key()), name="District 7")  # type: ignore[arg-type]
    achievement = Achievement(
        id="https://example.org/achievements/1", name="Badge", description="A badge.",
        criteria_narrative="Did it.",
    )  # fmt: skip
    arguments = [
        {
            "credential_id": f"urn:uuid:00000000-0000-4000-8000-{number:012d}",
            "recipient": Recipient(email=f"p{number}@example.org", salt=f"{number:032x}"),
            "valid_from": WHEN,
            "valid_until": WHEN.replace(year=2030) if number != 5 else WHEN,  # 5: not after
            "narrative": f"Row {number}",
        }
        for number in range(40)
    ]
    loader = DocumentLoader()
    results = signing.sign_later(
        arguments, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader,
        processes=processes, blueprint=(issuer, achievement),
    )()  # fmt: skip
    assert results[5] == signing.Signed(None, "validUntil must be after validFrom", built=False)
    for number, result in enumerate(results):
        if number == 5:
            continue
        expected = signing.sign_one(
            build_credential(issuer=issuer, achievement=achievement, **arguments[number]),
            key, vm, "di", WHEN, loader,
        )  # fmt: skip
        # Ed25519 signatures are deterministic: the same document signs to the same text.
        assert (result.text, result.built) == (expected, True)


def test_an_award_the_signing_processes_could_not_build_is_refused_as_not_built() -> None:
    """The refusal says what building here said ("could not be built"), not "signed"."""
    items = [issuing._Award(AwardInput(email=f"p{n}@example.org")) for n in range(3)]
    issuing._signed(
        items,
        [
            signing.Signed("{}"),
            signing.Signed(None, "validUntil must be after validFrom", built=False),
            signing.Signed(None, "undefined term"),
        ],
    )
    assert items[0].outcome is None and items[0].document == "{}"
    messages = [item.outcome.refused.message for item in items[1:]]  # type: ignore[union-attr]
    assert messages == [
        "The credential could not be built: validUntil must be after validFrom",
        "The credential could not be signed: undefined term",
    ]


def test_processes_started_early_are_the_ones_that_sign() -> None:
    signing.shutdown()
    signing.start_processes(0, 250)
    signing.start_processes(1, 250)
    signing.start_processes(2, 2 * signing.MIN_PER_PROCESS - 1)
    assert signing._pool is None  # chunks would be signed in the caller: nothing to start
    signing.start_processes(2, 2 * signing.MIN_PER_PROCESS)
    pool = signing._pool
    assert pool is not None
    # Started before anything was signed, without waiting for them: one per process asked.
    deadline = time.monotonic() + 60
    while len(pool._processes) < 2 or not all(p.is_alive() for p in pool._processes.values()):
        assert time.monotonic() < deadline, "the signing processes did not start"
        time.sleep(0.05)
    started = set(pool._processes)
    key, vm, batch, loader, here = signed_here()
    results = signing.sign_many(
        batch, key=key, vm=vm, proof_format="di", created=WHEN, loader=loader, processes=2
    )
    assert [r.text for r in results] == [r.text for r in here]
    assert signing._pool is pool and set(pool._processes) == started


def test_processes_that_cannot_start_early_leave_the_chunk_to_sign_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(processes: int) -> object:
        raise OSError("fork refused")

    monkeypatch.setattr(signing, "_executor", refused)
    signing.start_processes(2, 250)  # no exception: the job goes on
    assert "could not be started early" in caplog.text


@pytest.mark.parametrize("runs_here", [True, False])
def test_a_previewed_job_starts_its_signing_processes_where_it_will_run(
    runs_here: bool, make_issuer, make_achievement, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    started: list[tuple[int, int]] = []
    monkeypatch.setattr(signing, "start_processes", lambda *asked: started.append(asked))
    env = service_env()
    monkeypatch.setattr(type(env.jobs), "runs_here", runs_here)
    env = dataclasses.replace(env, settings=dataclasses.replace(env.settings, signing_processes=2))
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    data = b"email,name\n" + b"".join(
        b"teacher%d@school.example.org,Teacher %d\n" % (n, n) for n in range(40)
    )
    bulk.create_job(issuer, achievement, filename="cohort.csv", data=data,
                    actor=Actor(label="test"), env=env, max_rows=100)  # fmt: skip
    # In the web process of an RQ deployment they would only take memory: the job runs on a
    # worker, which starts its own when the job starts there.
    assert started == ([(2, 40)] if runs_here else [])
    nothing_valid = b"email,name\nnot-an-address,Teacher 1\n"
    bulk.create_job(issuer, achievement, filename="bad.csv", data=nothing_valid,
                    actor=Actor(label="test"), env=env, max_rows=100)  # fmt: skip
    assert started == ([(2, 40)] if runs_here else [])
