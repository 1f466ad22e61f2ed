"""The audit log: recorded with the change it records, read back per issuer, exported as CSV,
and never edited or removed."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import AuditEvent, StaffAccount
from app.services.org import audit
from app.services.org.audit import Actor, AppendOnlyViolation
from app.wiring import service_env

ACTOR = Actor(label="test")


@pytest.fixture
def issuers(make_issuer):
    return make_issuer("First"), make_issuer("Second")


def record(issuer_id: int, action: str, **kwargs: Any) -> AuditEvent:
    event = audit.record(action, actor=ACTOR, now=service_env().now, issuer_id=issuer_id, **kwargs)
    db.session.commit()
    return event


def test_events_are_per_issuer_newest_first_and_filterable(issuers) -> None:
    first, second = issuers
    base = [e.id for e in audit.events(first.id)]
    made = [
        record(first.id, "credential.issue", subject_type="credential", subject_id=f"c{i}")
        for i in range(4)
    ]
    record(
        first.id,
        "credential.revoke",
        subject_type="credential",
        subject_id="c1",
        detail={"reason": "x"},
    )
    record(second.id, "credential.issue", subject_type="credential", subject_id="c1")

    everything = audit.events(first.id)
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert len(everything) == len(base) + 5
    assert {e.issuer_id for e in everything} == {first.id}
    assert [e.subject_id for e in audit.events(first.id, action="credential.issue")] == [
        "c3",
        "c2",
        "c1",
        "c0",
    ]
    page = audit.events(first.id, action="credential.issue", limit=2, before_id=made[2].id)
    assert [e.subject_id for e in page] == ["c1", "c0"]
    about_c1 = audit.events(first.id, subject_type="credential", subject_id="c1")
    assert [e.action for e in about_c1] == ["credential.revoke", "credential.issue"]
    assert audit.events(first.id, action="") == everything  # blank means every action
    assert "credential.revoke" in audit.actions(first.id)
    assert audit.actions(first.id) == sorted(set(audit.actions(first.id)))
    assert "credential.revoke" not in audit.actions(second.id)


def test_the_actor_and_address_are_kept(issuers, make_staff) -> None:
    first, _ = issuers
    account: StaffAccount = make_staff("pat@district7.example.org", name="Pat")
    audit.record("credential.resend", actor=Actor(account, ip="192.0.2.7"), now=service_env().now,
                 issuer_id=first.id)  # fmt: skip
    db.session.commit()
    (event,) = audit.events(first.id, action="credential.resend")
    assert (event.actor, event.actor_id, event.ip_address) == (
        "pat@district7.example.org",
        account.id,
        "192.0.2.7",
    )
    assert (audit.SYSTEM.label, audit.SYSTEM.staff_id) == ("system", None)


def test_export_is_the_whole_log_oldest_first_in_batches(issuers) -> None:
    first, second = issuers
    now = service_env().now
    for i in range(1005):
        audit.record("test.bulk", actor=ACTOR, now=now + timedelta(seconds=i), issuer_id=first.id,
                     detail={"n": i, "text": "comma, \"quote\"\nline"})  # fmt: skip
    audit.record("test.other", actor=ACTOR, now=now, issuer_id=second.id)
    db.session.commit()
    chunks = list(audit.export_csv(first.id))
    assert len(chunks) == 2  # 1,000 events per batch
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert tuple(rows[0]) == audit.CSV_COLUMNS
    body = rows[1:]
    assert len(body) == len(audit.events(first.id))
    assert [int(r[0]) for r in body] == sorted(int(r[0]) for r in body)
    ours = [r for r in body if r[3] == "test.bulk"]
    assert [json.loads(r[7])["n"] for r in ours] == list(range(1005))
    assert json.loads(ours[0][7])["text"] == 'comma, "quote"\nline'
    assert ours[0][1] == now.isoformat() and ours[0][2] == "test"
    assert "test.other" not in {r[3] for r in body}


def test_events_cannot_be_changed_or_removed(issuers) -> None:
    first, _ = issuers
    event = record(first.id, "credential.issue")
    event.action = "credential.nothing"
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    # Past the ORM, the database's own triggers refuse.
    for statement in (
        update(AuditEvent).where(AuditEvent.id == event.id).values(action="x"),
        delete(AuditEvent).where(AuditEvent.id == event.id),
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("TRUNCATE audit_event CASCADE"))
        db.session.rollback()
    stored = db.session.get(AuditEvent, event.id)
    assert stored is not None and stored.action == "credential.issue"


def test_members_sign_ins_show_in_their_issuers_log_only(make_staff, make_issuer) -> None:
    from app.services.org import audit as audit_service
    from app.services.org import staff as staff_service
    from app.wiring import service_env

    member = make_staff("member@a.example.org", name="Member")
    outsider = make_staff("outsider@b.example.org", name="Outsider")
    mine = make_issuer("Mine", owner=member)
    make_issuer("Theirs", owner=outsider)
    env = service_env()
    assert staff_service.authenticate(
        "member@a.example.org", "correct horse battery staple", ip="192.0.2.1", env=env
    )
    assert not staff_service.authenticate(
        "outsider@b.example.org", "wrong password!!", ip="192.0.2.2", env=env
    )
    log = audit_service.events(mine.id)
    sign_ins = [e for e in log if e.action.startswith("staff.sign_in")]
    assert [(e.action, e.actor) for e in sign_ins] == [("staff.sign_in", "member@a.example.org")]
    exported = "".join(audit_service.export_csv(mine.id))
    assert "member@a.example.org" in exported and "outsider@b.example.org" not in exported
    assert "staff.sign_in" in audit_service.actions(mine.id)


def test_exports_keep_formulas_as_text(make_issuer) -> None:
    from app.services.org import audit as audit_service
    from app.services.org.audit import Actor
    from app.wiring import service_env

    issuer = make_issuer()
    audit_service.record("test.note", actor=Actor(label="=HYPERLINK(\"https://evil.example\")"), now=service_env().now,
                         issuer_id=issuer.id)  # fmt: skip
    db.session.commit()
    exported = "".join(audit_service.export_csv(issuer.id))
    assert "'=HYPERLINK" in exported
