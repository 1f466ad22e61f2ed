"""Migrations: one head; `upgrade head` builds, on an empty SQLite and an empty PostgreSQL database, exactly the schema the models describe; downgrade and upgrade again round-trip; the audit log refuses UPDATE and DELETE in the database itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from app import MIGRATIONS, create_app
from app.extensions import db
from tests.app.guarantee_instance import (
    BASE_URL,
    fresh_postgres_database,
    postgres_url,
    preserved_logging,
)


def script_directory() -> ScriptDirectory:
    config = Config(str(Path(MIGRATIONS) / "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config)


def test_there_is_exactly_one_head_and_a_straight_history() -> None:
    script = script_directory()
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"
    revisions = list(script.walk_revisions())
    assert [r.down_revision for r in revisions].count(None) == 1  # one base
    assert all(not isinstance(r.down_revision, tuple | list) for r in revisions)  # no merges
    assert revisions[0].revision == heads[0]


@pytest.fixture
def migrated(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """An app on an empty database of the kind the test is parametrised with, upgraded to head."""
    kind = request.param
    if kind == "postgresql" and postgres_url() is None:
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
            assert inspect(db.engine).get_table_names() == []  # really empty
            with preserved_logging():
                flask_migrate.upgrade(directory=MIGRATIONS)
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()

    if kind == "postgresql":
        with fresh_postgres_database("cairn_migrations") as url:
            yield from make(url)
    else:
        yield from make(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


BOTH = pytest.mark.parametrize(
    "migrated",
    [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
def test_upgrade_head_matches_the_models(migrated: Flask) -> None:
    with db.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert version == script_directory().get_current_head()
    assert differences == [], "the models and the migrations disagree; write a migration"
    assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {
        "alembic_version"
    }
    # The comparison does see a difference when there is one.
    with db.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_audit_event_action"))
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert [(d[0], d[1].name) for d in differences] == [("add_index", "ix_audit_event_action")]


@BOTH
def test_downgrade_to_base_and_upgrade_again(migrated: Flask) -> None:
    with preserved_logging():
        flask_migrate.downgrade(directory=MIGRATIONS, revision="base")
    assert inspect(db.engine).get_table_names() == ["alembic_version"]
    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS)
    assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {
        "alembic_version"
    }


@BOTH
def test_audit_events_refuse_update_and_delete_in_the_database(migrated: Flask) -> None:
    """Raw SQL, past the ORM's own guard: the migration's triggers refuse."""
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (actor, action, detail, created_at) "
                "VALUES ('test', 'credential.issue', '{}', :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    statements = ["UPDATE audit_event SET action = 'credential.edited'", "DELETE FROM audit_event"]
    if db.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT actor, action FROM audit_event")).all()
    assert [tuple(r) for r in rows] == [("test", "credential.issue")]


@pytest.fixture
def at_0004(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty SQLite database upgraded only to 0004 (before the SVG rewrite)."""
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            # Jobs (mail after an award) run in the test's thread: one in a pool thread could
            # still hold a connection when the engine is disposed and the database dropped.
            "JOBS_INLINE": True,
        }
    )
    with application.app_context():
        with preserved_logging():
            flask_migrate.upgrade(directory=MIGRATIONS, revision="0004")
        try:
            yield application
        finally:
            db.session.remove()
            db.engine.dispose()


def test_svgs_stored_before_the_allow_list_are_rewritten(at_0004: Flask) -> None:
    """0009: an SVG the old blocklist accepted (a link set by an animation) loses its script
    but keeps its drawing and its public address; PNGs are left alone."""
    animated_link = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<a><animate attributeName="href" values="javascript:alert(1)"/>'
        b'<rect width="100" height="100" fill="#2f6f6a"/></a></svg>'
    )
    unreadable = b"<svg><rect/></svg>"  # no SVG namespace: cannot be sanitised
    png = b"\x89PNG\r\n\x1a\n" + b"javascript:alert(1)"  # never touched, whatever it holds
    rows = [("a" * 64, "image/svg+xml", animated_link), ("b" * 64, "image/svg+xml", unreadable)]
    rows.append(("c" * 64, "image/png", png))
    with db.engine.begin() as connection:
        for sha, media_type, data in rows:
            connection.execute(
                text(
                    "INSERT INTO image (sha256, media_type, data, width, height, created_at) "
                    "VALUES (:sha, :media_type, :data, 100, 100, :now)"
                ),
                {"sha": sha, "media_type": media_type, "data": data, "now": datetime.now(UTC)},
            )
    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS)
    with db.engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT sha256, data FROM image")).all())
    assert stored["a" * 64] == (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<a><rect width="100" height="100" fill="#2f6f6a"/></a></svg>'
    )
    assert stored["b" * 64] == b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>'
    assert stored["c" * 64] == png
    served = at_0004.test_client().get(f"/images/{'a' * 64}.svg", base_url=BASE_URL)
    assert served.status_code == 200 and b"javascript" not in served.data
