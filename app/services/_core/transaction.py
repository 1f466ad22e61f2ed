"""The one place a refused request's writes are undone: the form helper (app/forms.py), the web
error handler for service errors (app/errors.py), the CLI's error path, and services that must
leave the session clean when a step inside them is refused (``all_or_nothing``); and work to
start only once the open transaction has committed (``after_commit``); and reads a transaction
repeats, made once in it (``remembered``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.services._core.errors import ServiceError

log = logging.getLogger(__name__)
T = TypeVar("T")
_AFTER_COMMIT = "cairn.after_commit"
_COMMITTED = "cairn.committed"
_REMEMBERED = "cairn.remembered"


def roll_back_refused() -> None:
    """Undo what a refused request wrote in the open transaction (an uploaded image, a half-made
    row), so nothing of it is committed later in the same request or command, and the objects
    a page shows next are read again as they are stored."""
    db.session.rollback()


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Run a service's steps so that a refusal in any of them leaves the session as it was
    stored: a caller that goes on (a test, a command doing more) sees nothing half-made."""
    try:
        yield
    except ServiceError:
        roll_back_refused()
        raise


def after_commit(key: str, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's open transaction has committed, or never if it
    rolls back: a handler that adds rows before the commit (webhook deliveries) starts the job
    that sends them only when they are there to be read. One callback per ``key`` and
    transaction. A failing callback is logged; the commit it follows stands."""
    db.session.info.setdefault(_AFTER_COMMIT, {})[key] = callback


def remembered(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, asked once per transaction: a batch of awards reads an issuer's webhook
    subscriptions once, not once per award. Forgotten when the transaction ends (committed or
    rolled back), so nothing stale outlives it."""
    memo = db.session.info.setdefault(_REMEMBERED, {})
    if key in memo:
        return cast(T, memo[key])
    value = read()
    if db.session().in_transaction():  # else no transaction's end would ever forget it
        memo[key] = value
    return value


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # No SQL may run while the commit is still being finished; the callbacks wait for the
    # transaction's end, below.
    if session.info.get(_AFTER_COMMIT):
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _run_after_commit(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    session.info.pop(_REMEMBERED, None)
    callbacks = session.info.pop(_AFTER_COMMIT, {})
    if not session.info.pop(_COMMITTED, False):
        return  # rolled back (or closed): what the callbacks were for is gone
    for callback in callbacks.values():
        try:
            callback()
        except Exception:  # the commit stands; the sweep retries what this would have done
            log.exception("work after a commit failed")
