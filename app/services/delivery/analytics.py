"""Credential analytics: how often each credential's page is viewed, it is verified, and it is
added to LinkedIn or downloaded, counted per credential, day and kind.

Counted without tracking people: no third-party script, no cookie, no IP address or browser is
kept; a counter only says how many times something happened on a day.

Page views and verifications (the counts made on every view of a public page and every
``/api/verify``) are added up in memory (:class:`ViewTally`) and written with one upsert per
credential, day and kind at most a second later (a thread of each process), when the process
ends cleanly, and before any count is read in the process (:func:`flush_pending`); everything
else is written at once.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ACTIVITY_KINDS, Achievement, ActivityTally, CredentialActivity
from app.services._core.env import ServiceEnv

#: The downloads that count as a download click; the QR codes are shown on the page itself.
COUNTED_DOWNLOADS = frozenset(
    {"badge.png", "badge.svg", "badge-ob2.png", "credential.json", "certificate.pdf"}
)


def record(credential_id: str, kind: str, env: ServiceEnv) -> None:
    """Count one ``kind`` (one of :data:`ACTIVITY_KINDS`) for a credential today, and commit.

    One upsert, so concurrent requests never lose a count or collide on the day's row.
    """
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity {kind!r}")
    statement = _upsert(db.session.get_bind().dialect.name)
    values = {"credential_id": credential_id, "day": env.now.date(), "kind": kind}
    db.session.execute(statement, values)
    db.session.commit()


@functools.cache
def _upsert(dialect: str, by: int | None = 1) -> Any:
    """The counting upsert for ``dialect``, built once with bound parameters (building it, in
    SQLAlchemy's coercions, cost as much as running it): adding ``by``, or the bound ``count``
    when ``by`` is None (a tally's flush)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values: dict[str, Any] = {
        "credential_id": bindparam("credential_id"),
        "day": bindparam("day"),
        "kind": bindparam("kind"),
        "count": bindparam("count") if by is None else by,
    }
    statement = insert(CredentialActivity).values(values)
    added = statement.excluded.count if by is None else by
    return statement.on_conflict_do_update(
        index_elements=["credential_id", "day", "kind"],
        set_={"count": CredentialActivity.count + added},
    )


log = logging.getLogger("cairn.analytics")
#: How long a page view waits in memory, at most, before it is written.
FLUSH_SECONDS = 1.0
#: Every tally of this process (one per application), for :func:`flush_pending`.
_TALLIES: weakref.WeakSet[ViewTally] = weakref.WeakSet()


class ViewTally:
    """Page views counted in memory and written in one transaction per flush, one upsert per
    credential and day (adding up the views since the last flush).

    Writing each view at once was an upsert and a commit per view, about a sixth of the page's
    cost. A view waits at most :data:`FLUSH_SECONDS` (this tally's thread), and is written
    when the process ends cleanly (``atexit``, and ``cairn serve``'s worker exit hook) and
    before this process reads any count (:func:`flush_pending`), so counts read in the process
    that served the views are exact at once, and other processes see them a second later. A
    flush that fails puts its counts back for the next one. Only a crash of the process loses
    the views of its last second."""

    def __init__(self, engine: Engine, interval: float = FLUSH_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._pending: Counter[tuple[str, date, str]] = Counter()
        self._lock = threading.Lock()
        # One writer at a time, so a flush never races another's put-back.
        self._writing = threading.Lock()
        self._thread_pid: int | None = None
        self._wake = threading.Event()
        _TALLIES.add(self)

    def add(self, credential_id: str, day: date, kind: str = "view") -> None:
        """Count one ``kind`` for a credential on ``day``; written by the next flush."""
        if kind not in ACTIVITY_KINDS:
            raise ValueError(f"unknown activity {kind!r}")
        with self._lock:
            self._pending[(credential_id, day, kind)] += 1
        if self._thread_pid != os.getpid():
            self._start()

    @property
    def pending(self) -> int:
        """Counts not written yet."""
        with self._lock:
            return sum(self._pending.values())

    def flush(self) -> int:
        """Write what is pending (one transaction); the number of events written. On failure
        the counts are put back, logged, and the next flush tries again."""
        with self._writing:
            with self._lock:
                taken, self._pending = self._pending, Counter()
            if not taken:
                return 0
            rows = [
                {"credential_id": credential_id, "day": day, "kind": kind, "count": count}
                for (credential_id, day, kind), count in taken.items()
            ]
            statement = _upsert(self.engine.dialect.name, None)
            try:
                with self.engine.begin() as connection:
                    connection.execute(statement, rows)
            except IntegrityError:
                # A row that can never be written (its credential is gone) must not hold back
                # the others for ever: each is tried alone, and the ones refused are dropped.
                return self._one_by_one(statement, rows)
            except Exception:
                with self._lock:
                    self._pending.update(taken)
                log.exception("page views not written yet (%d kept for the next try)", len(rows))
                return 0
            return sum(taken.values())

    def _one_by_one(self, statement: Any, rows: list[dict[str, Any]]) -> int:
        written = 0
        for row in rows:
            try:
                with self.engine.begin() as connection:
                    connection.execute(statement, row)
                written += row["count"]
            except IntegrityError:
                log.warning("%d page views of %s dropped: refused by the database",
                            row["count"], row["credential_id"])  # fmt: skip
            except Exception:
                with self._lock:
                    self._pending[(row["credential_id"], row["day"], row["kind"])] += row["count"]
                log.exception("page views of %s not written yet", row["credential_id"])
        return written

    def close(self) -> None:
        """Write what is pending and stop this tally's thread (an application done with)."""
        self._wake.set()
        _TALLIES.discard(self)
        self.flush()

    def _start(self) -> None:
        # Started by the first view in each process (a gunicorn worker is forked from a
        # process whose threads it does not inherit). The thread holds the tally weakly, so
        # an application that is done with (a test's) lets it end.
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
        thread = threading.Thread(
            target=_flush_every, args=(weakref.ref(self), self.interval, self._wake),
            name="cairn-view-tally", daemon=True,
        )  # fmt: skip
        thread.start()


def _flush_every(tally: weakref.ref[ViewTally], interval: float, wake: threading.Event) -> None:
    while not wake.wait(interval):
        found = tally()
        if found is None:
            return
        found.flush()
        del found


def flush_pending(engine: Engine | None = None) -> int:
    """Write the page views every tally of this process holds (of those on ``engine``, when
    given), so the counts read are exact for this process: before a count is read, at exit."""
    return sum(
        tally.flush() for tally in list(_TALLIES) if engine is None or tally.engine is engine
    )


def _flush_before_reading() -> None:
    flush_pending(db.engine)


atexit.register(flush_pending)


def record_download(credential_id: str, name: str, env: ServiceEnv) -> None:
    """Count a download of the file ``name`` when it is one people keep or share."""
    if name in COUNTED_DOWNLOADS:
        record(credential_id, "download", env)


@dataclass(frozen=True)
class Activity:
    """Counts by kind: ``view``, ``verify``, ``linkedin``, ``download``."""

    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    @property
    def total(self) -> int:
        """Every counted event."""
        return sum(self.counts.values())


def _activity(rows: Iterable[tuple[str, int | None]]) -> Activity:
    # A tally row whose credentials were deleted counts 0: no activity, as if never counted.
    return Activity({kind: int(total) for kind, total in rows if total})


def for_credential(credential_id: str) -> Activity:
    """One credential's counts since it was issued."""
    _flush_before_reading()
    rows = db.session.execute(
        select(CredentialActivity.kind, func.sum(CredentialActivity.count))
        .where(CredentialActivity.credential_id == credential_id)
        .group_by(CredentialActivity.kind)
    )
    return _activity((kind, total) for kind, total in rows)


def for_achievement(achievement_id: int) -> Activity:
    """The counts of every credential of one achievement (from the activity tally)."""
    _flush_before_reading()
    tally = ActivityTally
    issuer_id = select(Achievement.issuer_id).where(Achievement.id == achievement_id)
    rows = db.session.execute(
        select(tally.kind, func.sum(tally.count))
        .where(
            tally.issuer_id == issuer_id.scalar_subquery(), tally.achievement_id == achievement_id
        )
        .group_by(tally.kind)
    )
    return _activity((kind, total) for kind, total in rows)


def by_achievement(issuer_id: int) -> dict[int, Activity]:
    """The counts of an issuer's credentials, by achievement id (from the activity tally)."""
    _flush_before_reading()
    tally = ActivityTally
    rows = db.session.execute(
        select(tally.achievement_id, tally.kind, func.sum(tally.count))
        .where(tally.issuer_id == issuer_id)
        .group_by(tally.achievement_id, tally.kind)
    )
    found: dict[int, dict[str, int]] = {}
    for achievement_id, kind, total in rows:
        if total:
            found.setdefault(achievement_id, {})[kind] = int(total)
    return {key: Activity(value) for key, value in found.items()}


@dataclass(frozen=True)
class IssuerActivity:
    """An issuer's counts in all, how many credentials were shared (added to LinkedIn or
    downloaded at least once), and the counts per day since ``since``."""

    totals: Activity
    shared: int
    daily: dict[date, Activity]
    #: The counts by achievement id (as :func:`by_achievement`).
    by_achievement: dict[int, Activity] = field(default_factory=dict)


def for_issuer(issuer_id: int, since: date) -> IssuerActivity:
    """The issuer's :class:`IssuerActivity` (from the activity tally)."""
    _flush_before_reading()
    tally = ActivityTally
    ours = tally.issuer_id == issuer_id
    # One read of the issuer's tally for the totals, the shares and the counts by achievement.
    per_achievement: dict[int, dict[str, int]] = {}
    per_kind: dict[str, int] = {}
    shared = 0
    for achievement_id, kind, total, first_shares in db.session.execute(
        select(tally.achievement_id, tally.kind, func.sum(tally.count), func.sum(tally.shared))
        .where(ours)
        .group_by(tally.achievement_id, tally.kind)
    ):
        shared += int(first_shares or 0)
        if total:
            per_achievement.setdefault(achievement_id, {})[kind] = int(total)
            per_kind[kind] = per_kind.get(kind, 0) + int(total)
    totals = _activity(per_kind.items())
    daily_rows = db.session.execute(
        select(tally.kind, func.sum(tally.count), tally.day)
        .where(ours, tally.day >= since)
        .group_by(tally.day, tally.kind)
    )
    daily: dict[date, dict[str, int]] = {}
    for kind, total, day in daily_rows:
        if total:
            daily.setdefault(day, {})[kind] = int(total)
    return IssuerActivity(
        totals=totals,
        shared=shared,
        daily={day: Activity(counts) for day, counts in daily.items()},
        by_achievement={key: Activity(value) for key, value in per_achievement.items()},
    )


def days_back(today: date, days: int) -> date:
    """The first day of a window of ``days`` days ending ``today``."""
    return today - timedelta(days=days - 1)
