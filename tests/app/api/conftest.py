"""Fixtures of the API's cache tests: a second application (another server process) on the
same database and Redis, an issuer with staff and tokens, and the statements a block runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask import Flask
from sqlalchemy import event

from app import create_app
from app.api import lookups
from app.extensions import db
from app.models import Achievement, Issuer, StaffAccount
from app.public import documents
from app.services.org import staff, tokens
from app.services.org.audit import Actor
from app.wiring import close_view_tally, service_env
from tests.app.conftest import BASE_URL, database_url


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def other(app: Flask, tmp_path: Path, server: fakeredis.FakeServer) -> Iterator[Flask]:
    """A second application (another server process) on the same database and Redis; the
    ``app`` fixture's is given the same Redis."""
    lookups.init_app(app, redis=fakeredis.FakeRedis(server=server))
    second = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url(tmp_path),
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            "JOBS_INLINE": True,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "KEY_KDF_FOR_TESTS": True,
            # The same instance: its keys are wrapped with the same passphrase.
            "SECRET_KEY": app.config["SECRET_KEY"],
            "KEY_PASSPHRASE": app.config["KEY_PASSPHRASE"],
        }
    )
    lookups.init_app(second, redis=fakeredis.FakeRedis(server=server))
    yield second
    with second.app_context():
        db.session.remove()
        close_view_tally(second)
        db.engine.dispose()
    documents.dispose(second)


@pytest.fixture
def setup(
    make_staff: Callable[..., StaffAccount], make_issuer: Callable[..., Issuer]
) -> tuple[Issuer, StaffAccount, StaffAccount, str]:
    """An issuer, its owner, an instance administrator, and an editor's token."""
    owner = make_staff()
    admin = make_staff("admin@district7.example.org", admin=True)
    editor = make_staff("editor@district7.example.org", name="Ed Editor")
    issuer = make_issuer(slug="district-7", owner=owner)
    staff.set_role(issuer, editor, "editor", actor=Actor(owner), env=service_env())
    secret = tokens.create(issuer, creator=editor, name="lms", scopes=["achievements:read"],
                           expires_at=None, actor=Actor(editor), env=service_env()).secret  # fmt: skip
    return issuer, owner, admin, secret


@pytest.fixture
def awarding(
    app: Flask, other: Flask, setup: Any, make_achievement: Callable[..., Achievement]
) -> tuple[Issuer, StaffAccount, str, Achievement]:
    """The issuer, its owner, an ``awards:write`` token and an achievement."""
    issuer, owner, _admin, _secret = setup
    writer = tokens.create(issuer, creator=owner, name="awards", scopes=["awards:write"],
                           expires_at=None, actor=Actor(owner), env=service_env()).secret  # fmt: skip
    return issuer, owner, writer, make_achievement(issuer, "Coaching")


@contextmanager
def statements(application: Flask) -> Iterator[list[str]]:
    """The SQL statements ``application``'s engine runs inside the block."""
    seen: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    with application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
