"""``transaction.after_commit``: work started only once the open transaction has committed
(never after a rollback), once per key, and a failing callback does not undo the commit."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import RateLimitCounter
from app.services._core import transaction


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RateLimitCounter)) or 0


def add_row(key: str) -> None:
    db.session.add(RateLimitCounter(limit_key=key, hits=1, expires_at=0.0))


def test_callbacks_run_after_the_commit_once_per_key(app: Flask) -> None:
    seen: list[tuple[str, int]] = []
    add_row("a")
    transaction.after_commit("k", lambda: seen.append(("first", rows())))
    transaction.after_commit("k", lambda: seen.append(("second", rows())))
    assert seen == []
    db.session.commit()
    # Only the last callback of a key runs, and it sees the committed row (and may query).
    assert seen == [("second", 1)]
    db.session.commit()
    assert seen == [("second", 1)]  # the next transaction starts with none


def test_callbacks_are_dropped_by_a_rollback(app: Flask) -> None:
    seen: list[str] = []
    add_row("b")
    transaction.after_commit("k", lambda: seen.append("ran"))
    db.session.rollback()
    db.session.commit()
    assert seen == [] and rows() == 0


def test_a_failing_callback_leaves_the_commit_standing(app: Flask) -> None:
    def fail() -> None:
        raise RuntimeError("the job runner is down")

    add_row("c")
    transaction.after_commit("k", fail)
    db.session.commit()  # does not raise
    db.session.remove()
    assert rows() == 1


def test_a_remembered_read_is_made_once_per_transaction(app: Flask) -> None:
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    db.session.execute(select(1))  # a transaction is open
    assert transaction.remembered("k", read) == 1
    assert transaction.remembered("k", read) == 1  # not read again in the same transaction
    db.session.commit()
    assert transaction.remembered("k", read) == 2  # a new transaction reads again
    db.session.rollback()
    assert transaction.remembered("k", read) == 3
    assert transaction.remembered("other", read) == 4
