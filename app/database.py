"""PostgreSQL connections checked for life when taken from the pool, without a round trip when
they were in use a moment ago; an award batch's statements prepared on them (:func:`prepared`)."""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError

#: A pooled connection idle for longer than this (seconds) is pinged, one round trip, before a
#: request gets it: a server that went away without a word (a network gone, a firewall that
#: dropped the idle connection) is noticed only so. One used more recently is handed out after
#: the check that costs no round trip (:func:`_quiet`).
PING_AFTER_IDLE = 10.0


def check_on_checkout(engine: Engine) -> None:
    """Instead of ``pool_pre_ping`` (a round trip each time a connection leaves the pool: under
    load, several per award): a connection is pinged only if it sat in the pool longer than
    :data:`PING_AFTER_IDLE`, or if the server has written to it meanwhile, which it does only to
    say that it is closing it (``pg_terminate_backend``, a shutdown, ``idle_session_timeout``).
    A ping that fails throws the connection away and the pool takes another, as
    ``pool_pre_ping`` did: no request is handed a connection the server is known to have
    closed.

    Without ``pool_pre_ping`` a connection that breaks during a request is still thrown away
    with every other one pooled before it (SQLAlchemy's disconnect handling); the request gets
    a 503 (``ops.unavailable``), as before."""

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:  # (None: it was invalidated)
            record.info["idle_since"] = time.monotonic()
            dbapi_connection.prepare_threshold = None  # what :func:`prepared` allowed ends

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        recent = since is not None and time.monotonic() - since < PING_AFTER_IDLE
        if recent and _quiet(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises: the connection is not usable
            # As pool_pre_ping does: the server probably restarted, so every connection pooled
            # before now is replaced as it is next taken; this one at once.
            raise InvalidatePoolError(f"a pooled connection failed its ping: {exc}") from exc
        record.info["idle_since"] = time.monotonic()


def _quiet(dbapi_connection: Any) -> bool:
    """Whether nothing waits to be read on the connection (psycopg 3) between two statements:
    a server says nothing then unless it is closing the connection (an error message, then the
    end of the stream), so anything there, or a socket in error, means a ping must decide."""
    if getattr(dbapi_connection, "broken", False) or dbapi_connection.closed:
        return False
    try:
        socket = dbapi_connection.pgconn.socket
    except Exception:  # no socket to look at (closed, or not psycopg): ping
        return False
    poller = select.poll()
    poller.register(socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


#: How many times psycopg runs a statement on a connection before preparing it, inside
#: :func:`prepared` (0: at once); everywhere else statements go unprepared (``create_app``).
PREPARE_THRESHOLD = 0


def prepared(connection: Any) -> None:
    """Let psycopg prepare what runs on ``connection`` (a SQLAlchemy ``Connection``) until it
    goes back to the pool: the award batch's statements, the same few every time, parsed and
    planned once per connection instead of per batch. Only where the connection ends its
    transaction with a COMMIT: psycopg forgets every prepared statement at a ROLLBACK (and sends
    ``DEALLOCATE ALL``), which is why statements elsewhere go unprepared. On checkin the
    connection goes back to unprepared (:func:`check_on_checkout`'s events)."""
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql" and hasattr(driver, "prepare_threshold"):
        driver.prepare_threshold = PREPARE_THRESHOLD
