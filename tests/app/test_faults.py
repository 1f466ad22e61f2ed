"""Faults: the database going away in the middle of an award, the mail server down, Redis down.

Each fault is real: the award's own database connection is closed under it (SQLite) or its
server process terminated (PostgreSQL, ``pg_terminate_backend``), mail goes to a port nothing
listens on, and Redis is a port nothing listens on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine

from app import create_app
from app.extensions import db
from app.infrastructure.jobs import InlineRunner, RqRunner
from app.models import AuditEvent, EmailMessage, IssuedCredential, RateLimitCounter
from app.services.mail import emails
from app.wiring import reconfigure_mail, service_env
from tests.app.conftest import BASE_URL, rate_limited_app, reset_schema, sign_in_directly
from tests.app.services.mail.test_emails import Server, smtp  # noqa: F401  (the fixture)

DEAD_REDIS_HOST = "127.0.0.1"


def closed_port() -> int:
    """A local port nothing listens on (taken from the OS, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def drop_connection_on_credential_insert(engine: Engine) -> Callable[[], None]:
    """Make the database go away whenever an award writes its credential (until the returned
    function is called): the connection the transaction runs on is closed (SQLite) or its
    server process killed (PostgreSQL). Every try fails, as while a server is down: an award
    batch that fails is tried again award by award (awarding/grouping.py), and that must not
    get through either."""

    def drop(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("INSERT INTO ISSUED_CREDENTIAL"):
            return
        raw = connection.connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            killer = create_engine(engine.url, isolation_level="AUTOCOMMIT")
            with killer.connect() as admin:
                # The timeout (PostgreSQL 14+) waits until the process has gone, so the
                # INSERT that follows always finds its server dead.
                admin.execute(
                    text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": raw.info.backend_pid}
                )
            killer.dispose()
        else:
            raw.close()

    event.listen(engine, "before_cursor_execute", drop)
    return lambda: event.remove(engine, "before_cursor_execute", drop)


@pytest.fixture
def awarding(
    app: Flask, make_staff: Any, make_issuer: Any, make_achievement: Any, make_token: Any
) -> dict[str, Any]:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer(owner=owner)
    achievement = make_achievement(issuer)
    # Plain values: the tests look again on fresh sessions, which detach the rows.
    return {"owner_id": owner.id, "slug": issuer.slug, "achievement_id": achievement.public_id,
            "token": make_token(issuer, owner)}  # fmt: skip


def api_award(client: FlaskClient, setup: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/issuers/{setup['slug']}/awards",
        json={"achievement": setup["achievement_id"],
              "recipient": {"email": "ada@school.example.org", "name": "Ada"}},
        headers={"Authorization": f"Bearer {setup['token']}"},
        base_url=BASE_URL,
    )  # fmt: skip


def nothing_issued(audit_before: int) -> None:
    db.session.remove()  # a fresh look, on a fresh connection
    assert count(IssuedCredential) == 0
    assert count(EmailMessage) == 0
    assert count(AuditEvent) == audit_before


def test_the_database_going_away_mid_award_gives_503_json_and_issues_nothing(
    app: Flask, client: FlaskClient, awarding: dict[str, Any]
) -> None:
    audit_before = count(AuditEvent)
    stop = drop_connection_on_credential_insert(db.engine)
    try:
        response = api_award(client, awarding)
    finally:
        stop()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "30"
    nothing_issued(audit_before)

    # The database is back: the same award goes through, once.
    again = api_award(client, awarding)
    assert again.status_code == 201, again.get_data(as_text=True)
    assert count(IssuedCredential) == 1


def test_the_database_going_away_mid_award_gives_a_503_page(
    app: Flask, client: FlaskClient, awarding: dict[str, Any]
) -> None:
    import re

    sign_in_directly(client, "staff", awarding["owner_id"])
    path = f"/workspace/{awarding['slug']}/achievements/{awarding['achievement_id']}/award"
    page = client.get(path, base_url=BASE_URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token
    audit_before = count(AuditEvent)
    stop = drop_connection_on_credential_insert(db.engine)
    try:
        response = client.post(
            path,
            data={"csrf_token": token.group(1), "email": "ada@school.example.org",
                  "name": "Ada", "expiry": "default"},
            base_url=BASE_URL,
        )  # fmt: skip
    finally:
        stop()
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Temporarily unavailable" in html and "cannot reach its database" in html
    nothing_issued(audit_before)


def test_a_database_that_does_not_answer_gives_503_not_500(tmp_path: Path) -> None:
    application = create_app(
        {"ENV": "testing", "DATABASE_URL": f"postgresql+psycopg://cairn@127.0.0.1:{closed_port()}/x",
         "KEYS_DIR": str(tmp_path / "keys"), "BASE_URL": BASE_URL, "JOBS_INLINE": True,
         "RATELIMIT_ENABLED": False, "KEY_KDF_FOR_TESTS": True}
    )  # fmt: skip
    client = application.test_client()
    page = client.get("/issuers/district-7", base_url=BASE_URL)
    assert page.status_code == 503 and "cannot reach its database" in page.get_data(as_text=True)
    as_json = client.get(
        "/issuers/district-7", headers={"Accept": "application/json"}, base_url=BASE_URL
    )
    assert as_json.status_code == 503
    assert as_json.get_json()["error"] == "database_unavailable"
    with application.app_context():
        db.engine.dispose()


# --- SMTP down ------------------------------------------------------------------------------


def test_smtp_down_keeps_the_award_and_the_email_goes_once_it_is_back(
    app: Flask,
    client: FlaskClient,
    awarding: dict[str, Any],
    smtp: Callable[..., Server],  # noqa: F811
) -> None:
    port = closed_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none", SMTP_TIMEOUT=5)
    reconfigure_mail(app)
    response = api_award(client, awarding)
    assert response.status_code == 201  # the award does not wait for, or fail with, the mail
    assert db.session.get(IssuedCredential, response.get_json()["id"]) is not None
    (waiting,) = db.session.scalars(select(EmailMessage)).all()
    assert waiting.sent_at is None and "ConnectionRefusedError" in (waiting.last_error or "")
    # Maintenance rounds while the server is still down spend none of its attempts.
    for _ in range(emails.MAX_ATTEMPTS + 1):
        assert emails.deliver_pending(service_env()) == 0
    server = smtp(port=port)
    assert emails.deliver_pending(service_env()) == 1  # what the maintenance loop calls
    assert [e.rcpt_tos for e in server.inbox.envelopes] == [["ada@school.example.org"]]


# --- Redis down -----------------------------------------------------------------------------


def test_jobs_run_in_this_process_when_redis_is_down() -> None:
    ran: list[tuple[str, tuple[Any, ...]]] = []
    runner = RqRunner(
        f"redis://{DEAD_REDIS_HOST}:{closed_port()}/0",
        fallback=InlineRunner(lambda name, args: ran.append((name, args))),
    )
    runner.submit("deliver_email")
    runner.submit("run_bulk_job", "job-1")
    assert ran == [("deliver_email", ()), ("run_bulk_job", ("job-1",))]


def test_without_a_fallback_a_dead_redis_is_an_error() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    with pytest.raises(RedisConnectionError):
        RqRunner(f"redis://{DEAD_REDIS_HOST}:{closed_port()}/0").submit("deliver_email")


@pytest.fixture
def redis_down_app(tmp_path: Path) -> Iterator[Flask]:
    """Rate limits on, kept in a Redis nothing answers for; jobs through RQ on it too."""
    yield from rate_limited_app(
        tmp_path,
        REDIS_URL=f"redis://{DEAD_REDIS_HOST}:{closed_port()}/0",
        OB_API_REGISTRATION_RATE_LIMIT="2 per hour",
    )


def test_rate_limits_still_hold_in_the_database_when_redis_is_down(redis_down_app: Flask) -> None:
    from app.rate_limits import RedisWithFallback

    assert redis_down_app.config["RATELIMIT_STORAGE_URI"].startswith("cairn-redis://")
    client = redis_down_app.test_client()
    body = {"client_name": "W", "redirect_uris": ["https://wallet.example.org/cb"],
            "scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"}  # fmt: skip
    answers = [
        client.post("/ims/ob/v3p0/register", json=body, base_url=BASE_URL).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 429]
    assert count(RateLimitCounter) >= 1  # counted in the database, shared by every worker
    from app.extensions import limiter

    storage = limiter.storage
    assert isinstance(storage, RedisWithFallback) and storage.using_database


def test_an_award_with_redis_down_is_stored_and_its_email_job_runs_here(
    app: Flask, client: FlaskClient, awarding: dict[str, Any]
) -> None:
    from app.wiring import job_runner, wiring

    # The runner a web process gets with Redis configured and jobs not inline (a production
    # setting), with a Redis nothing answers for.
    app.config.update(REDIS_URL=f"redis://{DEAD_REDIS_HOST}:{closed_port()}/0", JOBS_INLINE=False)
    runner = job_runner(app)
    assert isinstance(runner, RqRunner) and runner.fallback is not None
    wiring().jobs = runner
    response = api_award(client, awarding)
    assert response.status_code == 201, response.get_data(as_text=True)
    pool = runner.fallback._pool  # type: ignore[attr-defined]
    assert pool is not None  # the email job was handed to this process's threads
    pool.shutdown(wait=True)
    db.session.remove()
    (message,) = db.session.scalars(select(EmailMessage)).all()
    assert message.sent_at is not None  # delivered to the development outbox by that thread


def test_redis_down_during_a_request_says_so(tmp_path: Path) -> None:
    """What has no fallback (a request that needs Redis itself) answers 503 naming Redis."""
    application = create_app(
        {"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}",
         "KEYS_DIR": str(tmp_path / "keys"), "BASE_URL": BASE_URL, "JOBS_INLINE": True,
         "RATELIMIT_ENABLED": False, "KEY_KDF_FOR_TESTS": True}
    )  # fmt: skip
    from redis import Redis

    @application.get("/_test/needs-redis")
    def needs_redis() -> str:
        Redis.from_url(f"redis://{DEAD_REDIS_HOST}:{closed_port()}/0").ping()
        return "unreachable"

    with application.app_context():
        reset_schema()
        client = application.test_client()
        response = client.get(
            "/_test/needs-redis", headers={"Accept": "application/json"}, base_url=BASE_URL
        )
        page = client.get("/_test/needs-redis", base_url=BASE_URL)
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["error"] == "redis_unavailable"
    assert page.status_code == 503 and "cannot reach Redis" in page.get_data(as_text=True)
