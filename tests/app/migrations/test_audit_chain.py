"""Migration 0008 links the audit events recorded before it into hash chains (in the order they
were recorded, one chain per organisation and one for the instance), keeps the append-only
triggers, and the chains it builds verify with the application's own verifier."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from app import MIGRATIONS, create_app
from app.extensions import db
from app.services.org import audit
from tests.app.guarantee_instance import (
    BASE_URL,
    fresh_postgres_database,
    postgres_url,
    preserved_logging,
)

BEFORE_CHAIN = "0004"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0004(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip("set CAIRN_TEST_DATABASE_URL to a PostgreSQL URL to test migrations there")

    def make(url: str) -> Iterator[Flask]:
        application = create_app(
            {
                "ENV": "testing",
                "DATABASE_URL": url,
                "KEYS_DIR": str(tmp_path / "keys"),
                "BASE_URL": BASE_URL,
                # Jobs (mail after an award) run in the test's thread: one in a pool thread could
                # still hold a connection when the engine is disposed and the database dropped.
                "JOBS_INLINE": True,
            }
        )
        with application.app_context():
            with preserved_logging():
                flask_migrate.upgrade(directory=MIGRATIONS, revision=BEFORE_CHAIN)
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()

    if request.param == "postgresql":
        with fresh_postgres_database("cairn_migrations") as url:
            yield from make(url)
    else:
        yield from make(f"sqlite:///{tmp_path / 'old.sqlite3'}")


def test_existing_events_are_linked_in_order_and_verify(at_0004: Flask) -> None:
    t0 = datetime(2026, 1, 1, 9, 30, 15, 250000, tzinfo=UTC).replace(tzinfo=None)
    with db.engine.begin() as connection:
        for issuer_id, slug in ((1, "first"), (2, "second")):
            connection.execute(
                text("INSERT INTO issuer (id, slug, name, proof_format, created_at) "
                     "VALUES (:id, :slug, :slug, 'di', :t)"),
                {"id": issuer_id, "slug": slug, "t": t0},
            )  # fmt: skip
        for i, issuer_id in enumerate([1, None, 2, 1, None, 1, 2]):
            connection.execute(
                text("INSERT INTO audit_event (issuer_id, actor, action, subject_type, "
                     "subject_id, detail, ip_address, created_at) VALUES (:issuer, 'old', "
                     ":action, 'credential', :sid, :detail, '198.51.100.7', :t)"),
                {"issuer": issuer_id, "action": f"old.{i}", "sid": str(i),
                 "detail": '{"z": 1, "a": "caf\\u00e9"}', "t": t0 + timedelta(minutes=i)},
            )  # fmt: skip
    assert "audit_chain_head" not in inspect(db.engine).get_table_names()

    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS)

    reports = {audit.chain_label(c): audit.verify_chain(c) for c in audit.chains()}
    assert {label: (r.intact, r.events) for label, r in reports.items()} == {
        "instance": (True, 2), "first": (True, 3), "second": (True, 2)
    }  # fmt: skip
    with db.engine.connect() as connection:
        order = connection.execute(
            text("SELECT action FROM audit_event WHERE issuer_id = 1 ORDER BY chain_seq")
        ).scalars().all()  # fmt: skip
    assert order == ["old.0", "old.3", "old.5"]

    # New events continue the chains the migration built.
    audit.record("new.event", actor=audit.SYSTEM, now=datetime.now(UTC), issuer_id=1)
    db.session.commit()
    assert audit.verify_chain(1).intact and audit.verify_chain(1).events == 4

    # The append-only triggers are still there.
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))

    # And back down: the chain columns go, the triggers stay.
    db.session.remove()  # PostgreSQL's ALTER TABLE would wait for our open transaction
    with preserved_logging():
        flask_migrate.downgrade(directory=MIGRATIONS, revision=BEFORE_CHAIN)
    columns = {c["name"] for c in inspect(db.engine).get_columns("audit_event")}
    assert "hash" not in columns and "chain_seq" not in columns
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event"))
