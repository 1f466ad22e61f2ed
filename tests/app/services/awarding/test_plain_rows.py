"""A chunk stored with Core inserts (``plain_rows.insert_new``) stores, row for row, what the
ORM's unit of work stores: manage and claim links, award emails (text and HTML), audit events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, IssuedCredential, MagicLink, ManageLink
from app.services._core import plain_rows
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput
from app.services.org.audit import Actor
from app.wiring import service_env

RUN = re.compile(r"run[01]-")
MARKER = re.compile(r"\[secret link [0-9a-f]{32}\]")
#: Columns whose values are random (tokens, ids, hashes): compared only for being set or not.
RANDOM = {"id", "token_hash", "secret", "hash", "prev_hash", "credential_id", "subject_id"}
#: The audit chain's order follows the credentials' (random) ids.
RANDOM |= {"chain_seq"}


def _awards(prefix: str) -> list[AwardInput]:
    later = datetime.now(UTC) + timedelta(days=400)
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

    def plain(obj: object, table: str, recipient: str) -> tuple[Any, ...]:
        values = {}
        for column in obj.__table__.columns:  # type: ignore[attr-defined]
            value = getattr(obj, column.key)
            if column.key in RANDOM:
                value = value is not None
            elif column.key == "issuer_id":
                value = value == issuer_id
            elif isinstance(value, str):
                value = RUN.sub("run-", base.sub("ID", MARKER.sub("[M]", value)))
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


def test_fast_store_equals_the_orm_store(
    make_issuer: Any, make_achievement: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = {}
    for fast in (True, False):
        issuer = make_issuer("Same Name District", slug=f"district-{int(fast)}")
        achievement = make_achievement(issuer, "Same Achievement")
        with monkeypatch.context() as patch:
            if not fast:  # every row through the ORM's flush, as before
                patch.setattr(plain_rows, "insert_new", lambda classes: None)
            outcomes = issuing.issue_many(
                issuer,
                achievement,
                _awards(f"run{int(fast)}-"),
                actor=Actor(label="test"),
                env=service_env(),
            )
        assert all(o.credential is not None for o in outcomes)
        stored[fast] = _rows(issuer.id)
    assert len(stored[True]) == 15
    assert stored[True].keys() == stored[False].keys()
    for recipient, rows in stored[True].items():
        for fast_row, orm_row in zip(rows, stored[False][recipient], strict=True):
            assert fast_row[0] == orm_row[0], recipient
            for (column, value), (_, expected) in zip(fast_row[1], orm_row[1], strict=True):
                assert (recipient, fast_row[0], column, value) == (
                    recipient, fast_row[0], column, expected
                )  # fmt: skip
    # Each recipient: a manage link, an email, an audit event, and a claim link unless claimed.
    assert sorted(len(v) for v in stored[True].values()) == [3] * 4 + [4] * 11
