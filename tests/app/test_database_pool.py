"""PostgreSQL's pooled connections: checked on checkout without ``pool_pre_ping`` (app/database.py).

A connection whose server process has gone while it sat in the pool is never handed to a
request; one in use a moment ago is handed out without a round trip; one idle for long is pinged.
Each fault is real: the pooled connection's server process is terminated.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from app import database
from app.extensions import db


@pytest.fixture
def postgres(app: Flask) -> Flask:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pool (CAIRN_TEST_DATABASE_URL)")
    assert not db.engine.pool._pre_ping  # the check below replaces it
    return app


def backend_of_pooled_connection() -> int:
    """Use a connection, give it back to the pool; its server process id."""
    with db.engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def terminate(pid: int) -> None:
    killer = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with killer.connect() as admin:
        # The timeout waits until the process has gone (PostgreSQL 14+).
        admin.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
    killer.dispose()


def test_a_connection_whose_server_went_away_in_the_pool_is_not_handed_out(
    postgres: Flask,
) -> None:
    pid = backend_of_pooled_connection()
    terminate(pid)
    # Taken again at once (well within PING_AFTER_IDLE): the check notices what the server
    # said as it closed the connection, and the pool connects afresh.
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


@pytest.fixture
def awarding(
    postgres: Flask, make_staff: Any, make_issuer: Any, make_achievement: Any, make_token: Any
) -> tuple[str, str, str]:
    """An issuer's slug, an achievement's id and an ``awards:write`` token; the session closed."""
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer(owner=owner)
    achievement = make_achievement(issuer)
    token = make_token(issuer, owner)
    made = (issuer.slug, achievement.public_id, token)
    db.session.remove()
    return made


def award(application: Flask, awarding: tuple[str, str, str], email: str) -> None:
    """One award through the API (201)."""
    from tests.app.conftest import BASE_URL

    slug, achievement_id, token = awarding
    response = application.test_client().post(
        f"/api/v1/issuers/{slug}/awards",
        json={"achievement": achievement_id, "recipient": {"email": email}},
        headers={"Authorization": f"Bearer {token}"},
        base_url=BASE_URL,
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def test_the_next_award_after_the_server_closed_a_pooled_connection_goes_through(
    postgres: Flask, awarding: tuple[str, str, str]
) -> None:
    terminate(backend_of_pooled_connection())
    award(postgres, awarding, "ada@school.example.org")


def pings_on_checkout() -> tuple[list[int], Any]:
    """Count the pings (the dialect's ``do_ping``) the checks send."""
    pings: list[int] = []
    ping = db.engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    return pings, counted


def test_a_connection_used_a_moment_ago_is_not_pinged(
    postgres: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_of_pooled_connection()
    pings, counted = pings_on_checkout()
    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    for _ in range(3):
        backend_of_pooled_connection()
    assert pings == []


def test_a_connection_idle_for_long_is_pinged_and_replaced_if_dead(
    postgres: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = backend_of_pooled_connection()
    pings, counted = pings_on_checkout()
    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)  # every pooled connection is "old"
    assert backend_of_pooled_connection() == pid  # alive: pinged, and kept
    assert pings == [1]
    # Dead: the ping fails, and the pool connects afresh.
    terminate(pid)
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    assert len(pings) >= 2


def award_and_catch_connection(
    application: Flask, awarding: tuple[str, str, str], email: str
) -> Any:
    """Award through the API; the psycopg connection the batch stored the credential on."""
    from sqlalchemy import event

    used: list[Any] = []

    def note(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO issued_credential"):
            used.append(connection.connection.driver_connection)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        award(application, awarding, email)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(used) == 1
    return used[0]


def prepared_on(driver: Any) -> set[str]:
    """The statements prepared on a psycopg connection (as the server lists them)."""
    rows = driver.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    driver.rollback()  # (the pool hands it out again later: leave no transaction open)
    return {row[0] for row in rows}


def test_an_award_batch_keeps_its_statements_prepared_and_leaves_the_pool_unprepared(
    postgres: Flask, awarding: tuple[str, str, str]
) -> None:
    driver = award_and_catch_connection(postgres, awarding, "a@s.example.org")
    # Back in the pool: unprepared for whoever takes it next, the batch's statements kept.
    assert driver.prepare_threshold is None
    kept = prepared_on(driver)
    assert any("INSERT INTO issued_credential" in s for s in kept), kept
    assert any("audit_chain_head" in s for s in kept), kept
    # A transaction rolled back on it (a read-only request's end) makes psycopg forget them
    # all; the next batch prepares them again and goes through.
    assert not prepared_on(driver)
    again = award_and_catch_connection(postgres, awarding, "b@s.example.org")
    assert again.prepare_threshold is None


def test_statements_outside_an_award_batch_are_not_prepared(postgres: Flask) -> None:
    with db.engine.connect() as connection:
        for _ in range(10):
            connection.execute(text("SELECT 1 + 1"))
        driver = connection.connection.driver_connection
        assert driver.prepare_threshold is None
        assert not driver.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
