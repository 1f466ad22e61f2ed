"""A chunk stored with plain rows and Core inserts (``plain_rows``) stores, row for row, what the
ORM's unit of work stores: the credentials, their manage and claim links, award emails (text and
HTML), webhook deliveries and audit events (their chain included)."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AuditEvent,
    EmailMessage,
    IssuedCredential,
    Issuer,
    MagicLink,
    ManageLink,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services._core import jobs, plain_rows
from app.services.awarding import issuing, status_lists
from app.services.awarding.issuing import AwardInput
from app.services.org import achievements, audit
from app.services.org.audit import Actor
from app.wiring import service_env

RUN = re.compile(r"run[01]-")
MARKER = re.compile(r"\[secret link [0-9a-f]{32}\]")
#: Columns whose values are random (tokens, ids, hashes): compared only for being set or not.
RANDOM = {"id", "token_hash", "secret", "hash", "prev_hash", "credential_id", "subject_id"}
#: The audit chain's order follows the credentials' (random) ids.
RANDOM |= {"chain_seq"}
#: Random in a credential: its status index, a delivery's id.
RANDOM |= {"status_index", "public_id", "endpoint_id"}
#: Values in signed documents and webhook payloads that differ from run to run.
MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
SIGNED = re.compile(r'"(proofValue|identityHash|salt|statusListIndex)":\s*"[^"]*"')
STATUS_ENTRY = re.compile(r"(/revocation#|#key-)[0-9a-f]+")


#: The expiry some awards give themselves (the same in every run).
LATER = datetime.now(UTC) + timedelta(days=400)


def _awards(prefix: str) -> list[AwardInput]:
    later = LATER
    names = [None, "Ada Lovelace", 'Bob <b> & "Co"', "Zoë O'Neil", "", "\u202eRTL"]
    return [
        AwardInput(
            email=f"{prefix}{i}@example.org",
            name=names[i % len(names)],
            show_name=i % 3 != 0,
            claimed=i % 4 == 1,
            valid_until=later if i % 5 == 2 else None,
            no_expiry=i % 5 == 3,
            narrative="Did <this> & that" if i % 2 else None,
        )
        for i in range(15)
    ]


def _rows(issuer_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """The issuer's stored rows, by recipient, with random values reduced to set/unset."""
    credentials = db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.issuer_id == issuer_id)
    ).all()
    email_of = {c.id: c.recipient_email for c in credentials}
    base = re.compile("|".join(re.escape(c.id) for c in credentials))

    issued_at = {c.recipient_email: c.issued_at for c in credentials}
    achievement_ids = set(
        db.session.scalars(select(Achievement.id).where(Achievement.issuer_id == issuer_id))
    )
    # The issuer's and achievement's public names differ between the runs' issuers.
    names = [db.session.get(Issuer, issuer_id).slug]  # type: ignore[union-attr]
    names += db.session.scalars(
        select(Achievement.public_id).where(Achievement.issuer_id == issuer_id)
    )
    own_names = re.compile("|".join(re.escape(name) for name in names))
    own = {
        "achievement_id": achievement_ids,
        "achievement_version_id": set(
            db.session.scalars(
                select(AchievementVersion.id).where(
                    AchievementVersion.achievement_id.in_(achievement_ids)
                )
            )
        ),
    }

    def plain(obj: object, table: str, recipient: str) -> tuple[Any, ...]:
        values = {}
        for column in obj.__table__.columns:  # type: ignore[attr-defined]
            value = getattr(obj, column.key)
            if column.key in RANDOM:
                value = value is not None
            elif column.key == "issuer_id":
                value = value == issuer_id
            elif column.key in ("achievement_id", "achievement_version_id"):
                value = value in own[column.key]
            elif isinstance(value, str):
                value = RUN.sub("run-", base.sub("ID", MARKER.sub("[M]", value)))
                value = SIGNED.sub(r'"\1": "?"', MOMENT.sub("MOMENT", value))
                value = STATUS_ENTRY.sub(r"\1N", own_names.sub("OWN", value))
            elif isinstance(value, datetime) and value.replace(tzinfo=UTC) == LATER:
                value = "LATER"
            elif isinstance(value, datetime):  # the time of the call: from the credential's
                value = value.replace(tzinfo=UTC) - issued_at[recipient].replace(tzinfo=UTC)
            elif column.key == "detail":
                value = {
                    k: RUN.sub("run-", v) if isinstance(v, str) else v
                    for k, v in value.items()
                    if k not in ("status_index", "achievement")
                }
            values[column.key] = value
        return (table, tuple(sorted(values.items(), key=lambda kv: kv[0])))

    by_recipient: dict[str, list[tuple[Any, ...]]] = {}
    for credential in credentials:
        recipient = credential.recipient_email
        by_recipient.setdefault(recipient, []).append(plain(credential, "credential", recipient))
    for delivery in db.session.scalars(select(WebhookDelivery)):
        payload = json.loads(delivery.payload)
        recipient = email_of.get(payload["data"]["id"])
        if recipient is not None:
            by_recipient.setdefault(recipient, []).append(plain(delivery, "webhook", recipient))
    for link in db.session.scalars(
        select(ManageLink).where(ManageLink.credential_id.in_(email_of))
    ):
        by_recipient.setdefault(email_of[link.credential_id], []).append(
            plain(link, "manage", email_of[link.credential_id])
        )
    for message in db.session.scalars(
        select(EmailMessage).where(EmailMessage.credential_id.in_(email_of))
    ):
        by_recipient.setdefault(message.to_address, []).append(
            plain(message, "email", message.to_address)
        )
    for claim in db.session.scalars(
        select(MagicLink).where(
            MagicLink.email.in_(email_of.values()), MagicLink.purpose == "claim"
        )
    ):
        by_recipient.setdefault(claim.email, []).append(plain(claim, "claim", claim.email))
    for event in db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.issuer_id == issuer_id, AuditEvent.subject_id.in_(email_of)
        )
    ):
        recipient = email_of[event.subject_id or ""]
        by_recipient.setdefault(recipient, []).append(plain(event, "audit", recipient))
    # Keyed by the recipient's number (each run has its own addresses), the addresses made alike.
    return {k.split("-")[1]: sorted(v, key=lambda row: row[0]) for k, v in by_recipient.items()}


def _subscribe(issuer_id: int, patch: pytest.MonkeyPatch) -> None:
    """An endpoint taking ``credential.issued``, its deliveries left queued (not attempted)."""
    submit = jobs.submit

    def queued(env: Any, name: str, *args: Any) -> None:
        if name != jobs.DELIVER_WEBHOOKS:
            submit(env, name, *args)

    patch.setattr(jobs, "submit", queued)
    db.session.add(
        WebhookEndpoint(
            public_id=f"endpoint-{issuer_id}",
            issuer_id=issuer_id,
            url="https://lms.example.org/hook",
            event_types="credential.issued",
            secret="sealed",
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
    )
    db.session.commit()


def _store_one_by_one(issuer: Any, achievement: Any, awards: list[AwardInput]) -> None:
    """The single-award store (``issuing.store``): each credential an ORM object flushed by
    the unit of work, and every row beside it too."""
    env = service_env()
    issuance = issuing.Issuance(issuer, achievement, achievements.current_version(achievement), env)
    indexes = status_lists.allocate(issuer, len(awards), env)
    for award, index in zip(awards, indexes, strict=True):
        credential_id = str(uuid.uuid4())
        document, valid_until = issuance.sign(award, credential_id, index)
        issuing.store(
            issuance,
            award,
            credential_id=credential_id,
            index=index,
            document=document,
            valid_until=valid_until,
            actor=Actor(label="test"),
        )
    db.session.commit()


def test_a_credential_row_has_every_column() -> None:
    """The batch path writes every column itself (as the ORM's flush would): a column added to
    the model must be given its value there too."""
    columns = {column.key for column in IssuedCredential.__table__.columns}
    given = set(issuing._NEW_CREDENTIAL) | {
        "id", "issuer_id", "achievement_id", "achievement_version_id", "recipient_email",
        "recipient_name", "document", "proof_format", "issued_at", "valid_from", "valid_until",
        "status_index", "awarded_by_id", "bulk_job_id", "claimed_at", "credit", "credit_unit",
    }  # fmt: skip
    assert columns == given


def _all_orm(patch: pytest.MonkeyPatch) -> None:
    """Every row an ORM object flushed by the unit of work, as before ``plain_rows``."""
    patch.setattr(plain_rows, "collected", contextlib.nullcontext)
    patch.setattr(plain_rows, "insert_new", lambda classes: None)


def test_fast_store_equals_the_orm_store(
    make_issuer: Any, make_achievement: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = {}
    for fast in (True, False):
        issuer = make_issuer("Same Name District", slug=f"district-{int(fast)}")
        achievement = make_achievement(issuer, "Same Achievement")
        _subscribe(issuer.id, monkeypatch)
        if fast:
            outcomes = issuing.issue_many(
                issuer,
                achievement,
                _awards(f"run{int(fast)}-"),
                actor=Actor(label="test"),
                env=service_env(),
            )
            assert all(o.credential is not None for o in outcomes)
        else:
            _store_one_by_one(issuer, achievement, _awards(f"run{int(fast)}-"))
        stored[fast] = _rows(issuer.id)
    assert len(stored[True]) == 15
    assert stored[True].keys() == stored[False].keys()
    for recipient, rows in stored[True].items():
        for fast_row, orm_row in zip(rows, stored[False][recipient], strict=True):
            assert fast_row[0] == orm_row[0], recipient
            for (column, value), (_, expected) in zip(fast_row[1], orm_row[1], strict=True):
                assert (recipient, fast_row[0], column, value) == (
                    recipient,
                    fast_row[0],
                    column,
                    expected,
                )
    # Each recipient: the credential, a manage link, an email, a webhook delivery, an audit
    # event, and a claim link unless claimed.
    assert sorted(len(v) for v in stored[True].values()) == [5] * 4 + [6] * 11
    # Both chains hold, and a fast chunk's events follow the ORM's on the same chain.
    for issuer_id in {row.issuer_id for row in db.session.scalars(select(IssuedCredential))}:
        assert audit.verify_chain(issuer_id).intact


def test_plain_rows_follow_orm_rows_in_one_transaction(
    make_issuer: Any, make_achievement: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ORM chunk, then a plain one, then an ORM one of the same issuer: one unbroken audit
    chain, and the rows of each in their order."""
    issuer = make_issuer("One District", slug="one-district")
    achievement = make_achievement(issuer, "One Achievement")
    for run, fast in enumerate((False, True, False)):
        with monkeypatch.context() as patch:
            if not fast:
                _all_orm(patch)
            issuing.issue_many(
                issuer,
                achievement,
                _awards(f"chain{run}-")[:4],
                actor=Actor(label="test"),
                env=service_env(),
            )
    assert audit.verify_chain(issuer.id).intact
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.issuer_id == issuer.id).order_by(AuditEvent.id)
    ).all()
    assert [e.chain_seq for e in events] == sorted(e.chain_seq for e in events)


#: Text that JSON escapes (quotes, backslashes, control and non-BMP characters), as the one JSON
#: parameter of PostgreSQL's multi-row insert carries it.
AWKWARD = ["plain", "Zoë 😀 \u202eRTL", 'quote " and back\\slash', "line\nbreak\ttab\r", "",
           "\u2028\u2029", '{"not": "json"}', "%(rows)s :rows $1"]  # fmt: skip


def test_rows_sent_as_one_json_parameter_arrive_as_executemany_stores_them(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: several rows go as one ``json_to_recordset`` parameter; each value (text,
    date-times to the microsecond, a JSON column's document, a column left to its default)
    arrives as psycopg's executemany stored it."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the JSON rows are PostgreSQL's (CAIRN_TEST_DATABASE_URL)")
    from sqlalchemy import event, text

    moment = datetime(2026, 12, 6, 11, 4, 5, 123456, tzinfo=UTC)

    def rows(run: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        emails = [
            {"issuer_id": None, "kind": run, "to_address": f"{n}@example.org", "subject": value,
             "body_text": value, "body_html": None, "secret": None, "credential_id": None,
             "created_at": moment + timedelta(microseconds=n)}  # (attempts: its default, 0)
            for n, value in enumerate(AWKWARD)
        ]  # fmt: skip
        events = [
            {"issuer_id": None, "actor_id": None, "actor": value, "action": run,
             "subject_type": None, "subject_id": str(n), "ip_address": None,
             "detail": {"text": value, "n": n, "nested": [1.5, None, True, {"é": value}]},
             "created_at": moment, "chain_seq": 10_000 + n + (100 if run == "json" else 0),
             "prev_hash": "0" * 64, "hash": "f" * 64}
            for n, value in enumerate(AWKWARD)
        ]  # fmt: skip
        return emails, events

    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        for run in ("json", "many"):
            with monkeypatch.context() as patch:
                if run == "many":
                    patch.setattr(plain_rows, "_as_json", lambda *args: None)
                emails, events = rows(run)
                plain_rows.insert_rows(EmailMessage, emails)
                plain_rows.insert_rows(AuditEvent, events)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert sum("json_to_recordset" in statement for statement in sent) == 2

    def stored(run: str) -> list[tuple[Any, ...]]:
        return [
            tuple(row)
            for row in db.session.execute(
                text(
                    "SELECT e.to_address, e.subject, e.body_text, e.body_html, e.created_at, "
                    "e.attempts, e.sent_at, a.actor, a.subject_id, CAST(a.detail AS text), "
                    "a.created_at, a.chain_seq % 100 FROM email_message e JOIN audit_event a "
                    "ON a.action = e.kind AND a.subject_id || '@example.org' = e.to_address "
                    "WHERE e.kind = :run ORDER BY e.id"
                ),
                {"run": run},
            )
        ]

    assert stored("json") == stored("many")
    assert len(stored("json")) == len(AWKWARD)
    assert [row[1] for row in stored("json")] == AWKWARD
    assert {row[5] for row in stored("json")} == {0}


def _statements_of(run: Any) -> list[str]:
    """The SQL statements ``run()`` sends."""
    from sqlalchemy import event

    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def test_a_batch_writes_its_rows_in_two_statements_the_chain_locked_for_the_second(
    make_issuer: Any, make_achievement: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: beside the credentials' own INSERT, a batch writes what it collects in two
    statements: the manage and claim links, emails and webhook deliveries; then, after the
    audit chain's head is locked, the audit events with the head's new value (the lock is held
    for that statement and the commit only). SQLite: a statement each. Either way every row
    is stored and the chain, head included, verifies."""
    issuer = make_issuer("One Statement District", slug="one-statement")
    achievement = make_achievement(issuer, "One Statement Achievement")
    _subscribe(issuer.id, monkeypatch)
    outcomes: list[Any] = []
    sent = _statements_of(
        lambda: outcomes.extend(
            issuing.issue_many(
                issuer,
                achievement,
                _awards("one-")[:3],
                actor=Actor(label="test"),
                env=service_env(),
            )
        )
    )
    assert all(o.credential is not None for o in outcomes)
    allocation = ("SET", "INSERT INTO STATUS_ALLOCATION")
    sent = [s for s in sent if not s.lstrip().upper().startswith(allocation)]
    writes = [s for s in sent if not s.lstrip().upper().startswith("SELECT")]
    tables = ("manage_link", "magic_link", "email_message", "webhook_delivery")
    if db.engine.dialect.name == "postgresql":
        assert len(writes) == 3
        credentials, rows, events = writes
        assert credentials.startswith("INSERT INTO issued_credential")
        assert rows.startswith("WITH part_0") and all(table in rows for table in tables)
        assert "audit_event" not in rows and "audit_chain_head" not in rows
        assert events.startswith("WITH part_0") and "INSERT INTO audit_event" in events
        assert "UPDATE audit_chain_head" in events
        lock = next(n for n, s in enumerate(sent) if "audit_chain_head" in s and "FOR UPDATE" in s)
        assert sent.index(rows) < lock < sent.index(events)
    else:
        for table in (*tables, "audit_event"):
            assert any(s.startswith(f"INSERT INTO {table}") for s in writes), table
        assert any(s.startswith("UPDATE audit_chain_head") for s in writes)
    stored = _rows(issuer.id)
    # (The first of these recipients is claimed at once: no claim link.)
    assert sorted(len(rows) for rows in stored.values()) == [5, 6, 6]
    assert audit.verify_chain(issuer.id).intact


def test_collected_rows_json_cannot_carry_exactly_are_written_a_statement_each(
    make_issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When one collected table's rows would not arrive exactly through JSON (``_as_json`` says
    None: say a value of a type it does not know), every collected row and update is sent by
    its own statement, as before: nothing is lost or half-written."""
    issuer = make_issuer("Fallback District", slug="fallback-district")
    as_json = plain_rows._as_json

    def not_the_emails(table: Any, *args: Any, **options: Any) -> str | None:
        return None if table.name == "email_message" else as_json(table, *args, **options)

    monkeypatch.setattr(plain_rows, "_as_json", not_the_emails)
    moment = datetime(2026, 12, 6, 11, 4, 5, tzinfo=UTC)
    with plain_rows.collected():
        events = [
            audit.new_row(
                "test.fallback",
                actor=Actor(label="test"),
                now=moment,
                issuer_id=issuer.id,
                subject_id=n,
            )
            for n in range(2)
        ]
        audit.record_rows(events)
        plain_rows.add(
            EmailMessage,
            {
                "issuer_id": issuer.id,
                "kind": "test",
                "to_address": "a@example.org",
                "subject": "s",
                "body_text": "b",
                "created_at": moment,
            },
        )
        sent = _statements_of(plain_rows.write)
    db.session.commit()
    assert not any(s.startswith("WITH part_0") for s in sent)
    assert any(s.startswith("UPDATE audit_chain_head") for s in sent)
    assert db.session.scalar(select(EmailMessage.to_address).where(EmailMessage.kind == "test"))
    report = audit.verify_chain(issuer.id)
    assert report.intact and report.events >= 2
