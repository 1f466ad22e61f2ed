"""Fixtures for application tests (the only place Flask fixtures live).

* ``app``: a fresh application per test, on a fresh SQLite file, or on PostgreSQL when
  ``CAIRN_TEST_DATABASE_URL`` is set (its tables are recreated for every test). Jobs run inline,
  the base URL is ``https://badges.example.org``, keys live encrypted in a temporary directory.
* ``client``: a test client; ``web``: a small browser-like helper that signs in and submits
  forms with their CSRF token, as a real browser would. ``sign_in_directly`` signs a client
  in without the sign-in form (with a real server-side session, as the form would).
* Builders: ``make_staff``, ``make_issuer``, ``make_achievement``, ``make_award``.
* ``local_fetch``: a fetcher that answers ``https://badges.example.org/...`` from the app, so
  ``credentials.verify`` can resolve the issuer's DID and status lists in tests.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.pool import Pool

from app import create_app
from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer, StaffAccount
from app.public import documents
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput
from app.services.org import account_sessions, achievements, issuers, staff
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import close_view_tally, service_env, utcnow
from tests.app.webhook_receiver import Receiver, start_receiver

BASE_URL = "https://badges.example.org"
PASSWORD = "correct horse battery staple"


def database_url(tmp_path: Path) -> str:
    """PostgreSQL when the suite is asked to use it, else a SQLite file of this test's own."""
    return os.environ.get("CAIRN_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'cairn.sqlite3'}"


@pytest.fixture(scope="session", autouse=True)
def postgres_database() -> None:
    """Create the PostgreSQL test database on first use (a new CI machine has none)."""
    url = os.environ.get("CAIRN_TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()


#: The PostgreSQL connections opened during the running test (see ``connections_closed``).
_opened: weakref.WeakSet[Any] = weakref.WeakSet()


@event.listens_for(Pool, "connect")
def _remember_connection(dbapi_connection: Any, record: Any) -> None:
    if hasattr(dbapi_connection, "info") and hasattr(dbapi_connection.info, "dbname"):
        _opened.add(dbapi_connection)


@pytest.fixture(autouse=True)
def connections_closed() -> Iterator[None]:
    """Fail the test that leaves a connection to the test database open after its app is done
    with (a session or connection never closed, a pool never disposed). Left to the garbage
    collector, such a connection warns (``ResourceWarning``, an error here) in whichever later
    test happens to collect it, which names the wrong test and fails at random."""
    _opened.clear()
    yield
    url = os.environ.get("CAIRN_TEST_DATABASE_URL") or ""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy.engine import make_url

    # Module-scoped fixtures keep instances on databases of their own; only this one is per test.
    test_database = make_url(url).database
    left = [c for c in list(_opened) if not c.closed and c.info.dbname == test_database]
    for connection in left:
        connection.close()
    _opened.clear()
    assert not left, f"the test left {len(left)} connection(s) to {test_database} open"


def reset_schema() -> None:
    """Start from empty tables (PostgreSQL keeps its database between tests)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.create_all()


def rate_limited_app(tmp_path: Path, **settings: Any) -> Iterator[Flask]:
    """An application like the ``app`` fixture's but with rate limits on (that one turns them
    off), plus ``settings`` (a limit to test, lowered); for a fixture to ``yield from``."""
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url(tmp_path),
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            "JOBS_INLINE": True,
            "RATELIMIT_ENABLED": True,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "KEY_KDF_FOR_TESTS": True,
            **settings,
        }
    )
    with application.app_context():
        # The counters live in the database (shared by every worker), so it needs its tables.
        reset_schema()
        try:
            yield application
        finally:
            # Also when the caller closes the generator early (``GeneratorExit`` at the yield).
            db.session.remove()
            # Its page views are written now, not into the next test's tables.
            close_view_tally(application)
            db.engine.dispose()
            documents.dispose(application)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url(tmp_path),
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            "JOBS_INLINE": True,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            # Hundreds of throwaway key stores: the cheapest Argon2id (tests/keys use the real one).
            "KEY_KDF_FOR_TESTS": True,
        }
    )

    @application.teardown_request
    def _fresh_globals(error: BaseException | None) -> None:
        # The test keeps an application context open (for service calls), and Flask reuses it
        # for every request; a browser's requests would each start with an empty ``g``.
        g.__dict__.clear()

    with application.app_context():
        reset_schema()
        yield application
        db.session.remove()
        # Its page views are written now, not into the next test's tables.
        close_view_tally(application)
        db.engine.dispose()
        documents.dispose(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    test_client = app.test_client()
    # Browsers send a Referer with form posts; over https Flask-WTF insists on a same-origin one.
    test_client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    return test_client


def sign_in_directly(client: FlaskClient, kind: str, account_id: int) -> None:
    """Sign ``client`` in as a staff account or educator (``kind``) without the sign-in form,
    for tests about something else: a live server-side session, and the cookie naming it."""
    started = account_sessions.start(
        kind, account_id, user_agent="pytest", now=utcnow(), lifetime=timedelta(hours=12)
    )
    with client.session_transaction(base_url=BASE_URL) as session:
        session[f"{kind}_id"] = account_id
        session[f"{kind}_session"] = started.token
        session.permanent = True


class Web:
    """A browser-like client: GET a page, then POST its form back with the page's CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, base_url=BASE_URL, **kwargs)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = re.search(
            r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.get_data(as_text=True)
        )
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def submit(
        self,
        form_page: str,
        action: str | None = None,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST ``data`` (plus the CSRF token of ``form_page``) to ``action`` (default: the page)."""
        payload = {"csrf_token": self.csrf_token(form_page), **(data or {})}
        return self.client.post(action or form_page, data=payload, base_url=BASE_URL, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        response = self.submit("/login", data={"email": email, "password": password})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        return response


@pytest.fixture
def web(client: FlaskClient) -> Web:
    return Web(client)


@pytest.fixture
def make_staff(app: Flask) -> Callable[..., StaffAccount]:
    def make(
        email: str = "owner@district7.example.org", *, name: str = "Pat Owner", admin: bool = False
    ) -> StaffAccount:
        return staff.create_account(email=email, name=name, password=PASSWORD, is_admin=admin,
                                    actor=Actor(label="test"), env=service_env())  # fmt: skip

    return make


@pytest.fixture
def make_issuer(app: Flask) -> Callable[..., Issuer]:
    def make(name: str = "District 7 Professional Learning", *, slug: str | None = None,
             owner: StaffAccount | None = None, proof_format: str = "di") -> Issuer:  # fmt: skip
        return issuers.create_issuer(
            IssuerProfileInput(name=name, url="https://district7.example.org", email="pd@district7.example.org",
                               proof_format=proof_format),
            slug=slug, owner=owner, actor=Actor(label="test"), env=service_env(),
        )  # fmt: skip

    return make


@pytest.fixture
def make_achievement(app: Flask) -> Callable[..., Achievement]:
    def make(
        issuer: Issuer, name: str = "Formative Assessment in Practice", **fields: Any
    ) -> Achievement:
        data = AchievementInput(
            name=name,
            description=fields.pop("description", "Completed the formative assessment module."),
            criteria_markdown=fields.pop(
                "criteria_markdown", "Complete every activity and a **reflection**."
            ),
            **fields,
        )
        return achievements.create_achievement(
            issuer, data, actor=Actor(label="test"), env=service_env()
        )

    return make


@pytest.fixture
def make_award(app: Flask) -> Callable[..., IssuedCredential]:
    def make(
        issuer: Issuer,
        achievement: Achievement,
        email: str = "teacher@school.example.org",
        **fields: Any,
    ) -> IssuedCredential:
        return issuing.award(issuer, achievement, AwardInput(email=email, **fields), actor=Actor(label="test"),
                             env=service_env())  # fmt: skip

    return make


@pytest.fixture
def local_fetch(client: FlaskClient) -> Callable[[str], bytes]:
    """Answer the app's own URLs from the app itself; refuse everything else."""

    def fetch(url: str) -> bytes:
        if not url.startswith(BASE_URL + "/"):
            raise OSError(f"not a local URL: {url}")
        response = client.get(url[len(BASE_URL) :], base_url=BASE_URL)
        if response.status_code != 200:
            raise OSError(f"{url} answered {response.status_code}")
        return response.data

    return fetch


@pytest.fixture
def make_token(app: Flask) -> Callable[..., str]:
    """An API token (its secret) for an issuer, made by ``creator`` with ``scopes``."""
    from app.models import API_SCOPES
    from app.services.org import tokens

    def make(issuer: Issuer, creator: StaffAccount, scopes: Any = API_SCOPES, **kwargs: Any) -> str:
        made = tokens.create(issuer, creator=creator, name=kwargs.pop("name", "Test token"),
                             scopes=tuple(scopes), expires_at=kwargs.pop("expires_at", None),
                             actor=Actor(creator), env=service_env())  # fmt: skip
        return made.secret

    return make


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A local webhook receiver (``tests/app/webhook_receiver.py``) the application may deliver
    to: its host is on the ``WEBHOOK_ALLOWED_HOSTS`` allow-list."""
    found, server = start_receiver()
    app.config["WEBHOOK_ALLOWED_HOSTS"] = found.host
    yield found
    server.shutdown()
    server.server_close()
