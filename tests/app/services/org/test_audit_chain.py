"""The audit log is tamper-evident: every event is hash-chained to the one before it (one chain
per organisation, one for the instance); `cairn audit verify` names the first broken link when a
row is altered, deleted or inserted past Cairn; the CSV export carries the chain and verifies on
its own; concurrent appends keep one straight chain."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from app.cli import main
from app.extensions import db
from app.models import AuditChainHead, AuditEvent, Issuer
from app.services._core.spreadsheets import FORMULA_STARTS
from app.services.org import audit
from app.services.org.audit import GENESIS, Actor
from app.wiring import service_env

ACTOR = Actor(label="tester", ip="192.0.2.9")


def record(issuer_id: int | None, action: str, n: int = 1, **kwargs: Any) -> list[AuditEvent]:
    made = []
    for i in range(n):
        made.append(
            audit.record(
                action,
                actor=ACTOR,
                now=service_env().now + timedelta(seconds=i, microseconds=123),
                issuer_id=issuer_id,
                subject_type="credential",
                subject_id=f"c{i}",
                detail={"n": i, "note": 'café, "quoted"', "nested": {"b": 1, "a": [1, 2]}},
                **kwargs,
            )
        )
    db.session.commit()
    return made


@contextmanager
def triggers_off() -> Iterator[None]:
    """What someone with the database's own credentials can do: lift the append-only triggers."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        yield
        db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))
        yield
    db.session.commit()
    db.session.expire_all()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer("First", slug="first")


@pytest.fixture
def chain(issuer: Issuer) -> list[AuditEvent]:
    """Five events of ours after those creating the organisation recorded."""
    record(issuer.id, "test.event", 5)
    return list(reversed(audit.events(issuer.id)))


def test_events_are_chained_per_organisation_and_for_the_instance(
    issuer: Issuer, make_issuer: Callable[..., Issuer]
) -> None:
    other = make_issuer("Second", slug="second")
    record(issuer.id, "test.a", 3)
    record(None, "test.instance", 2)
    record(other.id, "test.b", 2)
    for issuer_id in (issuer.id, other.id, None):
        rows = db.session.scalars(
            db.select(AuditEvent)
            .where(
                AuditEvent.issuer_id.is_(None)
                if issuer_id is None
                else AuditEvent.issuer_id == issuer_id
            )
            .order_by(AuditEvent.chain_seq)
        ).all()
        assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))
        assert [r.prev_hash for r in rows] == [GENESIS] + [r.hash for r in rows[:-1]]
        assert all(audit.event_hash(r) == r.hash for r in rows)
        head = db.session.get(AuditChainHead, issuer_id or 0)
        assert head is not None and (head.seq, head.hash) == (rows[-1].chain_seq, rows[-1].hash)
        report = audit.verify_chain(issuer_id)
        assert report.intact and report.events == len(rows)
    assert [audit.chain_label(c) for c in audit.chains()] == ["instance", "first", "second"]


def test_the_hash_is_sha256_over_the_documented_serialisation(issuer: Issuer) -> None:
    (event,) = record(issuer.id, "test.documented")
    db.session.expire_all()  # read back from the database
    event = db.session.get(AuditEvent, event.id)
    assert event is not None
    payload = [
        "cairn-audit-1", issuer.id, event.chain_seq, event.created_at.isoformat(), None,
        "tester", "test.documented", "credential", "c0", "192.0.2.9",
        {"n": 0, "note": "café, \"quoted\"", "nested": {"b": 1, "a": [1, 2]}}, event.prev_hash,
    ]  # fmt: skip
    serialised = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert event.hash == hashlib.sha256(serialised.encode()).hexdigest()


def test_an_altered_row_is_named(issuer: Issuer, chain: list[AuditEvent]) -> None:
    target = chain[-3]
    with triggers_off():
        db.session.execute(
            text("UPDATE audit_event SET actor = 'someone else' WHERE id = :id"), {"id": target.id}
        )
    report = audit.verify_chain(issuer.id)
    assert report.broken is not None
    assert report.broken.event_id == target.id
    assert report.broken.created_at == target.created_at
    assert "altered" in report.broken.reason


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link(
    issuer: Issuer, chain: list[AuditEvent]
) -> None:
    target, after = chain[-3], chain[-2]
    with triggers_off():
        stored = db.session.get(AuditEvent, target.id)
        assert stored is not None
        forged = AuditEvent(**{c.key: getattr(stored, c.key) for c in AuditEvent.__table__.c})
        forged.detail = {"n": 99}
        db.session.execute(
            text("UPDATE audit_event SET detail = :d, hash = :h WHERE id = :id"),
            {"d": json.dumps({"n": 99}), "h": audit.event_hash(forged), "id": target.id},
        )
    report = audit.verify_chain(issuer.id)
    assert report.broken is not None and report.broken.event_id == after.id
    assert "does not follow" in report.broken.reason


def test_a_deleted_row_is_named_by_the_event_after_it(
    issuer: Issuer, chain: list[AuditEvent]
) -> None:
    with triggers_off():
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": chain[-4].id})
    report = audit.verify_chain(issuer.id)
    assert report.broken is not None and report.broken.event_id == chain[-3].id
    assert "1 event(s) before it are missing: deleted" in report.broken.reason


def test_events_deleted_from_the_end_are_noticed(issuer: Issuer, chain: list[AuditEvent]) -> None:
    with triggers_off():
        db.session.execute(
            text("DELETE FROM audit_event WHERE id IN (:a, :b)"),
            {"a": chain[-1].id, "b": chain[-2].id},
        )
    report = audit.verify_chain(issuer.id)
    assert report.broken is not None and report.broken.event_id == chain[-3].id
    assert "the last 2 event(s) after it are missing" in report.broken.reason


def test_a_row_inserted_past_cairn_is_named(issuer: Issuer, chain: list[AuditEvent]) -> None:
    # INSERT is allowed by the triggers (the log is append-only), but not into the chain.
    db.session.execute(
        text(
            "INSERT INTO audit_event (issuer_id, actor, action, detail, created_at) "
            "VALUES (:issuer, 'intruder', 'credential.issue', '{}', :when)"
        ),
        {"issuer": issuer.id, "when": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
    )
    db.session.commit()
    intruder = db.session.scalar(db.select(AuditEvent).where(AuditEvent.actor == "intruder"))
    assert intruder is not None
    report = audit.verify_chain(issuer.id)
    assert report.broken is not None and report.broken.event_id == intruder.id
    assert "not in the chain" in report.broken.reason


def test_cli_verify_exits_0_with_counts_and_1_naming_the_first_broken_link(
    app: Flask,
    issuer: Issuer,
    chain: list[AuditEvent],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.cli.operations as operations

    @contextmanager
    def this_instance() -> Iterator[Flask]:
        yield app

    monkeypatch.setattr(operations, "instance", this_instance)
    monkeypatch.setattr("app.cli.audit.instance", this_instance)
    record(None, "test.instance", 2)

    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"first: {len(chain)} events, chain intact" in out
    assert "instance: 2 events, chain intact" in out

    with triggers_off():
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": chain[1].id})
        db.session.execute(
            text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": chain[3].id}
        )
    assert main(["audit", "verify", "--issuer", "first"]) == 1
    out = capsys.readouterr().out
    assert out.strip() == (
        f"first: chain BROKEN at event {chain[2].id} ({chain[2].created_at.isoformat()}): "
        "1 event(s) before it are missing: deleted"
    )
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "instance: 2 events, chain intact" in out and "first: chain BROKEN" in out

    assert main(["audit", "verify", "--issuer", "nobody"]) == 2
    assert "no organisation 'nobody'" in capsys.readouterr().err


def unsafe(cell: str) -> str:
    """Undo the export's formula guard (a leading apostrophe before a formula character)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def verify_export(text_: str, issuer_id: int) -> int:
    """Check an organisation's chain from its CSV export alone, as an auditor would."""
    rows = list(csv.DictReader(io.StringIO(text_)))
    ours = sorted(
        (r for r in rows if r["issuer_id"] == str(issuer_id)), key=lambda r: int(r["chain_seq"])
    )
    previous = GENESIS
    for number, row in enumerate(ours, start=1):
        assert int(row["chain_seq"]) == number and row["prev_hash"] == previous
        payload = [
            "cairn-audit-1", int(row["issuer_id"]), number, row["time"],
            int(row["actor_id"]) if row["actor_id"] else None, unsafe(row["actor"]),
            row["action"], row["subject_type"] or None, row["subject_id"] or None,
            row["ip_address"] or None, json.loads(row["detail"]), row["prev_hash"],
        ]  # fmt: skip
        serialised = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha256(serialised.encode()).hexdigest() == row["hash"], row
        previous = row["hash"]
    return len(ours)


def test_the_csv_export_carries_the_chain_and_verifies_on_its_own(
    issuer: Issuer, chain: list[AuditEvent]
) -> None:
    audit.record("test.note", actor=Actor(label="=HYPERLINK(1)"), now=service_env().now,
                 issuer_id=issuer.id)  # fmt: skip
    db.session.commit()
    exported = "".join(audit.export_csv(issuer.id))
    header = next(csv.reader(io.StringIO(exported)))
    assert header[-5:] == ["issuer_id", "actor_id", "chain_seq", "prev_hash", "hash"]
    assert verify_export(exported, issuer.id) == len(chain) + 1


@pytest.mark.parametrize("threads", [2])
def test_concurrent_appends_keep_one_straight_chain(
    app: Flask, issuer: Issuer, threads: int
) -> None:
    per_thread = 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)
    issuer_id = issuer.id
    before = audit.verify_chain(issuer_id).events
    db.session.remove()

    def append(worker: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(per_thread):
                    audit.record(f"test.thread{worker}", actor=ACTOR, now=service_env().now,
                                 issuer_id=issuer_id, detail={"i": i})  # fmt: skip
                    audit.record("test.instance", actor=ACTOR, now=service_env().now)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    report = audit.verify_chain(issuer_id)
    assert report.intact and report.events == before + threads * per_thread
    instance = audit.verify_chain(None)
    assert instance.intact and instance.events >= threads * per_thread


def test_a_rolled_back_transaction_leaves_no_gap(issuer: Issuer) -> None:
    before = audit.verify_chain(issuer.id).events
    for _ in range(3):  # several events of one chain in one transaction
        audit.record("test.undone", actor=ACTOR, now=service_env().now, issuer_id=issuer.id)
    db.session.rollback()
    record(issuer.id, "test.kept", 2)
    report = audit.verify_chain(issuer.id)
    assert report.intact and report.events == before + 2
    assert "test.undone" not in audit.actions(issuer.id)
